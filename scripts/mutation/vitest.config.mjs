// Core's unit tests, as the mutation run of option validation runs them (stryker.unit.config.mjs):
// the project's vitest configuration, narrowed to packages/core/test.
import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL("../..", import.meta.url)),
    test: { include: ["packages/core/test/**/*.test.ts"] },
  }),
);
