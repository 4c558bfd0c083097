import { defineConfig, type Options } from "tsup";

/** One library package: ESM + CJS + declarations, dependencies left external. */
function library(dir: string, entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    name: dir,
    entry: Object.fromEntries(Object.entries(entry).map(([name, file]) => [name, `${dir}/${file}`])),
    outDir: `${dir}/dist`,
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    splitting: false,
    tsconfig: dir === "adapters/bun" ? "adapters/bun/tsconfig.json" : "tsconfig.json",
    external: [/^@verb\//, "ws", "uWebSockets.js", "bun"],
    ...extra,
  };
}

export default defineConfig([
  library("packages/core", { index: "src/index.ts" }),
  library("adapters/bun", { index: "src/index.ts" }),
  library("adapters/node", { index: "src/index.ts" }),
  library("adapters/uws", { index: "src/index.ts" }),
]);
