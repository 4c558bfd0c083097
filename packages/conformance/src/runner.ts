/**
 * Runs the checks against adapters: starts the fixture in the adapter's runtime, runs every check
 * over real sockets with a bounded concurrency and a timeout each, and collects the results.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { allChecks } from "./checks/index.js";
import { RawClient } from "./clients/raw.js";
import { TestClient } from "./clients/ws-client.js";
import { ENGINE_DEVIATIONS } from "./deviations.js";
import type { Check, CheckContext, CheckOutcome, CheckResult, FixtureEvent } from "./types.js";

/** Built-in adapters and the runtime each needs. */
export const BUILT_IN_ADAPTERS: Record<string, Runtime> = { bun: "bun", node: "node", uws: "node", deno: "deno" };

/** The runtimes a fixture can run in. */
export type Runtime = "bun" | "node" | "deno";

/** Options of {@link runConformance}. */
export interface RunOptions {
  /** Adapters: `bun`, `node`, `uws`, `deno`, or a path to a module exporting a Verb adapter. */
  adapters: string[];
  /** Runtime for adapters given by path (default `node`). */
  runtime?: Runtime;
  /** Command that runs Node.js (default: this process's executable). E.g. `../shared/glibc/node-glibc`. */
  nodeCommand?: string;
  /**
   * Several Node.js commands (a runtime matrix): every adapter that runs on Node runs once on each,
   * one column per Node. Takes the place of `nodeCommand`.
   */
  nodeCommands?: string[];
  /** Command that runs Bun (default: `node_modules/.bin/bun` found from the working directory, else `bun`). */
  bunCommand?: string;
  /** Command that runs Deno (default: the binary of the `deno` npm package found from the working directory, else `deno`). */
  denoCommand?: string;
  /** Only checks whose id contains one of these strings. */
  only?: string[];
  /** Checks run at once per adapter (default 6). */
  concurrency?: number;
  /** In CI an adapter that cannot start fails its checks; elsewhere a uWS that cannot load is skipped (default: `process.env.CI`). */
  ci?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** The checks (default: all). */
  checks?: Check[];
}

interface Fixture {
  child: ChildProcess;
  /** The adapter the fixture reports it runs (`handle.adapter`). */
  adapter: string;
  /** The runtime and version it runs on. */
  runtime: string;
  ports: Record<string, number>;
  stderr: () => string;
  /** Set when the fixture process ended while checks were running. */
  exit?: string;
}

function findBun(): string {
  let dir = process.cwd();
  for (;;) {
    const candidate = join(dir, "node_modules", ".bin", "bun");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return "bun";
    dir = parent;
  }
}

/**
 * The Deno binary of the npm package `deno` (`node_modules/deno/deno`, linked by its install script,
 * else the platform package's own), spawned directly so that signals reach it; else `deno`.
 */
function findDeno(): string {
  const platform = `${process.platform === "win32" ? "win32" : process.platform}-${process.arch}`;
  const binary = process.platform === "win32" ? "deno.exe" : "deno";
  let dir = process.cwd();
  for (;;) {
    for (const candidate of [
      join(dir, "node_modules", "deno", binary),
      join(dir, "node_modules", "@deno", platform, binary),
      join(dir, "node_modules", "@deno", `${platform}-glibc`, binary),
    ]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return "deno";
    dir = parent;
  }
}

/** How each runtime runs the fixture: the memory checks read its memory after a full collection. */
function fixtureArgs(runtime: Runtime): string[] {
  if (runtime === "node") return ["--expose-gc", fixturePath()];
  // Deno resolves the workspace's node_modules from its package.json; the fixture reads the environment, files and the network.
  if (runtime === "deno") return ["run", "--allow-all", "--v8-flags=--expose-gc", fixturePath()];
  return [fixturePath()];
}

function fixturePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, "fixture.js");
}

/**
 * The runtime and version a command runs, as the fixture names it (`node 24.11.0`, `bun 1.4.5`,
 * `deno 2.9.6`), asked of the command itself so that a column is named even when its fixture
 * cannot start. Empty when the command does not run.
 */
