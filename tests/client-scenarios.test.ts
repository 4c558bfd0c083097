/**
 * @verb/client against a real server process on every adapter (Bun, Node + ws, Node + uWS, Deno),
 * through a fault-injecting TCP proxy on loopback: messages arrive exactly once and in order
 * through random cuts, a dead path is noticed by the heartbeat and resumed, a restarted server is
 * a discontinuity (never silent loss), an auth failure stops after one token refresh, a shutdown
 * notice spreads reconnects over its window, the outbox keeps its bounds and policies, and
 * requests always settle. The server is tests/fixtures/client-scenario-server.mjs, driven over HTTP.
 */

import { existsSync } from "node:fs";
import {
  AbortError,
  type ClientOptions,
  ClosedError,
  createClient,
  type Discontinuity,
  DroppedError,
  type MessageDefinitions,
  TimeoutError,
  type VerbClient,
} from "@verb/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FAULTS, FaultProxy } from "./client-scenarios-proxy.js";
import {
  type AdapterName,
  DENO,
  engineOf,
  ROOT,
  type Running,
  runProcess,
  scriptCommand,
  skipReason,
} from "./helpers/runtimes.js";

type Adapter = AdapterName | "deno";
const ALL: readonly Adapter[] = ["bun", "node", "uws", "deno"];
const FIXTURE = `${ROOT}tests/fixtures/client-scenario-server.mjs`;
const inCI = process.env.CI === "true" || process.env.CI === "1";

/** The scenario sizes (the issue's figures by default). */
const MESSAGES = Number(process.env.SCENARIO_MESSAGES ?? 10_000);
const CUTS = 20;
const CLIENTS = Number(process.env.SCENARIO_CLIENTS ?? 500);

