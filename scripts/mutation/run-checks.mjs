// One job of the mutation run's test runner (conformance-runner.mjs), in its own process, in the
// sandbox. The job is JSON in VERB_MUTATION_JOB; the result is one JSON line on stdout.
//
// { mode: "coverage", adapter, out }  — every conformance check alone, each on a fresh fixture
//   (two at a time), recording the mutants each executed (preload.mjs) → `out` (a JSON file):
//   { [checkId]: { status, ms, detail, startup: {id: n}, total: {id: n} } }.
// { mode: "mutant", adapter, checks, unit, times }  — with __STRYKER_ACTIVE_MUTANT__ in the
//   environment: the unit test files first (vitest), then the checks (null = all) on one fixture,
//   fastest first (`times`: ms per check in the dry run). A failing check is tried once more on the
//   same fixture; failing twice, it kills the mutant and stops the run (bail).
//   → { status: "killed" | "survived", killedBy, detail, tests }.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const sandbox = process.cwd();
const job = JSON.parse(process.env.VERB_MUTATION_JOB ?? "{}");
const conformance = await import(pathToFileURL(join(sandbox, "packages/conformance/dist/index.js")).href);
const { runAdapter } = conformance;
// VERB_MUTATION_CHECKS (comma-separated parts of check ids) narrows a run to some checks.
const onlyChecks = (process.env.VERB_MUTATION_CHECKS ?? "").split(",").filter(Boolean);
const allChecks = conformance.allChecks.filter((c) => onlyChecks.length === 0 || onlyChecks.some((part) => c.id.includes(part)));
const nodeCommand = process.env.VERB_MUTATION_NODE ?? "node";
// Fixtures (Node) load the preload: no orphans, and coverage in the coverage pass.
process.env.NODE_OPTIONS =
  `${process.env.NODE_OPTIONS ?? ""} --import ${pathToFileURL(join(sandbox, "scripts/mutation/preload.mjs")).href}`.trim();

// Cut off with the test runner that started this job.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();

let bailed = false;
process.on("uncaughtException", (error) => {
  // After a bail the checks still in flight meet a stopped fixture; their clients' errors are moot.
  if (bailed) return;
  finish({ status: "killed", killedBy: ["uncaught"], detail: `the checks' process failed: ${error?.stack ?? error}`, tests: 0 });
});

function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

class Bail extends Error {}

/** Runs `checks` on one fixture; resolves the first failure (bail), or undefined. */
async function firstFailure(checks) {
  let failed;
  const log = (line) => {
    const fail = /^\[\S+\] fail\s+(\S+) \(\d+ ms\)(?: — (.*))?$/.exec(line);
    if (fail && failed === undefined) {
      failed = { id: fail[1], detail: fail[2] ?? "" };
      bailed = true;
      throw new Bail(fail[1]);
    }
  };
  try {
    const results = await runAdapter(job.adapter, { checks, log, ci: true, nodeCommand, concurrency: 8 });
    const bad = results.find((r) => r.status === "fail" || r.status === "skip");
    if (bad !== undefined) return { id: bad.id, detail: bad.detail };
  } catch (error) {
    if (failed === undefined) return { id: "runner", detail: error instanceof Error ? error.message : String(error) };
  }
  return failed;
}

function unit(file) {
  const vitest = join(sandbox, "node_modules", "vitest", "vitest.mjs");
  const run = spawnSync(nodeCommand, [vitest, "run", "--reporter=dot", file], {
    cwd: sandbox,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  if (run.status === 0) return undefined;
  const lines = `${run.stdout}\n${run.stderr}`.split("\n").filter((l) => /FAIL|AssertionError|Error:/.test(l));
  return { id: `unit:${file}`, detail: lines.slice(0, 3).join(" ").trim() || `vitest exit ${run.status ?? run.signal}` };
}

/**
 * A check as a mutant run uses it: a failure is tried once more on the same fixture (a busy machine
 * must not kill a mutant; a mutant that breaks the check fails it twice), and none is held back as
 * slow: the checks run in the order given, the fastest first, so a killed mutant dies early.
 */
function retried(check) {
  return {
    ...check,
    slow: false,
    timeoutMs: 2 * (check.timeoutMs ?? 15_000),
    async run(ctx) {
      try {
        return await check.run(ctx);
      } catch (first) {
        process.stderr.write(`${check.id} failed (${first instanceof Error ? first.message : first}): once more\n`);
        return await check.run(ctx);
      }
    },
  };
}

async function mutant() {
  let tests = 0;
  for (const file of job.unit ?? []) {
    tests++;
    const failure = unit(file);
    if (failure) return { status: "killed", killedBy: [failure.id], detail: failure.detail, tests };
  }
  const times = job.times ?? {};
  const checks = (job.checks === null ? allChecks : allChecks.filter((c) => job.checks.includes(c.id)))
    .toSorted((a, b) => (times[a.id] ?? 0) - (times[b.id] ?? 0))
    .map(retried);
  tests += checks.length;
  if (checks.length === 0) return { status: "survived", tests };
  const failure = await firstFailure(checks);
  if (failure === undefined) return { status: "survived", tests };
  const id = failure.id === "runner" ? "runner" : failure.id;
  return { status: "killed", killedBy: [`${job.adapter}:${id}`], detail: failure.detail, tests };
}

async function coverage() {
  const dir = mkdtempSync(join(tmpdir(), "verb-coverage-"));
  const out = {};
  let next = 0;
  const worker = async () => {
    while (next < allChecks.length) {
      const check = allChecks[next++];
      const file = join(dir, `${check.id}.json`);
      let result;
      for (let attempt = 0; attempt < 3; attempt++) {
        // The fixture is spawned synchronously inside runAdapter: it gets this value.
        process.env.VERB_COVERAGE_FILE = file;
        const running = runAdapter(job.adapter, { checks: [check], ci: true, nodeCommand });
        delete process.env.VERB_COVERAGE_FILE;
        [result] = await running;
        if (result.status !== "fail") break;
      }
      let recorded = { startup: {}, total: {} };
      try {
        recorded = JSON.parse(readFileSync(file, "utf8"));
      } catch {
        // the fixture never started
      }
      out[check.id] = { status: result.status, ms: result.ms, detail: result.detail, ...recorded };
    }
  };
  await Promise.all([worker(), worker()]);
  rmSync(dir, { recursive: true, force: true });
  writeFileSync(job.out, JSON.stringify(out));
  return { status: "done", checks: Object.keys(out).length };
}

finish(job.mode === "coverage" ? await coverage() : await mutant());
