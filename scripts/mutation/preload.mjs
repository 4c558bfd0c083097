// Loaded into every conformance fixture of a mutation run (Node: NODE_OPTIONS=--import, Bun: the
// sandbox's bunfig.toml preload), before the fixture's own code.
//  - The fixture ends when the process that started it is gone (a mutant run that was cut off must
//    not leave a fixture behind).
//  - With VERB_COVERAGE_FILE set (the coverage pass of the dry run): at exit, writes which mutants
//    the fixture executed up to its ready line ("startup") and in all ("total"), from the counters
//    Stryker's instrumented code keeps in globalThis.__stryker__.
import { writeFileSync } from "node:fs";

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

const file = process.env.VERB_COVERAGE_FILE;
if (file) {
  const snapshot = () => ({ ...(globalThis.__stryker__?.mutantCoverage?.static ?? {}) });
  let startup;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    if (startup === undefined && String(chunk).startsWith('{"ready":true')) startup = snapshot();
    return write(chunk, ...rest);
  };
  let written = false;
  const dump = () => {
    if (written) return;
    written = true;
    writeFileSync(file, JSON.stringify({ startup: startup ?? {}, total: snapshot() }));
  };
  process.on("exit", dump);
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      dump();
      process.exit(0);
    });
  }
}
