/**
 * The main README tells the truth about what the hooks see on each engine: every deviation the
 * application can observe (ENGINE_DEVIATIONS entries with `app`) is in its close section.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENGINE_DEVIATIONS } from "../packages/conformance/src/deviations.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("Where an engine changes what the hooks see"));
const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| adapter |")));
const rows = new Set(
  table
    .split("\n")
    .filter((line) => /^\| (bun|node|uws|deno) \| /.test(line))
    .map((line) => line.split("|").map((cell) => cell.trim()))
    .map(([, adapter, seen]) => `${adapter}: ${seen}`),
);

describe("main README: what the hooks see", () => {
  it("lists every deviation the application can observe, and only those", () => {
    const observable = new Set(ENGINE_DEVIATIONS.filter((d) => d.app !== undefined).map((d) => `${d.adapter}: ${d.app}`));
    expect([...rows].sort()).toEqual([...observable].sort());
  });
});
