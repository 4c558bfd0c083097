// Type-checks the workspace: everything but the Bun and Deno adapters with Node's types, the Bun adapter with
// Bun's, the Deno adapter with the part of Deno's API it uses (adapters/deno/src/deno.d.ts).
import { spawnSync } from "node:child_process";

const projects = ["tsconfig.json", "adapters/bun/tsconfig.json", "adapters/deno/tsconfig.json"];
let failed = false;
for (const project of projects) {
  const result = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", project], {
    stdio: "inherit",
  });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
