// `npm test`: the whole suite on one current LTS (Node 24): lint and format check, type-check,
// build, unit and example tests, the adapter conformance suite on Bun, Node + ws, Node +
// uWebSockets.js and Deno, the READMEs' commands in a clean clone, the benchmarks' smoke runs. Then
// the Node matrix: the conformance suite (node and uws adapters), the spec's examples and the
// cluster test on every other Node of MATRIX (Node 24's cells are the suite's own).
//
// Node binaries come from the npm registry (scripts/runtimes.mjs, into .runtimes/): `.ci/run`
// installs them beforehand; here a missing one is installed, an installed one only checked. uWebSockets.js binaries need glibc >=
// 2.38: when a Node cannot load them and the workplace's glibc wrapper exists
// (../shared/glibc/node-glibc, or VERB_NODE_GLIBC), that Node runs through it.
//
// A cell absent by design (ABSENT_BY_DESIGN) is printed as absent with its reason, never skipped in
// silence; in CI (`CI=true`) any other missing cell, and an absent cell that turns out to run, fail.
//
// VERB_TEST_STEPS=<text> runs only the steps whose title contains it: `VERB_TEST_STEPS=Node npm test`
// runs the matrix steps alone (after a build).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bin = (name) => resolve(root, "node_modules/.bin", name);
const inCI = process.env.CI === "true" || process.env.CI === "1";

/** The Node that runs the whole suite. */
const MAIN_NODE = 24;
/** Every Node major the matrix steps run on. */
const MATRIX = [20, 22, 24, 26];
/** runtime × adapter cells that do not exist, and why (the conformance report must say exactly this). */
const ABSENT_BY_DESIGN = [{ node: 26, adapter: "uws", why: "uWebSockets.js 20.57 has no binary for Node 26's ABI" }];

function fail(message) {
  console.error(`[test] ${message}`);
  process.exit(1);
}

function uwsLoads(nodePath) {
  return spawnSync(nodePath, ["-e", "require('uWebSockets.js')"], { cwd: root }).status === 0;
}

const wrapper = process.env.VERB_NODE_GLIBC ?? resolve(root, "../shared/glibc/node-glibc");

/**
 * The Node binary of a major version that this suite's processes run: this Node when it is that
 * major, else the one scripts/runtimes.mjs installed (installed now when missing), through the glibc
 * wrapper when it exists (it hands back the same Node where the system's glibc is new enough).
 */
function nodeOf(major) {
  let node = process.execPath;
  if (Number(process.versions.node.split(".")[0]) !== major) {
    const installed = spawnSync(process.execPath, [resolve(root, "scripts/runtimes.mjs"), String(major)], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (installed.status !== 0) fail(`Node ${major} is missing and scripts/runtimes.mjs ${major} failed`);
    node = installed.stdout.trim();
  }
  if (!existsSync(wrapper)) return node;
  const dir = spawnSync(wrapper, ["--bin-dir"], { encoding: "utf8", env: { ...process.env, NODE_BIN: node } });
  if (dir.status !== 0) fail(`${wrapper} --bin-dir failed for ${node}: ${dir.stderr}`);
  return resolve(dir.stdout.trim(), "node");
}

const nodes = new Map(MATRIX.map((major) => [major, nodeOf(major)]));
const mainNode = nodes.get(MAIN_NODE);
const env = { ...process.env, PATH: `${dirname(mainNode)}:${process.env.PATH}` };
for (const [major, node] of nodes) {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`[test] Node ${major}: ${version} (${node})${major === MAIN_NODE ? ", runs the whole suite" : ""}`);
}
if (!uwsLoads(mainNode)) {
  console.log(
    `[test] uWebSockets.js cannot load with Node ${MAIN_NODE}${existsSync(wrapper) ? "" : " and no glibc wrapper was found"}: its tests will be skipped outside CI`,
  );
}

const otherNodes = MATRIX.filter((major) => major !== MAIN_NODE);
const absentOn = (major, adapter) => ABSENT_BY_DESIGN.find((cell) => cell.node === major && cell.adapter === adapter);

/** Checks a conformance JSON report: every Node × adapter cell asked for ran, except exactly the absent ones. */
function checkConformanceCells(report, majors, adapters) {
  const rows = JSON.parse(readFileSync(resolve(root, report), "utf8"));
  for (const major of majors) {
    for (const adapter of adapters) {
      const cell = rows.filter((r) => r.adapter === adapter && r.runtime.startsWith(`node ${major}.`));
      const absent = absentOn(major, adapter);
      const name = `node ${major} / ${adapter}`;
      if (cell.length === 0) fail(`${report}: no column ${name}`);
      const absentRows = cell.filter((r) => r.status === "absent");
      if (absent !== undefined) {
        if (absentRows.length !== cell.length) {
          fail(`${name} ran although it is listed as absent (${absent.why}): add the cell to the matrix in scripts/test.mjs`);
        }
        if (!cell.every((r) => r.detail.startsWith(`absent: ${absent.why}`))) {
          fail(`${name} is absent for another reason than "${absent.why}": ${cell[0].detail}`);
        }
        console.log(`[test] ${name}: absent by design (${absent.why})`);
      } else if (absentRows.length > 0) {
        fail(`${name} is absent (${absentRows[0].detail}) but is a cell of the matrix`);
      } else if (inCI && cell.some((r) => r.status === "skip")) {
        fail(`${name} skipped checks in CI`);
      }
    }
  }
}

