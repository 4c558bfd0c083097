// Mutation testing of option validation (`npm run mutation`, before stryker.config.mjs): the files of
// scripts/mutation/targets.json marked `"runner": "vitest"`, judged by core's unit tests with
// Stryker's vitest runner. The conformance fixture starts with one fixed set of valid options, so
// over sockets only the values it uses can be seen; the unit tests try every rule.
import { targets } from "./scripts/mutation/targets.mjs";

const reports = `${process.env.VERB_MUTATION_REPORTS ?? ".verb-mutation/report"}/unit`;

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "scripts/mutation/vitest.config.mjs" },
  mutate: targets("vitest").map((t) => t.file),
  coverageAnalysis: "perTest",
  ignorePatterns: ["dist", "bench", "examples", "reports", "coverage", ".runtimes", ".verb-*", "conformance-report*.json"],
  plugins: ["@stryker-mutator/vitest-runner", "./scripts/mutation/ignorers.mjs", "./scripts/mutation/progress-reporter.mjs"],
  ignorers: ["ErrorText", "LogCall"],
  checkers: [],
  concurrency: 2,
  disableTypeChecks: true,
  reporters: ["clear-text", "progress-append-only", "html", "json", "verb-progress"],
  htmlReporter: { fileName: `${reports}/index.html` },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  tempDirName: `${process.env.VERB_MUTATION_TMP ?? ".stryker-tmp"}-unit`,
  cleanTempDir: true,
};
