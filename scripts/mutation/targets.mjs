// The files a mutation run mutates (targets.json). Each is judged either by the conformance suite
// (scripts/mutation/conformance-runner.mjs: `adapter` is the one whose fixture runs the file's
// code, `unit` lists unit test files that judge it too, `slow` keeps the adapter-only checks) or,
// with `"runner": "vitest"`, by the core unit tests alone (stryker.unit.config.mjs: option
// validation, which the fixture's fixed options cannot reach). Without VERB_MUTATION_FILES a run
// takes the targets marked `default` (what fits in an hour on 2 cores); VERB_MUTATION_FILES=all
// takes every target, or comma-separated parts of paths (e.g. "close.ts,adapters/uws") some.
import { readFileSync } from "node:fs";

/** The targets of one runner: "conformance" or "vitest". */
export function targets(runner = "conformance") {
  const all = JSON.parse(readFileSync(new URL("./targets.json", import.meta.url), "utf8"));
  const only = (process.env.VERB_MUTATION_FILES ?? "").split(",").filter(Boolean);
  return all.filter(
    (t) =>
      (t.runner ?? "conformance") === runner &&
      (only.length === 0 ? t.default === true : only.includes("all") || only.some((part) => t.file.includes(part))),
  );
}
