// `npm run mutation [-- --files <part>[,<part>]]`: mutation testing of the contract with StrykerJS
// (stryker.config.mjs; the tooling is in scripts/mutation/). Not part of `npm test`: it takes most
// of an hour on 2 cores.
//
// - Stryker 10 needs Node 22+: it runs on Node 24 from the npm registry (scripts/runtimes.mjs,
//   installed into .runtimes/ on first use). The fixtures run on this machine's `node` (Node 20).
// - uWebSockets.js needs glibc >= 2.38: when this Node cannot load it and the workplace's glibc
//   wrapper exists (../shared/glibc/node-glibc, or VERB_NODE_GLIBC), its bin dir goes first on PATH.
// - Without `--files` a run takes the targets marked `default` in targets.json (socket.ts, close.ts,
//   options.ts: under an hour on 2 cores); `--files all` takes every target (about 4 hours);
// - `--files` narrows the run to target files whose path contains one of the parts (targets.json);
//   `--checks` to the checks whose id contains one; other arguments go to Stryker (e.g.
//   `--mutate packages/core/src/close.ts:80-80` for the mutants of one line). A full run needs neither.
// The report: .verb-mutation/report/ (index.html, mutation.json and mutants.jsonl, written as it
// goes; unit/ for option validation); a narrowed run's go to .verb-mutation/partial/.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { targets } from "./mutation/targets.mjs";

const root = resolve(import.meta.dirname, "..");
const env = { ...process.env, VERB_MUTATION_PROJECT: root };
const args = process.argv.slice(2);
for (const [flag, variable] of [
  ["--files", "VERB_MUTATION_FILES"],
  ["--checks", "VERB_MUTATION_CHECKS"],
]) {
  const at = args.indexOf(flag);
  if (at === -1) continue;
  if (args[at + 1] === undefined) throw new Error(`${flag} needs a value`);
  env[variable] = args[at + 1];
  process.env[variable] = args[at + 1];
  args.splice(at, 2);
}

if (spawnSync("node", ["-e", "require('uWebSockets.js')"], { cwd: root, env }).status !== 0) {
  const wrapper = process.env.VERB_NODE_GLIBC ?? resolve(root, "../shared/glibc/node-glibc");
  if (existsSync(wrapper)) {
    const dir = execFileSync(wrapper, ["--bin-dir"], { encoding: "utf8" }).trim();
    env.PATH = `${dir}:${env.PATH}`;
    console.log(`[mutation] fixtures run on the node in ${dir} (glibc shim for uWebSockets.js)`);
  }
}

// A narrowed run (--files, --checks, --mutate) reports and sandboxes apart: a full run may be going on.
const narrowed =
  (env.VERB_MUTATION_FILES !== undefined && env.VERB_MUTATION_FILES !== "all") ||
  env.VERB_MUTATION_CHECKS !== undefined ||
  args.length > 0;
env.VERB_MUTATION_REPORTS ??= narrowed ? ".verb-mutation/partial" : ".verb-mutation/report";
// Outside the work tree: linters and test runners must not find a second copy of the project.
env.VERB_MUTATION_TMP ??= join(tmpdir(), `verb-stryker-${basename(root)}${narrowed ? "-partial" : ""}`);
const node24 = execFileSync(process.execPath, [resolve(root, "scripts/runtimes.mjs"), "24"], { encoding: "utf8" }).trim();
rmSync(resolve(root, env.VERB_MUTATION_REPORTS), { recursive: true, force: true });
const started = Date.now();
let status = 0;
for (const [config, runner] of [
  ["stryker.unit.config.mjs", "vitest"],
  ["stryker.config.mjs", "conformance"],
]) {
  if (targets(runner).length === 0) continue;
  const stryker = resolve(root, "node_modules/@stryker-mutator/core/bin/stryker.js");
  const run = spawnSync(node24, [stryker, "run", config, ...args], { cwd: root, env, stdio: "inherit" });
  if (run.status !== 0) status = run.status ?? 1;
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(
  `[mutation] wall time ${minutes} min; reports: ${env.VERB_MUTATION_REPORTS}/index.html, ${env.VERB_MUTATION_REPORTS}/unit/index.html`,
);
process.exit(status);
