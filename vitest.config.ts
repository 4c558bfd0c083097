import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      // Unit tests run against the sources; processes spawned by tests run the built packages.
      "@verb/core": here("./packages/core/src/index.ts"),
      "@verb/protocol": here("./packages/protocol/src/index.ts"),
      "@verb/client/node": here("./packages/client/src/node.ts"),
      "@verb/client": here("./packages/client/src/index.ts"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "adapters/*/test/**/*.test.ts", "examples/test/**/*.test.ts", "tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
