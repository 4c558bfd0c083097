/**
 * Test helpers: run a script under each adapter (Bun from node_modules/.bin, Node, Node + uWS)
 * as a real process, and decide whether uWS can run here.
 *
 * The Node.js that runs the node and uws processes is this process's, unless chosen by the
 * environment (the Node LTS matrix of `npm test` runs these tests once per Node):
 *   VERB_TEST_NODE      the Node binary for node and uws processes;
 *   VERB_TEST_UWS_NODE  the Node binary for uws processes only (where VERB_TEST_NODE's Node has no
 *                       uWebSockets.js binary, a cluster still gets its uws instance from another Node).
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ADAPTERS = ["bun", "node", "uws"] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export const BUN = `${ROOT}node_modules/.bin/bun`;
export const DENO = `${ROOT}node_modules/deno/deno`;

/**
 * The command that runs `script` on an engine's runtime: Bun and Deno run it themselves (Deno with
 * every permission); node and uws run on this process's Node, which {@link runProcess} swaps for the
 * one chosen for that adapter.
 */
export function scriptCommand(engine: string, script: string): [string, string[]] {
  if (engine === "bun") return [BUN, [script]];
  if (engine === "deno") return [DENO, ["run", "--allow-all", script]];
  return [process.execPath, [script]];
}
const inCI = process.env.CI === "true" || process.env.CI === "1";

/** The Node.js binary that runs processes of a Node adapter (see the environment variables above). */
export function nodeFor(adapter: "node" | "uws"): string {
  const chosen = adapter === "uws" ? (process.env.VERB_TEST_UWS_NODE ?? process.env.VERB_TEST_NODE) : process.env.VERB_TEST_NODE;
  if (chosen === undefined || chosen === "") return process.execPath;
  if (!existsSync(chosen))
    throw new Error(`${adapter === "uws" ? "VERB_TEST_UWS_NODE" : "VERB_TEST_NODE"}=${chosen} does not exist`);
  return chosen;
}

let uwsAbsence: string | undefined | null = null;

/**
 * Why uWebSockets.js is absent by design on the Node that runs uws processes, or undefined: its
 * package ships binaries for this platform but none for that Node's ABI (e.g. uWebSockets.js 20.57
 * and Node 26). An absent engine is reported as such, also in CI; a binary that is there but does
 * not load is not an absence.
 */
export function uwsAbsent(): string | undefined {
  if (uwsAbsence !== null) return uwsAbsence;
  uwsAbsence = undefined;
  const probe = spawnSync(nodeFor("uws"), ["-p", "process.versions.node + ' ' + process.versions.modules"], { encoding: "utf8" });
  const [version, abi] = probe.stdout.trim().split(" ");
  const dir = `${ROOT}node_modules/uWebSockets.js/`;
  if (probe.status !== 0 || version === undefined || abi === undefined || !existsSync(dir)) return uwsAbsence;
  const prefix = `uws_${process.platform}_${process.arch}_`;
  const shipped = readdirSync(dir)
    .filter((file) => file.startsWith(prefix) && file.endsWith(".node"))
    .map((file) => file.slice(prefix.length, -".node".length))
    .sort((a, b) => Number(a) - Number(b));
  if (shipped.length === 0 || shipped.includes(abi)) return uwsAbsence;
  const release = (JSON.parse(readFileSync(`${dir}package.json`, "utf8")) as { version?: string }).version ?? "?";
  uwsAbsence = `uWebSockets.js ${release.split(".").slice(0, 2).join(".")} has no binary for Node ${version.split(".")[0]}'s ABI (${abi}; it ships ${shipped.join(", ")})`;
  return uwsAbsence;
}

let uwsCheck: string | undefined | null = null;

/** Undefined when uWS loads in the Node that runs uws processes; otherwise a one-line reason. */
export function uwsUnavailable(): string | undefined {
  if (uwsCheck !== null) return uwsCheck;
  const result = spawnSync(nodeFor("uws"), ["-e", "require('uWebSockets.js')"], { cwd: ROOT, encoding: "utf8" });
  if (result.status === 0) uwsCheck = undefined;
  else {
    const glibc = /GLIBC_[\d.]+/.exec(result.stderr);
    uwsCheck = glibc ? `uWebSockets.js needs ${glibc[0]} (run with ../shared/glibc/node-glibc)` : "uWebSockets.js does not load";
  }
  return uwsCheck;
}

