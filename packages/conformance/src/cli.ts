#!/usr/bin/env node
/**
 * verb-conformance --adapter bun|node|uws|deno|<path>[,...] [--json report.json] [--runtime node|bun|deno]
 *                  [--node <command>[,...]] [--bun <command>] [--deno <command>] [--only <id part>[,...]] [--concurrency N] [--quiet]
 *
 * Every column of the report is a runtime and version over an adapter (`node 24.11.0 / uws`); with several
 * `--node` commands the Node adapters run on each, a column per Node: a runtime × adapter matrix.
 */

import { writeFileSync } from "node:fs";
import { formatReport, passed } from "./report.js";
import { type Runtime, runConformance } from "./runner.js";

const USAGE = `Usage: verb-conformance --adapter <bun|node|uws|deno|path>[,<more>] [options]

  --adapter, -a     adapters to check: bun, node, uws, deno, or a path to a module exporting a Verb adapter
                    (repeat the flag or separate with commas)
  --json <file>     also write the results as JSON: [{ id, title, category, adapter, runtime, status, detail, ms }]
                    (runtime: the column's runtime and version, e.g. "node 24.11.0")
  --runtime <rt>    runtime for adapters given by path: node (default), bun or deno
  --node <command>  command that runs Node.js (e.g. a glibc wrapper); default: this Node. Repeat the flag or
                    separate with commas for a matrix: every Node adapter runs on each, one column per Node
  --bun <command>   command that runs Bun; default: node_modules/.bin/bun, else bun on PATH
  --deno <command>  command that runs Deno; default: the npm package deno's binary, else deno on PATH
  --only <ids>      run only checks whose id contains one of these (comma-separated)
  --concurrency <n> checks at once per adapter (default 6)
  --quiet           no progress lines

A column is "absent" when its engine does not exist for that runtime by design (uWebSockets.js ships no
binary for that Node's ABI): it is named in the report with the reason, and is not a failure.

Exit status: 0 when no check failed, 1 otherwise, 2 on bad usage.`;

interface Args {
  adapters: string[];
  json?: string;
  runtime?: Runtime;
  node: string[];
  bun?: string;
  deno?: string;
  only?: string[];
  concurrency?: number;
  quiet: boolean;
}

function parse(argv: string[]): Args {
  const args: Args = { adapters: [], node: [], quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--adapter":
      case "-a":
        args.adapters.push(...value().split(",").filter(Boolean));
        break;
      case "--json":
        args.json = value();
        break;
      case "--runtime": {
        const runtime = value();
        if (runtime !== "node" && runtime !== "bun" && runtime !== "deno") throw new Error("--runtime must be node, bun or deno");
        args.runtime = runtime;
        break;
      }
      case "--node":
        args.node.push(...value().split(",").filter(Boolean));
        break;
      case "--bun":
        args.bun = value();
        break;
      case "--deno":
        args.deno = value();
        break;
      case "--only":
        args.only = value().split(",").filter(Boolean);
        break;
      case "--concurrency":
        args.concurrency = Number(value());
        if (!Number.isInteger(args.concurrency) || args.concurrency < 1)
          throw new Error("--concurrency must be a positive integer");
        break;
      case "--quiet":
        args.quiet = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  if (args.adapters.length === 0) throw new Error("--adapter is required");
  return args;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`verb-conformance: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const started = Date.now();
  const results = await runConformance({
    adapters: args.adapters,
    runtime: args.runtime,
    nodeCommands: args.node,
    bunCommand: args.bun,
    denoCommand: args.deno,
    only: args.only,
    concurrency: args.concurrency,
    log: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`\nVerb adapter conformance (${((Date.now() - started) / 1000).toFixed(1)} s)\n\n`);
  process.stdout.write(`${formatReport(results)}\n`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  process.exit(passed(results) ? 0 : 1);
}

void main();
