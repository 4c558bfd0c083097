// Stryker's buildCommand (runs in the sandbox, after the mutants were instrumented into its copy of
// the sources):
//   1. gives the sandbox its own node_modules: a real folder whose entries link to the project's,
//      except @verb/*, which link to the sandbox's own packages. (With Stryker's symlinkNodeModules,
//      @verb/core would resolve through the project's node_modules to the project's unmutated
//      packages/core, and no mutant would ever run.)
//   2. builds core, the adapters and the conformance fixture (scripts/mutation/tsup.config.mjs);
//   3. writes bunfig.toml, so the Bun fixture loads preload.mjs;
//   4. writes mutants.json: which source file each mutant id is in, so the test runner
//      (conformance-runner.mjs) knows which adapter runs it.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { targets } from "./targets.mjs";

const sandbox = process.cwd();
const project = process.env.VERB_MUTATION_PROJECT ?? resolve(sandbox, "../..");
const projectModules = join(project, "node_modules");
if (!existsSync(join(projectModules, "tsup"))) throw new Error(`no node_modules with tsup in ${project}: run npm ci there`);
if (resolve(sandbox) === resolve(project)) throw new Error("build.mjs runs in Stryker's sandbox, not in the project");

const modules = join(sandbox, "node_modules");
if (!existsSync(modules) || lstatSync(modules).isSymbolicLink()) {
  if (existsSync(modules))
    throw new Error("the sandbox's node_modules is a link to the project's: set symlinkNodeModules: false");
  mkdirSync(modules);
  for (const entry of readdirSync(projectModules)) {
    if (entry === "@verb") {
      mkdirSync(join(modules, "@verb"));
      for (const pkg of readdirSync(join(projectModules, "@verb"))) {
        // Relative links (../../packages/core): inside the sandbox they point at its own packages.
        symlinkSync(readlinkSync(join(projectModules, "@verb", pkg)), join(modules, "@verb", pkg));
      }
    } else {
      symlinkSync(join(projectModules, entry), join(modules, entry));
    }
  }
}

// Bun fixtures load the preload through the sandbox's bunfig.toml (Node's get NODE_OPTIONS).
writeFileSync(join(sandbox, "bunfig.toml"), 'preload = ["./scripts/mutation/preload.mjs"]\n');

execFileSync(
  process.execPath,
  [join(modules, "tsup", "dist", "cli-default.js"), "--config", "scripts/mutation/tsup.config.mjs"],
  {
    stdio: "inherit",
  },
);

const files = targets().map((t) => t.file);
const byId = {};
for (const file of files) {
  const code = readFileSync(join(sandbox, file), "utf8");
  for (const match of code.matchAll(/stryMutAct_9fa48\("(\d+)"\)/g)) byId[match[1]] = file;
}
writeFileSync(join(sandbox, "mutants.json"), `${JSON.stringify(byId)}\n`);
process.stderr.write(`mutation build: ${Object.keys(byId).length} mutants in ${files.length} files\n`);