function runtimeOf(command: string, runtime: Runtime): Promise<string> {
  const args = runtime === "node" ? ["-p", "process.versions.node"] : ["--version"];
  return new Promise((resolvePromise) => {
    execFile(command, args, { timeout: 15_000, encoding: "utf8" }, (error, stdout) => {
      if (error) return resolvePromise("");
      // `1.4.5` (bun), `deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)` (deno), `24.11.0` (node -p).
      const version = /\d+\.\d+\.\d+\S*/.exec(stdout)?.[0];
      resolvePromise(version === undefined ? "" : `${runtime} ${version}`);
    });
  });
}

function startFixture(command: string, runtime: Runtime, adapterSpecifier: string, timeoutMs = 30_000): Promise<Fixture> {
  return new Promise<Fixture>((resolvePromise, reject) => {
    const child = spawn(command, fixtureArgs(runtime), {
      env: { ...process.env, VERB_ADAPTER: adapterSpecifier },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fixture did not start within ${timeoutMs} ms. stderr: ${stderr.trim()}`));
    }, timeoutMs);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined) return;
      try {
        const ready = JSON.parse(line) as { ready: boolean; adapter: string; runtime: string; ports: Record<string, number> };
        if (!ready.ready) return;
        clearTimeout(timer);
        const fixture: Fixture = {
          child,
          adapter: ready.adapter,
          runtime: ready.runtime,
          ports: ready.ports,
          stderr: () => stderr,
        };
        child.once("exit", (code, signal) => {
          fixture.exit = `the fixture process exited (${signal ?? `code ${code}`}); stderr: ${stderr.trim().slice(-1500)}`;
        });
        resolvePromise(fixture);
      } catch {
        // partial line: wait for more
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${signal ?? `code ${code}`}) before it was ready. stderr: ${stderr.trim()}`));
    });
  });
}

