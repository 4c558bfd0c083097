// `npm test`: lint and format check, type-check, build, unit and example tests, then the adapter
// conformance suite on Bun, Node + ws, Node + uWebSockets.js and Deno, the READMEs' commands in a
// clean clone, and the benchmarks' smoke runs.
//
// uWebSockets.js binaries need glibc >= 2.38. When this Node cannot load them and the workplace's
// glibc wrapper exists (../shared/glibc/node-glibc, or VERB_NODE_GLIBC), every step runs through it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bin = (name) => resolve(root, "node_modules/.bin", name);
const env = { ...process.env };

function uwsLoads(nodePath) {
  return spawnSync(nodePath, ["-e", "require('uWebSockets.js')"], { cwd: root, env }).status === 0;
}

if (!uwsLoads(process.execPath)) {
  const wrapper = process.env.VERB_NODE_GLIBC ?? resolve(root, "../shared/glibc/node-glibc");
  if (existsSync(wrapper)) {
    const dir = spawnSync(wrapper, ["--bin-dir"], { encoding: "utf8" }).stdout.trim();
    env.PATH = `${dir}:${env.PATH}`;
    console.log(`[test] uWebSockets.js runs through ${wrapper} (glibc shim at ${dir})`);
  } else {
    console.log(
      "[test] uWebSockets.js cannot load with this Node and no glibc wrapper was found: its tests will be skipped outside CI",
    );
  }
}

const steps = [
  ["lint + format", bin("biome"), ["check", "."]],
  ["type-check", "node", ["scripts/typecheck.mjs"]],
  ["build", bin("tsup"), ["--silent"]],
  ["unit + example tests", bin("vitest"), ["run"]],
  [
    "conformance (bun, node, uws, deno)",
    "node",
    // Four fixtures and the checks on 2 cores: 4 checks at once per adapter keep the timing checks honest.
    [
      "packages/conformance/dist/cli.js",
      "--adapter",
      "bun,node,uws,deno",
      "--concurrency",
      "4",
      "--json",
      "conformance-report.json",
      "--quiet",
    ],
  ],
  // Every command the READMEs show, as written, in a fresh clone of the committed HEAD.
  ["README commands (clean clone)", "node", ["scripts/readme-commands.mjs"]],
  // The benchmarks only have to keep working here: seconds-long smoke runs, no timed assertions.
  ["bench smoke", "node", ["bench/run.mjs", "--smoke"]],
  ["cluster bench smoke", "node", ["bench/cluster.mjs", "--smoke", "--adapter", "uws,node,bun"]],
];

for (const [title, command, args] of steps) {
  console.log(`\n[test] ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`[test] ${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  console.log(`[test] ${title}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
