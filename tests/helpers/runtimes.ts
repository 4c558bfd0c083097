/**
 * Test helpers: run a script under each adapter (Bun from node_modules/.bin, Node, Node + uWS)
 * as a real process, and decide whether uWS can run here.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ADAPTERS = ["bun", "node", "uws"] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export const BUN = `${ROOT}node_modules/.bin/bun`;
const inCI = process.env.CI === "true" || process.env.CI === "1";

let uwsCheck: string | undefined | null = null;

/** Undefined when uWS loads in this Node; otherwise a one-line reason. */
export function uwsUnavailable(): string | undefined {
  if (uwsCheck !== null) return uwsCheck;
  const result = spawnSync(process.execPath, ["-e", "require('uWebSockets.js')"], { cwd: ROOT, encoding: "utf8" });
  if (result.status === 0) uwsCheck = undefined;
  else {
    const glibc = /GLIBC_[\d.]+/.exec(result.stderr);
    uwsCheck = glibc ? `uWebSockets.js needs ${glibc[0]} (run with ../shared/glibc/node-glibc)` : "uWebSockets.js does not load";
  }
  return uwsCheck;
}

/** Whether tests for this adapter must be skipped here (never in CI). */
export function skipReason(adapter: AdapterName): string | undefined {
  if (adapter === "bun" && !existsSync(BUN)) return inCI ? undefined : "node_modules/.bin/bun is missing (npm ci)";
  if (adapter === "uws") {
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
async function loadedEngine(child: ChildProcess, expected: string): Promise<string | undefined> {
  const read = (): string | undefined => {
    try {
      const maps = readFileSync(`/proc/${child.pid}/maps`, "utf8");
      if (/uws_linux_[\w]+\.node/.test(maps)) return "uws";
      if (/\/bun$/.test(readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0")[0] ?? "")) return "bun";
      return "node";
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
  const command = adapter === "bun" ? BUN : process.execPath;
  const script = adapter === "bun" ? `${ROOT}examples/${name}.ts` : `${ROOT}examples/dist/${name}.js`;
  return runProcess(command, [script], { ...env, VERB_ADAPTER: adapter }, ready, { adapter });
}

/**
 * Runs a process until `ready` appears in its output. With `adapter`, the output must also say
 * `(adapter: <name>)` for that adapter: a process that picked another engine fails, never passes.
 */
export function runProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  { timeoutMs = 20_000, adapter }: { timeoutMs?: number; adapter?: string } = {},
): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