/**
 * The vitest steps on another Node: the tests run on the main Node and start their node and uws
 * processes on the one chosen (tests/helpers/runtimes.ts: VERB_TEST_NODE, VERB_TEST_UWS_NODE). A
 * skipped test fails the step in CI unless it is the absent cell, named as such.
 */
function vitestOn(major, files, extraEnv, testEnv) {
  const report = resolve(tmpdir(), `verb-vitest-node-${major}-${process.pid}.json`);
  rmSync(report, { force: true });
  return [
    bin("vitest"),
    ["run", ...files, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`],
    { ...testEnv, VERB_TEST_NODE: nodes.get(major), ...extraEnv },
    () => {
      const results = JSON.parse(readFileSync(report, "utf8")).testResults.flatMap((file) => file.assertionResults);
      rmSync(report, { force: true });
      const absent = absentOn(major, "uws");
      let absentTests = 0;
      for (const test of results.filter((t) => t.status !== "passed")) {
        const name = test.fullName ?? test.title;
        if (test.status === "failed") fail(`Node ${major}: ${name} failed`);
        if (absent !== undefined && name.includes(`absent: ${absent.why}`)) {
          absentTests++;
          continue;
        }
        if (inCI) fail(`Node ${major}: ${name} was skipped (${test.status}) in CI`);
      }
      if (results.length === absentTests) fail(`Node ${major}: no tests ran`);
      if (absentTests > 0) console.log(`[test] Node ${major} / uws: ${absentTests} tests absent by design (${absent.why})`);
    },
  ];
}

const steps = [
  ["lint + format", bin("biome"), ["check", "."]],
  ["type-check", "node", ["scripts/typecheck.mjs"]],
  ["build", bin("tsup"), ["--silent"]],
  ["unit + example tests", bin("vitest"), ["run"]],
  [
    "conformance (bun, node, uws, deno)",
    "node",
    // Four fixtures and the checks on 2 cores: 4 checks at once per adapter keep the timing checks honest.
    [
      "packages/conformance/dist/cli.js",
      "--adapter",
      "bun,node,uws,deno",
      "--concurrency",
      "4",
      "--json",
      "conformance-report.json",
      "--quiet",
    ],
    {},
    () => checkConformanceCells("conformance-report.json", [MAIN_NODE], ["node", "uws"]),
  ],
  [
    `conformance matrix (node, uws on Node ${otherNodes.join(", ")})`,
    "node",
    // One Node after the other (the runner's waves), two fixtures at a time with 4 checks at once each:
    // lighter than the step above, so its timing checks stay as honest.
    [
      "packages/conformance/dist/cli.js",
      "--adapter",
      "node,uws",
      ...otherNodes.flatMap((major) => ["--node", nodes.get(major)]),
      "--concurrency",
      "4",
      "--json",
      "conformance-report-matrix.json",
      "--quiet",
    ],
    {},
    async () => {
      checkConformanceCells("conformance-report-matrix.json", otherNodes, ["node", "uws"]);
      // The whole runtime × adapter matrix of both conformance steps, at a glance.
      const { formatMatrix } = await import(resolve(root, "packages/conformance/dist/index.js"));
      const rows = ["conformance-report.json", "conformance-report-matrix.json"]
        .filter((file) => existsSync(resolve(root, file)))
        .flatMap((file) => JSON.parse(readFileSync(resolve(root, file), "utf8")));
      console.log(`\n${formatMatrix(rows).join("\n")}`);
    },
  ],
  ...otherNodes.flatMap((major) => {
    const specAndCluster = ["examples/test/spec-examples.test.ts", "tests/cluster.test.ts"];
    if (absentOn(major, "uws") === undefined) {
      return [[`spec examples + cluster on Node ${major}`, ...vitestOn(major, specAndCluster, {}, env)]];
    }
    // uws is absent on this Node: the spec examples say so; the cluster keeps its uws instance on the main Node.
    return [
      [`spec examples on Node ${major}`, ...vitestOn(major, [specAndCluster[0]], {}, env)],
      [
        `cluster on Node ${major} (its uws instance on Node ${MAIN_NODE})`,
        ...vitestOn(major, [specAndCluster[1]], { VERB_TEST_UWS_NODE: mainNode }, env),
      ],
    ];
  }),
  // Every command the READMEs show, as written, in a fresh clone of the committed HEAD.
  ["README commands (clean clone)", "node", ["scripts/readme-commands.mjs"]],
  // The benchmarks only have to keep working here: seconds-long smoke runs, no timed assertions.
  ["bench smoke", "node", ["bench/run.mjs", "--smoke"]],
  ["cluster bench smoke", "node", ["bench/cluster.mjs", "--smoke", "--adapter", "uws,node,bun"]],
];

const only = process.env.VERB_TEST_STEPS; // e.g. "matrix" or "Node 22": run only steps whose title contains it
const total = Date.now();
for (const [title, command, args, stepEnv = {}, verify] of steps) {
  if (only !== undefined && !title.includes(only)) continue;
  console.log(`\n[test] ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env: { ...env, ...stepEnv }, stdio: "inherit" });
  if (result.status !== 0) fail(`${title} failed (exit ${result.status ?? result.signal})`);
  await verify?.();
  console.log(`[test] ${title}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(`\n[test] all steps ok (${((Date.now() - total) / 1000).toFixed(1)} s)`);
