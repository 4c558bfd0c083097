/**
 * The readable report: a check × adapter matrix, then the details of everything that did not pass.
 */

import type { CheckResult, CheckStatus } from "./types.js";

const SYMBOL: Record<CheckStatus, string> = { pass: "pass", fail: "FAIL", skip: "skip", deviation: "dev." };

/** Formats results as a matrix with one column per adapter. */
export function formatReport(results: CheckResult[]): string {
  const adapters = [...new Set(results.map((r) => r.adapter))];
  const ids = [...new Set(results.map((r) => r.id))];
  const byKey = new Map(results.map((r) => [`${r.id}\u0000${r.adapter}`, r]));
  const titleWidth = Math.min(92, Math.max(...results.map((r) => r.title.length)));
  const columnWidth = Math.max(6, ...adapters.map((a) => a.length + 1));
  const lines: string[] = [];
  const legend = adapters.map((adapter) => {
    const runtime = results.find((r) => r.adapter === adapter && r.runtime !== "")?.runtime;
    return runtime === undefined ? `${adapter}: did not start` : `${adapter}: ${runtime} / ${adapter}`;
  });
  lines.push(`columns: ${legend.join(" · ")}`, "");
  const header = `${"check".padEnd(titleWidth)} ${adapters.map((a) => a.padStart(columnWidth)).join("")}`;
  lines.push(header, "-".repeat(header.length));
  let category = "";
  for (const id of ids) {
    const first = results.find((r) => r.id === id) as CheckResult;
    if (first.category !== category) {
      category = first.category;
      lines.push(`[${category}]`);
    }
    const title = first.title.length > titleWidth ? `${first.title.slice(0, titleWidth - 1)}…` : first.title;
    const cells = adapters.map((adapter) => {
      const result = byKey.get(`${id}\u0000${adapter}`);
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
  for (const adapter of adapters) {
    const mine = results.filter((r) => r.adapter === adapter);
    const count = (status: CheckStatus) => mine.filter((r) => r.status === status).length;
    const runtime = mine.find((r) => r.runtime !== "")?.runtime;
    lines.push(
      `${runtime === undefined ? adapter : `${runtime} / ${adapter}`}: ${count("pass")} pass, ${count("deviation")} documented deviation, ${count("skip")} skip, ${count("fail")} fail`,
    );
  }
  const notes = results.filter((r) => r.status !== "pass" && r.detail);
  if (notes.length > 0) {
    lines.push("");
    for (const r of notes) lines.push(`${SYMBOL[r.status]} [${r.adapter}] ${r.id}: ${r.detail}`);
  }
  return lines.join("\n");
}

/** True when nothing failed. */
export function passed(results: CheckResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}
