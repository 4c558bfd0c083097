// node scripts/mutation/summary.mjs [<report dir> ...] [--survivors]
//
// The score of a mutation run from its reports (default .verb-mutation/report: mutation.json and
// unit/mutation.json once it finished, mutants.jsonl while it goes on): per file and in all, killed / timeout / survived / no coverage, and with
// --survivors every surviving mutant. Later directories override earlier ones mutant by mutant
// (same file, start and end, mutator and replacement): a narrowed rerun (.verb-mutation/partial) after
// a check was added updates the verdicts of the mutants it tested again.
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const listSurvivors = args.includes("--survivors");
const dirs = args.filter((a) => !a.startsWith("--"));
if (dirs.length === 0) dirs.push(".verb-mutation/report");

const mutants = new Map();
const add = (m) => {
  m.file = relative(root, m.file.replace(/^.*?\/sandbox-[^/]+\//, `${root}/`));
  mutants.set(`${m.file}:${m.line}:${m.column}:${m.end ?? ""}:${m.mutator}:${m.replacement}`, m);
};
for (const dir of dirs) {
  // A finished run: Stryker's reports (full positions); one still going: mutants.jsonl.
  const reports = [join(dir, "mutation.json"), join(dir, "unit", "mutation.json")].filter((f) => existsSync(f));
  if (reports.length > 0) {
    for (const report of reports) {
      for (const [file, { mutants: list }] of Object.entries(JSON.parse(readFileSync(report, "utf8")).files)) {
        for (const m of list) {
          const { start, end } = m.location;
          add({
            file: resolve(root, file),
            line: start.line,
            column: start.column,
            end: `${end.line}:${end.column}`,
            mutator: m.mutatorName,
            replacement: m.replacement,
            status: m.status,
            tests: m.static ? "all" : (m.coveredBy?.length ?? 0),
          });
        }
      }
    }
    continue;
  }
  const file = join(dir, "mutants.jsonl");
  if (!existsSync(file)) throw new Error(`no report in ${dir}`);
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const m = JSON.parse(line);
    if (m.id !== undefined) add(m);
  }
}

const statuses = ["Killed", "Timeout", "Survived", "NoCoverage", "Ignored", "RuntimeError", "CompileError"];
const perFile = new Map();
for (const m of mutants.values()) {
  const counts = perFile.get(m.file) ?? Object.fromEntries(statuses.map((s) => [s, 0]));
  counts[m.status] = (counts[m.status] ?? 0) + 1;
  perFile.set(m.file, counts);
}
const score = (c) => {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? "-" : `${((100 * detected) / valid).toFixed(1)}%`;
};
const total = Object.fromEntries(statuses.map((s) => [s, 0]));
const rows = [["file", "score", "killed", "timeout", "survived", "no coverage", "ignored"]];
for (const [file, c] of [...perFile].sort()) {
  for (const s of statuses) total[s] += c[s] ?? 0;
  rows.push([file, score(c), c.Killed, c.Timeout, c.Survived, c.NoCoverage, c.Ignored]);
}
rows.push(["all", score(total), total.Killed, total.Timeout, total.Survived, total.NoCoverage, total.Ignored]);
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
for (const r of rows) console.log(r.map((v, i) => String(v).padEnd(widths[i])).join("  "));
if (listSurvivors) {
  for (const m of [...mutants.values()]
    .filter((x) => x.status === "Survived")
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)) {
    console.log(`${m.file}:${m.line}:${m.column} ${m.mutator} → ${JSON.stringify(m.replacement)} (tests: ${m.tests})`);
  }
}
