// The README's list of every check, made from the checks themselves (also used by the README test).

const START = "<!-- checks:start -->";
const END = "<!-- checks:end -->";

/** Markdown: a count line per category, then one row per check. */
export function checkList(checks) {
  const categories = new Map();
  for (const check of checks) categories.set(check.category, (categories.get(check.category) ?? 0) + 1);
  const lines = [
    `${checks.length} checks: ${[...categories].map(([category, count]) => `${category} ${count}`).join(", ")}.`,
    "",
    "| check | what it proves |",
    "| ----- | -------------- |",
  ];
  for (const check of checks) lines.push(`| \`${check.id}\` | ${check.title.replaceAll("|", "\\|")} |`);
  return lines.join("\n");
}

/** The README with `list` between the markers. */
export function replaceCheckList(readme, list) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`README.md has no ${START} … ${END} block`);
  return `${readme.slice(0, start + START.length)}\n${list}\n${readme.slice(end)}`;
}
