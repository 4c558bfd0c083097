/**
 * The readable report: a check × column matrix, one column per runtime × adapter (`node 24.11.0 / uws`),
 * then a line per column and the details of everything that did not pass.
 */

import type { CheckResult, CheckStatus } from "./types.js";

const SYMBOL: Record<CheckStatus, string> = { pass: "pass", fail: "FAIL", skip: "skip", deviation: "dev.", absent: "absent" };

/** The column a result belongs to: its runtime and adapter, e.g. `node 24.11.0 / uws` (the adapter alone when the runtime is unknown). */
export function columnOf(result: CheckResult): string {
  return result.runtime === "" ? result.adapter : `${result.runtime} / ${result.adapter}`;
}

/** Formats results as a matrix with one column per runtime × adapter, headed by the runtime and version over the adapter. */
export function formatReport(results: CheckResult[]): string {
  const columns = [...new Set(results.map(columnOf))];
  const ids = [...new Set(results.map((r) => r.id))];
  const byKey = new Map(results.map((r) => [`${r.id}\u0000${columnOf(r)}`, r]));
  const titleWidth = Math.min(92, Math.max(...results.map((r) => r.title.length)));
  const heads = columns.map((column) => {
    const first = results.find((r) => columnOf(r) === column) as CheckResult;
    return { runtime: first.runtime || "?", adapter: first.adapter };
  });
  const columnWidth = Math.max(7, ...heads.map((h) => Math.max(h.runtime.length, h.adapter.length) + 2));
  const lines: string[] = [];
  const runtimeHeader = `${"".padEnd(titleWidth)} ${heads.map((h) => h.runtime.padStart(columnWidth)).join("")}`;
  const header = `${"check".padEnd(titleWidth)} ${heads.map((h) => h.adapter.padStart(columnWidth)).join("")}`;
  lines.push(runtimeHeader, header, "-".repeat(header.length));
  let category = "";
  for (const id of ids) {
    const first = results.find((r) => r.id === id) as CheckResult;
    if (first.category !== category) {
      category = first.category;
      lines.push(`[${category}]`);
    }
    const title = first.title.length > titleWidth ? `${first.title.slice(0, titleWidth - 1)}…` : first.title;
    const cells = columns.map((column) => {
      const result = byKey.get(`${id}\u0000${column}`);
      return (result ? SYMBOL[result.status] : "").padStart(columnWidth);
    });
    lines.push(`${title.padEnd(titleWidth)} ${cells.join("")}`);
  }
  lines.push("");
  const categories = new Map<string, number>();
  for (const id of ids) {
    const category = (results.find((r) => r.id === id) as CheckResult).category;
    categories.set(category, (categories.get(category) ?? 0) + 1);
  }
  lines.push(`${ids.length} checks: ${[...categories].map(([category, count]) => `${category} ${count}`).join(", ")}`);
  for (const column of columns) {
    const mine = results.filter((r) => columnOf(r) === column);
    const absent = mine.find((r) => r.status === "absent");
    if (absent !== undefined && mine.every((r) => r.status === "absent")) {
      // One line for the whole column: nothing ran, by design.
      lines.push(`${column}: ${absent.detail}`);
      continue;
    }
    const count = (status: CheckStatus) => mine.filter((r) => r.status === status).length;
    lines.push(
      `${column}: ${count("pass")} pass, ${count("deviation")} documented deviation, ${count("skip")} skip, ${count("fail")} fail`,
    );
  }
  lines.push("", ...formatMatrix(results));
  const notes = results.filter((r) => r.status !== "pass" && r.status !== "absent" && r.detail);
  if (notes.length > 0) {
    lines.push("");
    for (const r of notes) lines.push(`${SYMBOL[r.status]} [${columnOf(r)}] ${r.id}: ${r.detail}`);
  }
  return lines.join("\n");
}

/**
 * The runtime × adapter matrix at a glance: a row per runtime and version, a column per adapter, each
 * cell the counts of that column (or `absent`, or `-` where that adapter does not run on that runtime).
 */
export function formatMatrix(results: CheckResult[]): string[] {
  const runtimes = [...new Set(results.map((r) => r.runtime || "?"))];
  const adapters = [...new Set(results.map((r) => r.adapter))];
  const cell = (runtime: string, adapter: string): string => {
    const mine = results.filter((r) => (r.runtime || "?") === runtime && r.adapter === adapter);
    if (mine.length === 0) return "-";
    if (mine.every((r) => r.status === "absent")) return "absent";
    const count = (status: CheckStatus) => mine.filter((r) => r.status === status).length;
    const parts = [`${count("pass")} pass`];
    if (count("deviation") > 0) parts.push(`${count("deviation")} dev.`);
    if (count("skip") > 0) parts.push(`${count("skip")} skip`);
    if (count("fail") > 0) parts.push(`${count("fail")} FAIL`);
    return parts.join(", ");
  };
  const rows = runtimes.map((runtime) => [runtime, ...adapters.map((adapter) => cell(runtime, adapter))]);
  const head = ["runtime × adapter", ...adapters];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    row
      .map((text, i) => text.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** True when nothing failed (an absent column is absent by design, not a failure). */
export function passed(results: CheckResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}
