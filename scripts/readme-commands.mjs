// Runs the commands the READMEs show, exactly as written, in a fresh clone of the committed HEAD.
//
// Every line of a ```sh block in README.md and in the workspace packages' READMEs is run with
// `bash -c` at the clone's root, in the READMEs' order (so `npm ci && npm start` comes first and
// later commands find node_modules and dist), one at a time, each with a deadline:
//   - a command that starts a server (`npm start`, a program under examples/, a block of lines
//     ending in `&`) must answer on its ports (read from `PORT=` in the command, else from the
//     example's `process.env.PORT ?? N`; redis-server's `--port`); then its process group is
//     stopped and its ports must be free before the next command starts;
//   - any other command must exit 0.
// Commands that must not run here are listed in SKIP with the reason; anything else found in a
// README runs, so a command added later is tested (or fails this step until it is classified).
// A tool a command needs that is not on PATH (or uWebSockets.js that cannot load) skips that
// command with a one-line reason outside CI, and fails it in CI (`CI=true`).
//
// The clone is a sibling of this repository (`<repo>/../.verb-readme-<pid>`), so `../shared` is
// the same for it; it is removed at the end, also on failure.
//
// Usage: node scripts/readme-commands.mjs [--ref <commit>] [--keep] [--list]
//   --list: only print how each command is classified (nothing runs)
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const inCI = process.env.CI === "true" || process.env.CI === "1";
const args = process.argv.slice(2);
const ref = args.includes("--ref") ? args[args.indexOf("--ref") + 1] : "HEAD";
const keep = args.includes("--keep");
const listOnly = args.includes("--list");

/** Commands (as written, trailing comment removed) that are not run, and why. */
const SKIP = new Map([
  ["npm test", "runs the whole suite, this step included: it would recurse"],
  ["npm install @verb/core @verb/node", "installs the published packages from the registry, for users' projects"],
  ["npm install @verb/core @verb/bun", "installs the published packages from the registry, for users' projects"],
  ["npm install @verb/core @verb/deno", "installs the published packages from the registry, for users' projects"],
  [
    "npm install @verb/core @verb/uws uNetworking/uWebSockets.js#v20.57.0",
    "installs the published packages (and uWebSockets.js from GitHub), for users' projects",
  ],
  ["npm install @verb/client", "installs the published package from the registry, for users' projects"],
  ["npm install @verb/redis", "installs the published package from the registry, for users' projects"],
  ["npm install --save-dev @verb/conformance", "installs the published package from the registry, for users' projects"],
  ["npx verb-conformance --adapter ./path/to/your-adapter.js", "a placeholder path: the form of the command for adapter authors"],
  [
    "npx verb-conformance --adapter ./dist/my-adapter.js --runtime node",
    "a placeholder path: the form of the command for adapter authors",
  ],
]);

const SERVER_DEADLINE_S = 180; // to answer on every port (`npm ci && npm start` installs and builds first)
const SESSION_DEADLINE_S = 60; // for a block of background lines to answer on every port
const COMMAND_DEADLINE_S = 300; // for a one-shot command to exit
const STOP_DEADLINE_S = 10; // for a stopped server's processes to end and its ports to be free

// ---------------------------------------------------------------------------------------------
// The environment of a user's shell: what we inherited (the glibc shim's PATH included), without
// what npm injects into `npm test` (its node_modules/.bin entries, npm_config_local_prefix, ...)
// and without the variables the README commands set themselves.

const tempDir = mkdtempSync(join(tmpdir(), "verb-readme-"));
const binDir = join(tempDir, "bin");
const logDir = join(tempDir, "logs");
mkdirSync(binDir);
mkdirSync(logDir);
const clone = resolve(root, "..", `.verb-readme-${process.pid}`);

const env = {};
for (const [name, value] of Object.entries(process.env)) {
  if (/^npm_/i.test(name) || ["INIT_CWD", "NODE", "PORT", "VERB_ADAPTER", "REDIS_URL"].includes(name)) continue;
  env[name] = value;
}
env.PATH = (process.env.PATH ?? "")
  .split(":")
  .filter((dir) => dir !== "" && !dir.endsWith("/node_modules/.bin") && !dir.includes("@npmcli/run-script"))
  .join(":");