/**
 * Whether tests for this adapter must be skipped here: never in CI, except an engine absent by
 * design (`absent: ...`, see {@link uwsAbsent}).
 */
export function skipReason(adapter: AdapterName): string | undefined {
  if (adapter === "bun" && !existsSync(BUN)) return inCI ? undefined : "node_modules/.bin/bun is missing (npm ci)";
  if (adapter === "uws") {
    const absent = uwsAbsent();
    if (absent !== undefined) return `absent: ${absent}`;
    const reason = uwsUnavailable();
    return inCI ? undefined : reason;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Which engine a process really loaded, for programs that do not print it (the spec's examples):
 * a Node process with uWebSockets.js has its native module mapped; Bun is its own executable.
 */
/**
 * Which engine a process runs, from the kernel's view of it: its executable, and whether
 * uWebSockets.js's native module is mapped ("bun", "deno", "uws" or "node"; "<runtime>+uws" when a
 * Bun or Deno process loaded uWS).
 */
export function engineOf(pid: number): string {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const uws = /uws_linux_\w+\.node/.test(readFileSync(`/proc/${pid}/maps`, "utf8"));
  if (/\/bun(\.exe)?$/.test(exe)) return uws ? "bun+uws" : "bun";
  if (/\/deno$/.test(exe)) return uws ? "deno+uws" : "deno";
  return uws ? "uws" : "node";
}

async function loadedEngine(child: ChildProcess, expected: string): Promise<string | undefined> {
  const read = (): string | undefined => {
    try {
      return engineOf(child.pid as number);
    } catch {
      return undefined;
    }
  };
  // Programs may print before they listen, and uWS loads at listen(): give it a moment to appear.
  const deadline = Date.now() + 3000;
  let engine = read();
  while (engine !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    engine = read();
  }
  return engine;
}

/** A running process with its combined output. */
export interface Running {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `examples/<name>` under an adapter: Bun runs the TypeScript source, Node the built JS.
 * Resolves once `ready` appears in the output.
 */
export function runExample(adapter: AdapterName, name: string, env: Record<string, string>, ready: RegExp): Promise<Running> {
  const command = adapter === "bun" ? BUN : nodeFor(adapter);
  const script = adapter === "bun" ? `${ROOT}examples/${name}.ts` : `${ROOT}examples/dist/${name}.js`;
  return runProcess(command, [script], { ...env, VERB_ADAPTER: adapter }, ready, { adapter });
}

/**
 * Runs a process until `ready` appears in its output. With `adapter`, the output must also say
 * `(adapter: <name>)` for that adapter: a process that picked another engine fails, never passes.
 * A command of this process's Node (`process.execPath`) with `adapter` node or uws runs on the
 * Node chosen for that adapter ({@link nodeFor}).
 */
export function runProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  { timeoutMs = 20_000, adapter }: { timeoutMs?: number; adapter?: string } = {},
): Promise<Running> {
  const binary = command === process.execPath && (adapter === "node" || adapter === "uws") ? nodeFor(adapter) : command;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const running: Running = {
      child,
      output: () => output,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const force = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(force);
      },
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        const named = /\(adapter: ([\w-]+)\)/.exec(output)?.[1];
        const serving = named !== undefined || adapter === undefined ? Promise.resolve(named) : loadedEngine(child, adapter);
        void serving.then((engine) => {
          if (adapter !== undefined && engine !== adapter) {
            child.kill("SIGKILL");
            reject(
              new Error(
                `asked for adapter "${adapter}" but the process runs "${engine ?? "an unknown engine"}"; output:\n${output}`,
              ),
            );
          } else resolve(running);
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready; output:\n${output}`));
    });
  });
}

/** Retries `attempt` until it resolves (the spec's examples log before the port is bound). */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
