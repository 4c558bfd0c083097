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
    tsconfig: dir === "adapters/bun" || dir === "adapters/deno" ? `${dir}/tsconfig.json` : "tsconfig.json",
    external: [/^@verb\//, "ws", "uWebSockets.js", "bun", "zod", "valibot", "ioredis"],
    ...extra,
  };
}

export default defineConfig([
  // Browser-safe: no Node built-ins (the client bundles it for browsers).
  library("packages/protocol", { index: "src/index.ts" }, { platform: "neutral", target: "es2022" }),
  // The client: no runtime dependency (the protocol's code is bundled in, its types inlined); the
  // Node-only file storage is its own entry (@verb/client/node), so the main one stays browser-safe.
  library(
    "packages/client",
    { index: "src/index.ts", node: "src/node.ts" },
    {
      platform: "neutral",
      target: "es2022",
      external: [/^node:/],
      // Keep `node:` in @verb/client/node: Deno resolves built-ins only with it.
      removeNodeProtocol: false,
      noExternal: ["@verb/protocol"],
      dts: { resolve: ["@verb/protocol"] },
    },
  ),
  // The browser bundle (<script type="module">, no bundler): one minified ESM file.
  library(
    "packages/client",
    { "verb-client.min": "src/index.ts" },
    {
      name: "client-browser",
      format: ["esm"],
      platform: "browser",
      target: "es2022",
      minify: true,
      dts: false,
      sourcemap: false,
      clean: false,
      external: [],
      noExternal: ["@verb/protocol"],
    },
  ),
  library("packages/core", { index: "src/index.ts" }),
  library("adapters/bun", { index: "src/index.ts" }),
  library("adapters/node", { index: "src/index.ts" }),
  library("adapters/uws", { index: "src/index.ts" }),
  library("adapters/deno", { index: "src/index.ts" }),
  library("packages/redis", { index: "src/index.ts" }),
  library("packages/conformance", { index: "src/index.ts" }, { shims: true, clean: false }),
  // The CLI and the fixture run as programs: ESM only, no declarations.
  library(
    "packages/conformance",
    { cli: "src/cli.ts", fixture: "src/fixture.ts" },
    { format: ["esm"], dts: false, clean: false, name: "conformance-bin" },
  ),
  // Examples compile to plain ESM so Node 20 runs them; Bun runs the .ts files directly.
  library(
    "examples",
    {
      "basic-websocket": "basic-websocket.ts",
      "http-websocket": "http-websocket.ts",
      chat: "chat.ts",
      "auth-chat": "auth-chat.ts",
      notifications: "notifications.ts",
      stocks: "stocks.ts",
      binary: "binary.ts",
      cluster: "cluster.ts",
    },
    { format: ["esm"], dts: false, sourcemap: false },
  ),
]);
