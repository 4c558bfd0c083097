// Mutation testing of the contract: `npm run mutation` (scripts/mutation.mjs). Not part of `npm test`.
// Mutates the files where the contract lives and judges every mutant by the conformance suite over
// real sockets, on the adapter that runs the mutated code (scripts/mutation/).
import { targets } from "./scripts/mutation/targets.mjs";

// Where the report goes and where the sandbox is made (scripts/mutation.mjs sets both per run).
const reports = process.env.VERB_MUTATION_REPORTS ?? ".verb-mutation/report";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  // The conformance checks as Stryker's tests (scripts/mutation/conformance-runner.mjs): per-check
  // coverage, so each mutant runs only the checks that execute it, on the adapter that runs it.
  testRunner: "verb-conformance",
  buildCommand: "node scripts/mutation/build.mjs",
  mutate: targets().map((t) => t.file),
  // The sandbox gets its own node_modules (build.mjs) so @verb/* resolve to its instrumented copies.
  symlinkNodeModules: false,
  ignorePatterns: [
    "dist",
    "bench",
    "examples",
    "reports",
    "coverage",
    ".runtimes",
    ".verb-*",
    "conformance-report*.json",
    "packages/redis",
    "packages/client",
    "packages/protocol",
  ],
  plugins: [
    "@stryker-mutator/*",
    "./scripts/mutation/ignorers.mjs",
    "./scripts/mutation/conformance-runner.mjs",
    "./scripts/mutation/progress-reporter.mjs",
  ],
  ignorers: ["ErrorText", "LogCall"],
  coverageAnalysis: "perTest",
  // The dry run is the coverage pass: every check alone, on each adapter (several minutes).
  dryRunTimeoutMinutes: 30,
  checkers: [],
  concurrency: 2,
  // A mutant's time limit: its checks' time × 1.5 + 30 s (a fresh fixture, the confirmation run).
  timeoutMS: 30_000,
  timeoutFactor: 1.5,
  disableTypeChecks: true,
  reporters: ["clear-text", "progress-append-only", "html", "json", "verb-progress"],
  htmlReporter: { fileName: `${reports}/index.html` },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  tempDirName: process.env.VERB_MUTATION_TMP ?? ".stryker-tmp",
  cleanTempDir: true,
};
