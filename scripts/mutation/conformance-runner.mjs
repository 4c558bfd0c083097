// A StrykerJS test runner ("verb-conformance") whose tests are the conformance checks, one per
// adapter ("node:close.terminate", "uws:…", "bun:…"), plus the unit test files of targets.json
// ("unit:packages/core/test/options.test.ts").
//
// Dry run: every check alone on a fresh fixture, per adapter, with preload.mjs recording the mutants
// it executed: what ran before the fixture was ready is static coverage (such a mutant is judged by
// every check of its adapter), the rest is that check's coverage. Coverage counts only for the files
// an adapter runs: a `bun:` check covers adapters/bun, a `uws:` check adapters/uws, a `node:` check
// core and adapters/node. A unit test file covers every mutant of the files it is listed for.
// Mutant run: run-checks.mjs with the checks Stryker selected (perTest coverage) for that adapter.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { commonTokens, declareClassPlugin, PluginKind } from "@stryker-mutator/api/plugin";
import { DryRunStatus, MutantRunStatus, TestStatus } from "@stryker-mutator/api/test-runner";
import { targets } from "./targets.mjs";

const ADAPTERS = ["node", "uws", "bun"];
/** Checks of what only adapters do (a 10 s request-head timeout): not run for core's mutants. */
const ADAPTER_ONLY = ["hostile.slow-head"];

class VerbConformanceRunner {
  static inject = [commonTokens.logger];

  constructor(logger) {
    this.logger = logger;
    this.sandbox = process.cwd();
    /** Jobs running (process groups), ended with this test runner. */
    this.running = new Set();
  }

  async dispose() {
    for (const pid of this.running) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }

  capabilities() {
    return { reloadEnvironment: true };
  }

  async init() {
    this.targets = targets();
  }

  /** Runs one run-checks.mjs job; resolves its result line, or a timeout after `timeoutMs`. */
  job(spec, env = {}, timeoutMs = 0) {
    return new Promise((resolve) => {
      const child = spawn(process.env.VERB_MUTATION_NODE ?? "node", ["scripts/mutation/run-checks.mjs"], {
        cwd: this.sandbox,
        env: { ...process.env, ...env, VERB_MUTATION_JOB: JSON.stringify(spec) },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      this.running.add(child.pid);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.stderr.on("data", (chunk) => {
        stderr = (stderr + chunk).slice(-4000);
      });
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              try {
                process.kill(-child.pid, "SIGKILL");
              } catch {
                // gone
              }
              resolve({ status: "timeout" });
            }, timeoutMs)
          : undefined;
      child.on("exit", (code, signal) => {
        this.running.delete(child.pid);
        clearTimeout(timer);
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line));
        } catch {
          resolve({ status: "error", detail: `run-checks exited ${signal ?? code}: ${stderr.trim()}` });
        }
      });
    });
  }

  async dryRun() {
    const byId = JSON.parse(readFileSync(join(this.sandbox, "mutants.json"), "utf8"));
    const owner = (id) => this.targets.find((t) => t.file === byId[id])?.adapter;
    const tests = [];
    const perTest = {};
    const statics = {};
    for (const target of this.targets) {
      for (const file of target.unit) {
        const id = `unit:${file}`;
        if (perTest[id] === undefined) {
          const started = Date.now();
          const result = await this.job({ mode: "mutant", adapter: target.adapter, checks: [], unit: [file] });
          if (result.status !== "survived") {
            return { status: DryRunStatus.Error, errorMessage: `${id} fails without a mutant: ${result.detail}` };
          }
          tests.push({ id, name: id, status: TestStatus.Success, timeSpentMs: Date.now() - started });
          perTest[id] = {};
        }
        for (const [mutant, file2] of Object.entries(byId)) if (file2 === target.file) perTest[id][mutant] = 1;
      }
    }
    for (const adapter of ADAPTERS) {
      if (!this.targets.some((t) => t.adapter === adapter)) continue;
      const out = join(tmpdir(), `verb-coverage-${process.pid}-${adapter}.json`);
      const started = Date.now();
      const result = await this.job({ mode: "coverage", adapter, out });
      if (result.status !== "done")
        return { status: DryRunStatus.Error, errorMessage: `coverage on ${adapter}: ${result.detail}` };
      const checks = JSON.parse(readFileSync(out, "utf8"));
      // The other test runner process judges mutants too: the times go through the sandbox.
      writeFileSync(
        join(this.sandbox, `check-times-${adapter}.json`),
        JSON.stringify(Object.fromEntries(Object.entries(checks).map(([check, record]) => [check, record.ms]))),
      );
      this.logger.info(
        `coverage of ${Object.keys(checks).length} checks on ${adapter} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      for (const [check, record] of Object.entries(checks)) {
        const id = `${adapter}:${check}`;
        if (record.status === "fail") {
          // Failed three times alone without a mutant (a memory or timing check on a busy machine):
          // left out of this run, so it kills nothing (the score can only come out lower).
          this.logger.warn(`${id} failed in the coverage pass (${record.detail}): left out of this run`);
          tests.push({ id, name: id, status: TestStatus.Skipped, timeSpentMs: record.ms });
          continue;
        }
        tests.push({ id, name: id, status: TestStatus.Success, timeSpentMs: record.ms + 700 });
        const covered = {};
        for (const [mutant, n] of Object.entries(record.total)) {
          if (owner(mutant) !== adapter) continue;
          if (record.startup[mutant] !== undefined) statics[mutant] = 1;
          else covered[mutant] = n;
        }
        perTest[id] = covered;
      }
    }
    return { status: DryRunStatus.Complete, tests, mutantCoverage: { static: statics, perTest } };
  }

  async mutantRun({ activeMutant, testFilter, timeout }) {
    const file = relative(this.sandbox, activeMutant.fileName).replaceAll("\\", "/");
    const target = this.targets.find((t) => t.file === file || activeMutant.fileName.endsWith(t.file));
    if (target === undefined) return { status: MutantRunStatus.Error, errorMessage: `no target for ${activeMutant.fileName}` };
    const prefix = `${target.adapter}:`;
    const timesFile = join(this.sandbox, `check-times-${target.adapter}.json`);
    const times = existsSync(timesFile) ? JSON.parse(readFileSync(timesFile, "utf8")) : {};
    const selected = testFilter ?? null;
    // Static mutants (executed at startup) are judged by every check of the adapter.
    let checks =
      selected === null ? Object.keys(times) : selected.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
    // Core files skip the checks that time the adapters' own request-head handling (targets.json: slow).
    if (!target.slow) checks = checks.filter((c) => !ADAPTER_ONLY.includes(c));
    const unit = selected === null ? target.unit : target.unit.filter((f) => selected.includes(`unit:${f}`));
    const started = Date.now();
    const result = await this.job(
      { mode: "mutant", adapter: target.adapter, checks, unit, times },
      { __STRYKER_ACTIVE_MUTANT__: activeMutant.id },
      Math.max(30_000, timeout - 5_000),
    );
    const duration = Date.now() - started;
    if (result.status === "killed") {
      return {
        status: MutantRunStatus.Killed,
        killedBy: result.killedBy,
        failureMessage: result.detail,
        nrOfTests: result.tests,
        duration,
      };
    }
    if (result.status === "survived") return { status: MutantRunStatus.Survived, nrOfTests: result.tests, duration };
    if (result.status === "timeout")
      return { status: MutantRunStatus.Timeout, reason: `no verdict within ${timeout} ms`, duration };
    return { status: MutantRunStatus.Error, errorMessage: result.detail ?? JSON.stringify(result) };
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, "verb-conformance", VerbConformanceRunner)];