function skipFor(adapter: Adapter): string | undefined {
  if (adapter === "deno") return existsSync(DENO) || inCI ? undefined : "node_modules/deno/deno is missing (npm ci)";
  return skipReason(adapter);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A small seeded generator, so that a failing run's cuts can be replayed (the seed is in the test name). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A running scenario server. */
interface Fixture {
  running: Running;
  port: number;
  control<T = unknown>(path: string): Promise<T>;
}

async function startFixture(adapter: Adapter): Promise<Fixture> {
  const [command, args] = scriptCommand(adapter, FIXTURE);
  const running = await runProcess(
    command,
    args,
    { VERB_ADAPTER: adapter, PORT: "0" },
    /ready on \d+ \(adapter: [\w-]+\) \(runtime: \w+\)/,
    { adapter, timeoutMs: 30_000 },
  );
  const port = Number(/ready on (\d+)/.exec(running.output())?.[1]);
  const control = async <T>(path: string): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  // The adapter asked for is the one serving: by its own report, and by the process the kernel sees.
  const status = await control<{ adapter: string; runtime: string; pid: number }>("/control/status");
  expect(status.adapter).toBe(adapter);
  expect(status.runtime).toBe(adapter === "uws" ? "node" : adapter);
  expect(engineOf(running.child.pid as number)).toBe(adapter);
  return { running, port, control };
}

const clients: VerbClient<MessageDefinitions>[] = [];
function connect(url: string, options: ClientOptions<MessageDefinitions> = {}): VerbClient<MessageDefinitions> {
  const client = createClient(url, {
    WebSocket,
    reconnect: { initialDelay: 20, maxDelay: 100 },
    connectTimeout: 5000,
    requestTimeout: 5000,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Counts the client's `open` events and whether each resumed the session. */
function opens(client: VerbClient<MessageDefinitions>): boolean[] {
  const seen: boolean[] = [];
  client.on("open", (info) => seen.push(info.resumed));
  return seen;
}

/** Collects the numbered user (`u`) and topic (`t`) messages the fixture streams. */
function collect(client: VerbClient<MessageDefinitions>) {
  const got = { users: [] as number[], topics: [] as number[], gaps: [] as Discontinuity[] };
  client.on("message", (message) => {
    if (typeof message !== "object" || message === null) return;
    const value = message as { u?: number; t?: number };
    if (typeof value.u === "number") got.users.push(value.u);
    if (typeof value.t === "number") got.topics.push(value.t);
  });
  client.on("discontinuity", (gap) => got.gaps.push(gap));
  return got;
}

for (const adapter of ALL) {
  const reason = skipFor(adapter);
  describe.skipIf(reason !== undefined)(`@verb/client scenarios on ${adapter}${reason ? ` (skipped: ${reason})` : ""}`, () => {
    let fixture: Fixture;
    const extra: Running[] = [];
    const proxies: FaultProxy[] = [];
    const proxy = async (port = fixture.port) => {
      const started = await FaultProxy.start(port);
      proxies.push(started);
      return started;
    };

    beforeAll(async () => {
      fixture = await startFixture(adapter);
    }, 40_000);
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await Promise.all(proxies.splice(0).map((p) => p.close()));
      await Promise.all(extra.splice(0).map((r) => r.stop()));
    });
    afterAll(async () => {
      await fixture?.running.stop();
    });

    const seed = Number(process.env.SCENARIO_SEED ?? Math.floor(Math.random() * 2 ** 31));
    it(`${MESSAGES} user and ${MESSAGES} topic messages through ${CUTS} random faults arrive exactly once and in order (seed ${seed})`, async () => {
      const random = seeded(seed);
      const path = await proxy();
      const user = `user-flow-${adapter}`;
      const client = connect(path.url, { token: () => user });
      const got = collect(client);
      const opened = opens(client);
      await until(() => opened.length === 1, "the first open");
      await client.subscribe("ticks");
      const faults: string[] = [];
      const per = Math.ceil(MESSAGES / CUTS);
      for (let round = 0; round < CUTS; round++) {
        const count = Math.min(per, MESSAGES - round * per);
        const sending = fixture.control(`/control/stream?user=${user}&topic=ticks&count=${count}&batch=25&wait=1`);
        // The fault lands while the server is sending (it takes a few macrotasks for `count`).
        await sleep(Math.floor(random() * 15));
        const fault = FAULTS[Math.floor(random() * FAULTS.length)] as (typeof FAULTS)[number];
        faults.push(fault);
        const before = opened.length;
        await path.inject(fault);
        await sending;
        await until(() => opened.length > before && client.state === "open", `the reconnect after fault ${round} (${fault})`);
      }
      await until(
        () => got.users.length >= MESSAGES && got.topics.length >= MESSAGES,
        `all messages (users ${got.users.length}, topics ${got.topics.length})`,
        20_000,
      );
      await sleep(100);
      expect(got.gaps).toEqual([]);
      expect(got.users).toEqual(range(1, MESSAGES));
      expect(got.topics).toEqual(range(1, MESSAGES));
      expect(opened.length).toBeGreaterThanOrEqual(CUTS + 1);
      expect(opened.slice(1).every(Boolean)).toBe(true);
      expect(new Set(faults).size).toBeGreaterThan(1);
    }, 60_000);

    it("notices a pause longer than the heartbeat, reconnects and resumes what was sent into the dead path", async () => {
      const path = await proxy();
      const user = `user-pause-${adapter}`;
      const client = connect(path.url, { token: () => user, heartbeat: { interval: 200, grace: 200 } });
      const got = collect(client);
      const opened = opens(client);
      await until(() => opened.length === 1, "the first open");
      await fixture.control(`/control/stream?user=${user}&count=10&wait=1`);
      await until(() => got.users.length === 10, "the first ten");
      const states: string[] = [];
      client.on("state", (state, info) => states.push(`${state}:${info.reason}`));
      // The path goes dead (nothing arrives, no FIN, no RST) while the server keeps sending into it.
      path.pause();
      await fixture.control(`/control/stream?user=${user}&count=100&wait=1`);
      await until(() => opened.length === 2, "the resumed connection", 10_000);
      // "timeout" while open is the heartbeat's verdict (interval + grace without anything received): no FIN or RST came.
      expect(states[0]).toBe("reconnecting:timeout");
      expect(opened[1]).toBe(true);
      await until(() => got.users.length >= 110, "what was sent into the dead path");
      await sleep(50);
      expect(got.users).toEqual(range(1, 110));
      expect(got.gaps).toEqual([]);
    }, 30_000);

    it("reports a server restart (a new process, memory store) as a discontinuity on every stream, never as silent loss", async () => {
      const first = await startFixture(adapter);
      extra.push(first.running);
      const path = await proxy(first.port);
      const user = "user-restart";
      const client = connect(path.url, { token: () => user });
      const got = collect(client);
      const opened = opens(client);
      await until(() => opened.length === 1, "the first open");
      await client.subscribe("news");
      await first.control(`/control/stream?user=${user}&topic=news&count=50&wait=1`);
      await until(() => got.users.length === 50 && got.topics.length === 50, "the first fifty of each");
      // Sent by the first process but never delivered: gone with its memory.
      path.pause();
      await first.control(`/control/stream?user=${user}&topic=news&count=30&wait=1`);
      first.running.child.kill("SIGKILL");
      path.cut();
      const second = await startFixture(adapter);
      extra.push(second.running);
      path.target = second.port;
      await until(() => opened.length === 2, "the connection to the new process", 15_000);
      expect(opened[1]).toBe(false);
      // Every stream the client had a position in is reported: its own user stream and the topic from
      // 51 (what the first process sent into the dead path is gone with it), and the all-users
      // stream from 1 (nothing had come on it, but the new process cannot know that nothing was sent).
      const expected = [
        { stream: `verb:user:${user}`, from: 51, to: null, reason: "epoch" },
        { stream: "news", from: 51, to: null, reason: "epoch" },
        { stream: "verb:users", from: 1, to: null, reason: "epoch" },
      ];
      const sorted = () => [...got.gaps].sort((a, b) => a.stream.localeCompare(b.stream));
      await until(() => got.gaps.length >= expected.length, "a discontinuity on each stream");
      await sleep(50);
      expect(sorted()).toEqual(expected.sort((a, b) => a.stream.localeCompare(b.stream)));
      // The subscription was restored on the new process; its streams start again at 1.
      await second.control(`/control/stream?user=${user}&topic=news&count=5&wait=1`);
      await until(() => got.users.length === 55 && got.topics.length === 55, "the new process's messages");
      expect(got.users).toEqual([...range(1, 50), ...range(1, 5)]);
      expect(got.topics).toEqual([...range(1, 50), ...range(1, 5)]);
    }, 60_000);

    it("stops reconnecting after a 1008 and one token refresh", async () => {
      const path = await proxy();
      const calls: string[] = [];
      const client = connect(path.url, {
        token: () => {
          calls.push("bad-token");
          return "bad-token";
        },
      });
      const states: Array<[string, string | undefined, number | undefined]> = [];
      client.on("state", (state, info) => states.push([state, info.reason, info.code]));
      await until(() => client.state === "closed", "the stop");
      expect(calls).toHaveLength(2);
      const [state, why, code] = states.at(-1) ?? [];
      expect([state, why]).toEqual(["closed", "auth"]);
      // Deno closes the TCP connection right after its close frame without reading what the client
      // sent meanwhile (its hello), so the kernel answers with a reset that can discard the close
      // frame before it is read (seen in about 1 of 5 tries; raw clients that send nothing always
      // get 1008): the client still stops, on the auth notice that came before.
      if (adapter === "deno") expect([1008, 1006]).toContain(code);
      else expect(code).toBe(1008);
      const attempts = path.accepted.length;
      expect(attempts).toBe(2);
      // Bounded look for a third attempt that must not come (the reconnect delays are ≤ 100 ms here).
      await sleep(400);
      expect(calls).toHaveLength(2);
      expect(path.accepted).toHaveLength(attempts);
    }, 20_000);

    it(`spreads ${CLIENTS} clients' reconnects over the shutdown notice's window (no tenth gets a quarter)`, async () => {
      const closing = await startFixture(adapter);
      extra.push(closing.running);
      const standby = await startFixture(adapter);
      extra.push(standby.running);
      const path = await proxy(closing.port);
      // Wide enough that a stall of this busy test process (500 clients) does not bunch a tenth of it.
      const windowMs = 4000;
      const lost = new Map<number, { at: number; delay: number }>();
      const back = new Map<number, number>();
      const started = new Map<number, number[]>();
      const reasons: Array<string | undefined> = [];
      const many = Array.from({ length: CLIENTS }, (_, i) => {
        // The moment each client really starts an attempt: when it constructs its WebSocket.
        const attempts: number[] = [];
        started.set(i, attempts);
        const Recording = class extends WebSocket {
          constructor(...args: ConstructorParameters<typeof WebSocket>) {
            super(...args);
            attempts.push(Date.now());
          }
        };
        const client = connect(path.url, { heartbeat: false, WebSocket: Recording as unknown as typeof WebSocket });
        let first = true;
        client.on("open", () => {
          if (first) first = false;
          else if (!back.has(i)) back.set(i, Date.now());
        });
        client.on("state", (state, info) => {
          if (state === "reconnecting" && !lost.has(i)) {
            reasons.push(info.reason);
            lost.set(i, { at: Date.now(), delay: info.delay });
          }
        });
        return client;
      });
      await until(() => many.every((client) => client.state === "open"), "every client open", 30_000);
      path.target = standby.port;
      await closing.control(`/control/close?window=${windowMs}`);
      await until(() => back.size === CLIENTS, `every client back (${back.size})`, 30_000);
      expect(new Set(reasons)).toEqual(new Set(["shutdown"]));
      const tenth = windowMs / 10;
      const bins = (values: number[]) => {
        const counts = new Array<number>(10).fill(0);
        for (const value of values) {
          const bin = Math.min(9, Math.max(0, Math.floor(value / tenth)));
          counts[bin] = (counts[bin] ?? 0) + 1;
        }
        return counts;
      };
      // What the clients chose, and when each really started its reconnect, counted from its own
      // 1001 (the handshakes that follow, and the spread of the 1001s, only add the machine's load).
      const chosen = bins([...lost.values()].map((l) => l.delay));
      const arrived = bins(
        [...lost.entries()].map(([i, l]) => {
          const attempts = started.get(i) ?? [];
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          return (attempts[1] ?? 0) - l.at;
        }),
      );
      expect(path.accepted.length).toBeGreaterThanOrEqual(2 * CLIENTS);
      expect(Math.max(...chosen), `chosen ${chosen}`).toBeLessThanOrEqual(CLIENTS / 4);
      expect(Math.max(...arrived), `arrived ${arrived}`).toBeLessThanOrEqual(CLIENTS / 4);
      expect([...lost.values()].every((l) => l.delay >= 0 && l.delay <= windowMs)).toBe(true);
      const status = await standby.control<{ connections: number }>("/control/status");
      expect(status.connections).toBe(CLIENTS);
    }, 90_000);

    it("keeps the outbox within its bounds by policy while the server is unreachable, then delivers in order once", async () => {
      const path = await proxy();
      const make = (policy: "drop-oldest" | "drop-newest" | "reject") =>
        connect(path.url, { token: () => `user-outbox-${policy}`, outbox: { maxMessages: 3, policy } });
      const oldest = make("drop-oldest");
      const newest = make("drop-newest");
      const reject = make("reject");
      const all = [oldest, newest, reject];
      await until(() => all.every((client) => client.state === "open"), "three clients open");
      path.refusing = true;
      path.reset();
      await until(() => all.every((client) => client.state === "reconnecting"), "three clients away");
      expect(range(1, 5).map((i) => oldest.send(`m${i}`))).toEqual(["queued", "queued", "queued", "queued", "queued"]);
      expect(range(1, 5).map((i) => newest.send(`m${i}`))).toEqual(["queued", "queued", "queued", "dropped", "dropped"]);
      expect(range(1, 3).map((i) => reject.send(`m${i}`))).toEqual(["queued", "queued", "queued"]);
      expect(() => reject.send("m4")).toThrow(DroppedError);
      await expect(newest.request("echo", { value: 1 })).rejects.toBeInstanceOf(DroppedError);
      expect(oldest.send("volatile", { volatile: true })).toBe("dropped");
      expect(oldest.stats).toMatchObject({ outbox: 3, dropped: 3 });
      path.refusing = false;
      const received = (policy: string) => fixture.control<string[]>(`/control/received?user=user-outbox-${policy}`);
      const expected = { "drop-oldest": ["m3", "m4", "m5"], "drop-newest": ["m1", "m2", "m3"], reject: ["m1", "m2", "m3"] };
      const seen: Record<string, string[]> = {};
      await until(() => all.every((client) => client.state === "open"), "three clients back");
      const deadline = Date.now() + 10_000;
      for (const policy of Object.keys(expected)) {
        seen[policy] = await received(policy);
        while ((seen[policy]?.length ?? 0) < 3 && Date.now() < deadline) {
          await sleep(20);
          seen[policy] = await received(policy);
        }
      }
      // Nothing goes twice: a bounded look after they arrived.
      await sleep(100);
      for (const policy of Object.keys(expected)) seen[policy] = await received(policy);
      expect(seen).toEqual(expected);
    }, 30_000);

    it("settles every request: a reply through a cut (the handler ran once), timeout, abort, close, an unreachable server", async () => {
      const path = await proxy();
      const client = connect(path.url, { token: () => "user-requests" });
      await until(() => client.state === "open", "open");
      expect(await client.request("echo", { value: "hi" })).toEqual({ echo: "hi" });

      const runsBefore = (await fixture.control<{ slowRuns: number }>("/control/status")).slowRuns;
      const slow = client.request("slow", { ms: 300 });
      await until(() => path.connections > 0, "a connection");
      await sleep(80);
      path.cutMidFrame();
      expect(await slow).toBe("slow done");
      expect((await fixture.control<{ slowRuns: number }>("/control/status")).slowRuns).toBe(runsBefore + 1);

      await expect(client.request("never", {}, { timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
      const abort = new AbortController();
      const aborted = client.request("never", {}, { signal: abort.signal });
      setTimeout(() => abort.abort(), 50);
      await expect(aborted).rejects.toBeInstanceOf(AbortError);

      // The server cannot be reached at all: the request still ends, by its timeout.
      await until(() => client.state === "open", "open again");
      path.refusing = true;
      path.reset();
      await expect(client.request("echo", { value: 2 }, { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
      path.refusing = false;
      await until(() => client.state === "open", "open after the outage");

      const pending = expect(client.request("never", {}, { timeout: 10_000 })).rejects.toBeInstanceOf(ClosedError);
      await sleep(20);
      await client.close();
      await pending;
    }, 30_000);
  });
}