// The READMEs' `bun ...` lines assume Bun; the project's Bun is the clone's node_modules/.bin/bun
// (README: "Bun comes from node_modules/.bin/bun"). Offer it, after anything on PATH, and nothing else.
const bunOnPath = spawnSync("bash", ["-c", "command -v bun"], { env }).status === 0;
if (!bunOnPath) {
  symlinkSync(join(clone, "node_modules/.bin/bun"), join(binDir, "bun"));
  env.PATH = `${env.PATH}:${binDir}`;
}

// ---------------------------------------------------------------------------------------------

const children = new Set();
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const pgid of children) kill(pgid, "SIGKILL");
  if (keep) console.log(`[readme] kept ${clone}`);
  else rmSync(clone, { recursive: true, force: true });
  rmSync(tempDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

function kill(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (started) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port) {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once("error", () => resolvePromise(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolvePromise(false);
    });
  });
}

/** Resolves with a short description when the port answers as expected, else undefined. */
function probe({ port, kind }) {
  return new Promise((resolvePromise) => {
    if (kind === "redis") {
      const socket = connect({ host: "127.0.0.1", port });
      let reply = "";
      socket.setTimeout(1000);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.on("data", (chunk) => {
        reply += chunk;
        if (reply.includes("\r\n")) {
          socket.destroy();
          resolvePromise(reply.startsWith("+PONG") ? `Redis PONG on :${port}` : undefined);
        }
      });
      socket.once("error", () => resolvePromise(undefined));
      socket.once("timeout", () => {
        socket.destroy();
        resolvePromise(undefined);
      });
      return;
    }
    const req = request({ host: "127.0.0.1", port, path: "/", timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(`HTTP ${res.statusCode} on :${port}`);
    });
    req.once("error", () => resolvePromise(undefined));
    req.once("timeout", () => req.destroy());
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Reading the READMEs (from the clone: what is committed).

/** Removes a trailing comment (` # ...`); a `#` inside a word (`repo#v1`) is not one. */
const stripComment = (line) => line.replace(/(^|\s)#.*$/, "").trim();

/** The runnable units of one README: single commands, or whole blocks with background lines. */
function commandsOf(file) {
  const lines = readFileSync(join(clone, file), "utf8").split("\n");
  const units = [];
  let block;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```(\w*)\s*$/.exec(line);
    if (fence && block === undefined) {
      block = ["sh", "bash", "shell"].includes(fence[1]) ? [] : null;
      continue;
    }
    if (fence) {
      if (block) units.push(...unitsOf(file, block));
      block = undefined;
      continue;
    }
    if (block) block.push({ line: i + 1, text: line });
  }
  return units;
}

function unitsOf(file, block) {
  // Join `\` continuations; drop blank and comment-only lines.
  const commands = [];
  for (let i = 0; i < block.length; i++) {
    let { line, text } = block[i];
    while (text.endsWith("\\") && i + 1 < block.length) text = `${text.slice(0, -1)}\n${block[++i].text}`;
    if (stripComment(text) !== "") commands.push({ file, line, text });
  }
  // A block with background lines (`cmd &`) is one session: its lines run as one script.
  if (commands.some((c) => stripComment(c.text).endsWith("&"))) {
    return [{ file, line: commands[0].line, text: commands.map((c) => c.text).join("\n"), session: true }];
  }
  return commands;
}

/** The simple commands of a command line: [{ env: {NAME: value}, words: [...] }]. */
function segments(text) {
  return stripComment(text.split("\n").map(stripComment).join("\n"))
    .split(/&&|\|\||(?<![<>])&(?!>)|[;|\n]/)
    .map((part) => part.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0)
    .map((words) => {
      const assigned = {};
      while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
        const [name, ...value] = words.shift().split("=");
        assigned[name] = value.join("=");
      }
      return { env: assigned, words };
    });
}

/** The port an example program listens on by default: `process.env.PORT ?? N` in its source. */
function examplePort(script) {
  const name = /examples\/(?:dist\/)?([\w-]+)\.(?:js|ts)$/.exec(script)?.[1];
  const source = join(clone, "examples", `${name}.ts`);
  if (!name || !existsSync(source)) return undefined;
  const port = /process\.env\.PORT\s*\?\?\s*(\d+)/.exec(readFileSync(source, "utf8"))?.[1];
  return port === undefined ? undefined : Number(port);
}

const startScript = () => JSON.parse(readFileSync(join(clone, "package.json"), "utf8")).scripts?.start ?? "";

/** What a unit needs and, for servers, where it must answer. */
function analyse(unit) {
  const ports = [];
  const tools = new Set();
  let server = unit.session === true;
  let uws = false;
  let unknownPort;
  for (const { env: assigned, words } of segments(unit.text)) {
    // `npx <program>` runs the project's own copy of it (e.g. `npx bun`): classify it as that program.
    const viaNpx = words[0] === "npx" && /^[\w.-]+$/.test(words[1] ?? "");
    const [program, ...rest] = viaNpx ? words.slice(1) : words;
    // A program looked up on PATH (npx finds the project's own, from node_modules/.bin).
    if (viaNpx) tools.add("npx");
    else if (/^[\w.-]+$/.test(program)) tools.add(program);
    if (assigned.VERB_ADAPTER === "uws") uws = true;
    if (program === "redis-server") {
      const at = rest.indexOf("--port");
      ports.push({ port: at >= 0 ? Number(rest[at + 1]) : 6379, kind: "redis" });
      server = true;
      continue;
    }
    let script;
    if ((program === "node" || program === "bun") && /^examples\//.test(rest[0] ?? "")) script = rest[0];
    // `deno run [flags] examples/x.ts`: the first argument that is not a flag is the program.
    if (program === "deno" && rest[0] === "run") {
      const target = rest.slice(1).find((word) => !word.startsWith("-"));
      if (target !== undefined && /^examples\//.test(target)) script = target;
    }
    if (program === "npm" && (rest[0] === "start" || (rest[0] === "run" && rest[1] === "start"))) {
      script = /examples\/dist\/[\w-]+\.js/.exec(startScript())?.[0];
      if (script === undefined) unknownPort = "npm start";
    }
    if (script === undefined) continue;
    server = true;
    const port = assigned.PORT !== undefined ? Number(assigned.PORT) : examplePort(script);
    if (port === undefined) unknownPort = script;
    else ports.push({ port, kind: "http" });
  }
  return { server, ports, tools: [...tools], uws, unknownPort };
}

// ---------------------------------------------------------------------------------------------
// Running.

let logCounter = 0;

function start(unit) {
  const log = join(logDir, `${++logCounter}.log`);
  const fd = openSync(log, "w");
  const child = spawn("bash", ["-c", unit.text], { cwd: clone, env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  children.add(child.pid);
  const state = { child, log, exit: undefined };
  child.once("exit", (code, signal) => {
    state.exit = signal ?? code;
  });
  child.once("error", (error) => {
    state.exit = error.message;
  });
  return state;
}

async function stop(state, ports) {
  const pgid = state.child.pid;
  kill(pgid, "SIGTERM");
  const deadline = Date.now() + STOP_DEADLINE_S * 1000;
  let forced = false;
  for (;;) {
    const busy = [];
    for (const { port } of ports) if (await listening(port)) busy.push(port);
    if (!groupAlive(pgid) && busy.length === 0) break;
    if (Date.now() > deadline) {
      if (forced) {
        children.delete(pgid);
        return groupAlive(pgid) ? "its processes did not end" : `port ${busy.join(", ")} still in use after the stop`;
      }
      kill(pgid, "SIGKILL");
      forced = true;
    }
    await sleep(100);
  }
  children.delete(pgid);
  return undefined;
}

/** The end of a failed command's output, with every line that names a failure first (a long report hides them). */
function tail(log, lines = 25) {
  const all = (existsSync(log) ? readFileSync(log, "utf8").trimEnd() : "").split("\n");
  const failures = all.filter((line) => /\bFAIL\b|Error:/.test(line)).slice(0, 40);
  return [...failures, ...(failures.length > 0 ? ["..."] : []), ...all.slice(-lines)]
    .map((line) => `        | ${line}`)
    .join("\n");
}

/** Why a unit cannot run on this machine (a tool or uWebSockets.js missing), if so. */
function missing(needs) {
  for (const tool of needs.tools) {
    if (spawnSync("bash", ["-c", `command -v ${tool}`], { env }).status !== 0) {
      return tool === "bun" ? "`bun` is not on PATH and node_modules/.bin/bun is missing" : `\`${tool}\` is not on PATH`;
    }
  }
  if (needs.uws) {
    const result = spawnSync("node", ["-e", "require('uWebSockets.js')"], { cwd: clone, env, encoding: "utf8" });
    if (result.status !== 0) {
      const glibc = /GLIBC_[\d.]+/.exec(result.stderr)?.[0];
      return `uWebSockets.js cannot load here${glibc ? ` (needs ${glibc}: run with ../shared/glibc/node-glibc on PATH)` : ""}`;
    }
  }
  return undefined;
}

async function runUnit(unit, needs) {
  const started = Date.now();
  if (needs.unknownPort) return { status: "fail", detail: `cannot tell which port ${needs.unknownPort} listens on` };
  if (needs.server && needs.ports.length === 0) {
    return { status: "fail", detail: "starts servers but names no port to check: classify it in scripts/readme-commands.mjs" };
  }
  const cannot = missing(needs);
  if (cannot)
    return inCI ? { status: "fail", detail: `${cannot} (CI: nothing may be skipped)` } : { status: "skip", detail: cannot };

  if (!needs.server) {
    const state = start(unit);
    while (state.exit === undefined && Date.now() - started < COMMAND_DEADLINE_S * 1000) await sleep(100);
    const leftover = await stop(state, []);
    if (state.exit === undefined) return { status: "fail", detail: `no exit within ${COMMAND_DEADLINE_S} s`, log: state.log };
    if (state.exit !== 0) return { status: "fail", detail: `exit ${state.exit}`, log: state.log };
    if (leftover) return { status: "fail", detail: leftover, log: state.log };
    return { status: "ok", detail: "exit 0" };
  }

  // A server: its ports must be free first (another process answering would prove nothing).
  for (const { port } of needs.ports) {
    const waitUntil = Date.now() + 10_000;
    while ((await listening(port)) && Date.now() < waitUntil) await sleep(200);
    if (await listening(port)) {
      const detail = `port ${port} is already in use by another process`;
      return inCI ? { status: "fail", detail } : { status: "skip", detail };
    }
  }
  const state = start(unit);
  const answered = new Map();
  let failure;
  while (answered.size < needs.ports.length) {
    for (const target of needs.ports) {
      if (answered.has(target.port)) continue;
      const result = await probe(target);
      if (result) answered.set(target.port, result);
    }
    if (answered.size === needs.ports.length) break;
    const waiting = needs.ports.filter((p) => !answered.has(p.port)).map((p) => `:${p.port}`);
    // A session's bash ends once its background lines are started; a single command must not end.
    if (state.exit !== undefined && (!unit.session || state.exit !== 0 || !groupAlive(state.child.pid))) {
      failure = `exited (${state.exit}) before answering on ${waiting.join(", ")}`;
      break;
    }
    const deadline = unit.session ? SESSION_DEADLINE_S : SERVER_DEADLINE_S;
    if (Date.now() - started > deadline * 1000) {
      failure = `no answer on ${waiting.join(", ")} within ${deadline} s`;
      break;
    }
    await sleep(250);
  }
  const stopProblem = await stop(state, needs.ports);
  if (failure) return { status: "fail", detail: failure, log: state.log };
  if (stopProblem) return { status: "fail", detail: stopProblem, log: state.log };
  return { status: "ok", detail: `${[...answered.values()].join(", ")}; stopped, port free` };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const overall = Date.now();
  const git = spawnSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: root, encoding: "utf8" });
  if (git.error || git.status !== 0) {
    const reason = git.error ? "git is not installed" : `${root} has no commit ${ref} (not a git checkout?)`;
    if (inCI) throw new Error(`${reason}; CI needs a git checkout to clone`);
    console.log(`[readme] skipped: ${reason}, so there is no clean clone to run the READMEs' commands in`);
    return 0;
  }
  const sha = git.stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" }).stdout.trim();
  if (dirty && ref === "HEAD")
    console.log("[readme] note: uncommitted changes are not part of this run (it tests the committed HEAD)");

  let started = Date.now();
  const cloned = spawnSync("git", ["clone", "--quiet", "--no-checkout", root, clone], { encoding: "utf8" });
  const checkout =
    cloned.status === 0 && spawnSync("git", ["-C", clone, "checkout", "--quiet", "--detach", sha], { encoding: "utf8" });
  if (cloned.status !== 0 || checkout.status !== 0)
    throw new Error(`git clone failed: ${cloned.stderr}${checkout?.stderr ?? ""}`);
  console.log(`[readme] cloned ${sha.slice(0, 7)} into ${clone} (${seconds(started)})`);
  if (!bunOnPath)
    console.log("[readme] no `bun` on PATH: commands get the clone's node_modules/.bin/bun (after everything on PATH)");

  const manifest = JSON.parse(readFileSync(join(clone, "package.json"), "utf8"));
  const published = new Set();
  const readmes = ["README.md"];
  for (const dir of manifest.workspaces ?? []) {
    const pkg = JSON.parse(readFileSync(join(clone, dir, "package.json"), "utf8"));
    if (!pkg.private) published.add(pkg.name);
    if (existsSync(join(clone, dir, "README.md"))) readmes.push(`${dir}/README.md`);
  }

  const units = readmes.flatMap(commandsOf);
  const failures = [];
  const counts = {};
  const usedSkips = new Set();
  for (const unit of units) {
    const shown = unit.text.split("\n").map(stripComment).join(" ⏎ ");
    const where = `${unit.file}:${unit.line}`;
    const key = stripComment(unit.text).replace(/\s+/g, " ");
    started = Date.now();
    let result;
    if (!unit.session && SKIP.has(key)) {
      usedSkips.add(key);
      // A skipped install still has to name packages that exist here.
      const unknown = key.startsWith("npm install")
        ? key.split(" ").filter((word) => word.startsWith("@verb/") && !published.has(word))
        : [];
      result = unknown.length
        ? { status: "fail", detail: `names ${unknown.join(", ")}, which is not a published package of this repository` }
        : { status: "skip", detail: SKIP.get(key) };
    } else if (listOnly) {
      const needs = analyse(unit);
      const what = needs.server ? `server on ${needs.ports.map((p) => `:${p.port} ${p.kind}`).join(", ")}` : "must exit 0";
      result = {
        status: "run",
        detail: `${what}; needs ${[...needs.tools, ...(needs.uws ? ["uWebSockets.js"] : [])].join(", ")}`,
      };
    } else {
      result = await runUnit(unit, analyse(unit));
    }
    const time = result.status === "skip" || listOnly ? "" : `  ${seconds(started)}`;
    counts[result.status] = (counts[result.status] ?? 0) + 1;
    console.log(`[readme] ${result.status.padEnd(4)}  ${where}  ${shown}  (${result.detail})${time}`);
    if (result.status === "fail") {
      failures.push(`${where}  ${shown}`);
      if (result.log) console.log(tail(result.log));
    }
  }
  for (const key of SKIP.keys()) {
    if (!usedSkips.has(key)) {
      console.log(`[readme] fail  skip list: "${key}" is in no README any more: remove it from scripts/readme-commands.mjs`);
      failures.push(`stale skip entry "${key}"`);
    }
  }

  const tally = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  console.log(
    `[readme] ${units.length} commands from ${readmes.length} READMEs: ${tally.join(", ")}; ` +
      `${failures.length} failure(s) (${seconds(overall)} in all)`,
  );
  return failures.length === 0 ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (error) {
  console.error(`[readme] ${error instanceof Error ? error.message : error}`);
} finally {
  cleanup();
}
process.exit(status);
