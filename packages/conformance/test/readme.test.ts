/**
 * The README's deviation table says what the suite accepts: exactly the entries of src/deviations.ts.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkList, replaceCheckList } from "../scripts/check-list.mjs";
import { allChecks } from "../src/checks/index.js";
import { ENGINE_DEVIATIONS } from "../src/deviations.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## Engine deviations"));
const rows = section
  .split("\n")
  .filter((line) => /^\| (bun|node|uws|[\w-]+) +\| `/.test(line))
  .map((line) => line.split("|").map((cell) => cell.trim()));

describe("README engine deviations", () => {
  it("lists every accepted deviation, with what is observed, and nothing else", () => {
    const listed = rows.map(([, adapter, check, observed]) => `${adapter} ${check} ${observed}`).sort();
    const accepted = ENGINE_DEVIATIONS.map((d) => `${d.adapter} \`${d.check}\` ${d.observed}`).sort();
    expect(listed).toEqual(accepted);
  });
});

describe("README check list", () => {
  it("lists every check with what it proves, and the count per category (scripts/readme-checks.mjs rewrites it)", () => {
    expect(replaceCheckList(readme, checkList(allChecks))).toBe(readme);
  });
});
