#!/usr/bin/env node
// Writes the list of every check (id and what it proves) into README.md between the markers, from
// the built suite (`npm run build` first). `--check` only reports whether the README is current.
import { readFileSync, writeFileSync } from "node:fs";
import { checkList, replaceCheckList } from "./check-list.mjs";

const { allChecks } = await import("../dist/index.js");
const path = new URL("../README.md", import.meta.url);
const readme = readFileSync(path, "utf8");
const next = replaceCheckList(readme, checkList(allChecks));
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error(
      "packages/conformance/README.md: the check list is out of date (node packages/conformance/scripts/readme-checks.mjs)",
    );
    process.exit(1);
  }
} else writeFileSync(path, next);
