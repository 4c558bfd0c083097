// The build a mutation run uses inside Stryker's sandbox (scripts/mutation/build.mjs): only what the
// conformance fixture loads (core, the three adapters, the conformance CLI and fixture), ESM only,
// no declarations or source maps, so the instrumented build takes seconds.
import { defineConfig } from "tsup";

const external = [/^@verb\//, "ws", "uWebSockets.js", "bun", "zod", "valibot", "ioredis"];
const lib = (dir, entry) => ({
  name: dir,
  entry: Object.fromEntries(Object.entries(entry).map(([name, file]) => [name, `${dir}/${file}`])),
  outDir: `${dir}/dist`,
  format: ["esm"],
  dts: false,
  sourcemap: false,
  clean: false,
  target: "node20",
  platform: "node",
  splitting: false,
  tsconfig: dir === "adapters/bun" ? "adapters/bun/tsconfig.json" : "tsconfig.json",
  external,
  silent: true,
});

export default defineConfig([
  lib("packages/core", { index: "src/index.ts" }),
  lib("adapters/bun", { index: "src/index.ts" }),
  lib("adapters/node", { index: "src/index.ts" }),
  lib("adapters/uws", { index: "src/index.ts" }),
  { ...lib("packages/conformance", { index: "src/index.ts", cli: "src/cli.ts", fixture: "src/fixture.ts" }), shims: true },
]);
