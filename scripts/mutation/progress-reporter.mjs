// A Stryker reporter ("verb-progress") that appends every mutant's result, as it is known, to
// .verb-mutation/report/mutants.jsonl (or $VERB_MUTATION_REPORTS/): a long run can be read while it goes on.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { declareClassPlugin, PluginKind } from "@stryker-mutator/api/plugin";

const file = resolve(process.env.VERB_MUTATION_REPORTS ?? ".verb-mutation/report", "mutants.jsonl");
// Both configurations (unit, conformance) append to the same file.

class ProgressReporter {
  onDryRunCompleted() {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify({ event: "dry-run-completed", at: new Date().toISOString() })}\n`);
  }

  onMutantTested(mutant) {
    const {
      id,
      fileName,
      mutatorName,
      replacement,
      location,
      status,
      killedBy,
      statusReason,
      coveredBy,
      static: isStatic,
    } = mutant;
    const line = {
      id,
      file: fileName,
      line: location.start.line,
      column: location.start.column,
      end: `${location.end.line}:${location.end.column}`,
      mutator: mutatorName,
      replacement,
      status,
      killedBy,
      reason: statusReason?.slice(0, 300),
      tests: isStatic ? "all" : (coveredBy?.length ?? 0),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, "verb-progress", ProgressReporter)];