async function stopFixture(fixture: Fixture): Promise<void> {
  if (fixture.child.exitCode !== null || fixture.child.signalCode !== null) return;
  fixture.exit = "stopped";
  const exited = new Promise<void>((resolvePromise) => fixture.child.once("exit", () => resolvePromise()));
  fixture.child.kill("SIGTERM");
  const timer = setTimeout(() => fixture.child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

let idCounter = 0;

function createContext(adapter: string, fixture: Fixture, cleanups: (() => void)[]): CheckContext {
  const port = (profile = "main"): number => {
    const value = fixture.ports[profile];
    if (value === undefined) throw new Error(`the fixture has no profile "${profile}"`);
    return value;
  };
  const events = async (id: string): Promise<FixtureEvent[]> => {
    const response = await fetch(`http://127.0.0.1:${port("main")}/__probe/events?id=${encodeURIComponent(id)}`);
    return (await response.json()) as FixtureEvent[];
  };
  const ctx: CheckContext = {
    adapter,
    port,
    id: () => `c${process.pid}-${++idCounter}-${Math.random().toString(36).slice(2, 8)}`,
    wsUrl: (profile, id, extraQuery) =>
      `ws://127.0.0.1:${port(profile)}/?id=${encodeURIComponent(id)}${extraQuery ? `&${extraQuery}` : ""}`,
    async open(profile, id, options = {}) {
      const { query, ...clientOptions } = options;
      const client = await TestClient.open(ctx.wsUrl(profile, id, query), clientOptions);
      cleanups.push(() => client.terminate());
      return client;
    },
    async raw(profile, id, options = {}) {
      const { query, ...rawOptions } = options;
      const client = await RawClient.connect(port(profile), {
        ...rawOptions,
        path: rawOptions.path ?? `/?id=${encodeURIComponent(id)}${query ? `&${query}` : ""}`,
      });
      cleanups.push(() => client.destroy());
      return client;
    },
    events,
    async waitEvent(id, predicate, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await events(id)).find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          const seen = (await events(id)).map((e) => e.type).join(", ");
          throw new Error(`the fixture did not record ${what} within ${timeoutMs} ms (recorded: ${seen || "nothing"})`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    http: (profile, path, init) => fetch(`http://127.0.0.1:${port(profile)}${path}`, init),
    defer: (cleanup) => cleanups.push(cleanup),
  };
  return ctx;
}

async function runCheck(check: Check, adapter: string, fixture: Fixture): Promise<CheckResult> {
  const started = Date.now();
  const cleanups: (() => void)[] = [];
  const ctx = createContext(adapter, fixture, cleanups);
  const timeoutMs = check.timeoutMs ?? 15_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const base = { id: check.id, title: check.title, category: check.category, adapter, runtime: fixture.runtime };
  try {
    const outcome = await Promise.race([
      check.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    const result = (outcome ?? { status: "pass" }) as CheckOutcome;
    return { ...base, status: result.status, detail: result.detail ?? "", ms: Date.now() - started };
  } catch (error) {
    let detail = error instanceof Error ? error.message : String(error);
    // fetch() says only "fetch failed": the reason (refused, reset, a timeout) is its cause.
    const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
    if (cause !== undefined && cause !== null) detail += ` (${String(cause.code ?? cause.message ?? cause)})`;
    if (fixture.exit !== undefined) detail += ` — ${fixture.exit}`;
    detail = detail.replace(/\s+/g, " ").trim();
    // A failure that is exactly what a documented deviation says this engine does (checks without an
    // observation of their own: what they report is what they observed).
    const documented = ENGINE_DEVIATIONS.find((d) => d.adapter === adapter && d.check === check.id && d.observed === detail);
    if (documented !== undefined) {
      return { ...base, status: "deviation", detail: `${detail} (${documented.why})`, ms: Date.now() - started };
    }
    return { ...base, status: "fail", detail, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // best effort
      }
    }
  }
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

function skipAll(
  checks: Check[],
  adapter: string,
  status: "skip" | "fail" | "absent",
  detail: string,
  runtime = "",
): CheckResult[] {
  return checks.map((check) => ({
    id: check.id,
    title: check.title,
    category: check.category,
    adapter,
    runtime,
    status,
    detail,
    ms: 0,
  }));
}

/**
 * Whether a startup failure means "this machine cannot load uWebSockets.js": its binary needs a
 * newer glibc, or has no build for this Node's ABI. Exactly those two messages of its loader; any
 * other failure (one of the adapter's own, say) fails the checks.
 */
function isUwsLoadFailure(message: string): boolean {
  return (
    /uws_linux_\w+\.node: .*GLIBC_2\.\d+' not found/.test(message) ||
    /This version of uWS\.js \(v[\d.]+\) supports only Node\.js versions/.test(message)
  );
}

/**
 * Why uWebSockets.js is absent by design on this Node, or undefined when it is not: its loader says
 * it has no binary for this Node's ABI, and its package indeed ships binaries for this platform but
 * none for that ABI (a binary missing from a broken install is a failure, not an absence).
 * E.g. `uWebSockets.js 20.57 has no binary for Node 26's ABI (147; it ships 115, 127, 137, 141)`.
 */
function uwsAbsence(message: string, runtime: string): string | undefined {
  const release = /This version of uWS\.js \(v(\d+\.\d+)[\d.]*\) supports only Node\.js versions/.exec(message)?.[1];
  const wanted = /Cannot find module '\.\/(uws_\w+?_\w+?)_(\d+)\.node'/.exec(message);
  const loader = /Require stack:\s*-\s*(\S+[\\/]uws\.js)/.exec(message)?.[1];
  if (release === undefined || wanted === null || loader === undefined) return undefined;
  const [, prefix, abi] = wanted as unknown as [string, string, string];
  let shipped: string[];
  try {
    shipped = readdirSync(dirname(loader))
      .map((file) => new RegExp(`^${prefix}_(\\d+)\\.node$`).exec(file)?.[1])
      .filter((found): found is string => found !== undefined)
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return undefined;
  }
  if (shipped.length === 0 || shipped.includes(abi)) return undefined;
  const major = /^node (\d+)\./.exec(runtime)?.[1];
  return `uWebSockets.js ${release} has no binary for ${major === undefined ? "this Node" : `Node ${major}`}'s ABI (${abi}; it ships ${shipped.join(", ")})`;
}

/**
 * Exclusive checks run alone across every adapter of a run: one adapter's at a time, and the shared
 * checks start once every adapter is through its exclusive ones (a busy machine would blur what
 * they observe).
 */
interface ExclusivePhase {
  /** Runs `work` when no other adapter's exclusive checks run. */
  turn(work: () => Promise<void>): Promise<void>;
  /** This adapter is through its exclusive checks (or has none to run); resolves when every adapter is. */
  through(): Promise<void>;
}

function exclusivePhase(adapters: number): ExclusivePhase {
  let queue = Promise.resolve();
  let waiting = adapters;
  let release = () => {};
  const everyone = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    turn(work) {
      const mine = queue.then(work);
      queue = mine.catch(() => {});
      return mine;
    },
    through() {
      if (--waiting <= 0) release();
      return everyone;
    },
  };
}

/** Runs the suite against one adapter. */
export function runAdapter(adapter: string, options: Omit<RunOptions, "adapters">): Promise<CheckResult[]> {
  return runAdapterIn(adapter, options, commandFor(adapter, options, options.nodeCommands?.[0]), exclusivePhase(1));
}

/** The runtime an adapter needs and the command that runs it. */
interface Launch {
  runtime: Runtime;
  command: string;
}

function commandFor(adapter: string, options: Omit<RunOptions, "adapters">, nodeCommand?: string): Launch {
  const runtime = BUILT_IN_ADAPTERS[adapter] ?? options.runtime ?? "node";
  const command =
    runtime === "bun"
      ? (options.bunCommand ?? findBun())
      : runtime === "deno"
        ? (options.denoCommand ?? findDeno())
        : (nodeCommand ?? options.nodeCommand ?? process.execPath);
  return { runtime, command };
}

async function runAdapterIn(
  adapter: string,
  options: Omit<RunOptions, "adapters">,
  launch: Launch,
  phase: ExclusivePhase,
): Promise<CheckResult[]> {
  let through: Promise<void> | undefined;
  const passThrough = () => {
    through ??= phase.through();
    return through;
  };
  try {
    return await runPhases(adapter, options, launch, phase.turn, passThrough);
  } finally {
    void passThrough();
  }
}

async function runPhases(
  adapter: string,
  options: Omit<RunOptions, "adapters">,
  { runtime, command }: Launch,
  turn: ExclusivePhase["turn"],
  passThrough: () => Promise<void>,
): Promise<CheckResult[]> {
  const log = options.log ?? (() => {});
  const ci = options.ci ?? (process.env.CI === "true" || process.env.CI === "1");
  let checks = options.checks ?? allChecks;
  if (options.only && options.only.length > 0) {
    const only = options.only;
    checks = checks.filter((check) => only.some((part) => check.id.includes(part)));
  }
  const builtIn = BUILT_IN_ADAPTERS[adapter];
  const specifier = builtIn !== undefined ? adapter : isAbsolute(adapter) ? adapter : resolve(adapter);
  // The column's name (`node 24.11.0 / uws`) from the start, so that every line of it says where it ran.
  const named = await runtimeOf(command, runtime);
  const label = named === "" ? adapter : `${named} / ${adapter}`;
  let fixture: Fixture;
  try {
    fixture = await startFixture(command, runtime, specifier);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const absent = adapter === "uws" ? uwsAbsence(message, named) : undefined;
    if (absent !== undefined) {
      log(`[${label}] absent: ${absent}`);
      return skipAll(checks, adapter, "absent", `absent: ${absent}`, named);
    }
    if (!ci && adapter === "uws" && isUwsLoadFailure(message)) {
      const glibc = /GLIBC_[\d.]+'? not found/.exec(message);
      const reason = glibc
        ? `needs glibc ${glibc[0].replace(/'? not found/, "").replace("GLIBC_", "")} or newer`
        : "its binary does not load";
      log(`[${label}] skipped: uWebSockets.js cannot load on this machine (${reason})`);
      return skipAll(checks, adapter, "skip", `uWebSockets.js cannot load on this machine: ${reason}`, named);
    }
    log(`[${label}] fixture failed to start: ${message}`);
    return skipAll(checks, adapter, "fail", `fixture failed to start: ${message.replace(/\s+/g, " ").slice(0, 2000)}`, named);
  }
  // A fixture that runs another adapter than the one asked for would fill this column with another engine's results.
  const expected = builtIn !== undefined ? adapter : undefined;
  if (expected !== undefined && fixture.adapter !== expected) {
    await stopFixture(fixture);
    const detail = `asked for adapter "${adapter}" but the fixture runs "${fixture.adapter}"`;
    log(`[${label}] ${detail}`);
    return skipAll(checks, adapter, "fail", detail, fixture.runtime);
  }
  const column = `${fixture.runtime} / ${adapter}`;
  log(
    `[${column}] fixture up (pid ${fixture.child.pid}, ${fixture.runtime} / ${fixture.adapter}), running ${checks.length} checks`,
  );
  const shared = checks.filter((c) => !c.exclusive);
  const ordered = [...shared.filter((c) => c.slow), ...shared.filter((c) => !c.slow)];
  const results = new Map<string, CheckResult>();
  const run = async (check: Check) => {
    const result = await runCheck(check, adapter, fixture);
    results.set(check.id, result);
    log(
      `[${column}] ${result.status.padEnd(9)} ${check.id} (${result.ms} ms)${result.status === "fail" ? ` — ${result.detail}` : ""}`,
    );
  };
  try {
    const exclusive = checks.filter((c) => c.exclusive);
    if (exclusive.length > 0) {
      await turn(async () => {
        for (const check of exclusive) await run(check);
      });
    }
    await passThrough();
    await pool(ordered, options.concurrency ?? 6, run);
  } finally {
    await stopFixture(fixture);
  }
  return checks.map((check) => results.get(check.id) as CheckResult);
}

/**
 * Runs the suite against every adapter (in parallel, one fixture process each; exclusive checks
 * alone). With several `nodeCommands`, every adapter that runs on Node runs once per Node, a column
 * per runtime × adapter, one Node after the other: the first Node's columns with the other runtimes'
 * adapters, then each further Node's. So a matrix loads the machine no more than a single run does,
 * and its timing checks stay as honest.
 */
export async function runConformance(options: RunOptions): Promise<CheckResult[]> {
  const nodes = options.nodeCommands !== undefined && options.nodeCommands.length > 0 ? options.nodeCommands : [undefined];
  const onNode = (adapter: string) => commandFor(adapter, options).runtime === "node";
  const waves = nodes.map((node, index) =>
    options.adapters
      .filter((adapter) => index === 0 || onNode(adapter))
      .map((adapter) => ({ adapter, launch: commandFor(adapter, options, node) })),
  );
  const byColumn = new Map<string, CheckResult[]>();
  for (const wave of waves) {
    const phase = exclusivePhase(wave.length);
    const results = await Promise.all(wave.map(({ adapter, launch }) => runAdapterIn(adapter, options, launch, phase)));
    for (const [i, { adapter, launch }] of wave.entries()) {
      byColumn.set(`${adapter}\u0000${launch.command}`, results[i] as CheckResult[]);
    }
  }
  // Report order: the adapters as asked, each over the Nodes as given.
  return options.adapters.flatMap((adapter) =>
    (onNode(adapter) ? nodes : [undefined]).flatMap(
      (node) => byColumn.get(`${adapter}\u0000${commandFor(adapter, options, node).command}`) ?? [],
    ),
  );
}
