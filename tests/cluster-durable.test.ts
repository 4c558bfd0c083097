/**
 * The durable backplane (`redisBackplane({ delivery: "durable" })`) under faults, on a real Redis
 * with an append-only file fsynced before every reply: a cluster of Bun, Node + ws, Node + uWS and
 * Deno instances, session clients (@verb/client) connected through loopback TCP proxies that move
 * them between instances. 10,000 messages per stream while (a) every client is moved 10 times,
 * (b) an instance is killed with SIGKILL and its clients reconnect elsewhere, (c) Redis is killed
 * and restarted on its append-only file: every client ends with exactly the messages of its streams, in order, once.
 * Also: presence forgets the killed instance's users within its bound, and while Redis is
 * unreachable `app.deliver` says whether the append was stored (instances run with
 * `appendTimeout` 8 s), losses counted in
 * `app.metrics().backplane`.
 */

import { existsSync } from "node:fs";
import { createServer as createTcpServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { createClient, type Discontinuity, type VerbClient } from "@verb/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type RedisServer, redisUnavailable, restartRedis, startRedis } from "./helpers/redis.js";
import { DENO, freePort, ROOT, type Running, runProcess, scriptCommand, skipReason } from "./helpers/runtimes.js";

const NAMES = ["bun", "node", "uws", "deno"] as const;
type Name = (typeof NAMES)[number];
const skip =
  redisUnavailable() ??
  (["bun", "node", "uws"] as const).map(skipReason).find((reason) => reason !== undefined) ??
  (existsSync(DENO) ? undefined : "node_modules/deno/deno is missing (npm ci)");

/** Messages per stream in each scenario. */
const COUNT = 10_000;
/** The publishes of a stream go out in this many parts, a fault or a move between parts. */
const PARTS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`);
}

/** A loopback TCP proxy in front of one instance at a time: `move` cuts the connections and points it at another. */
class MovingProxy {
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  target: number;
  /** Connections made through it. */
  connections = 0;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.target = target;
  }

  static async open(target: number): Promise<{ proxy: MovingProxy; port: number }> {
    let proxy: MovingProxy | undefined;
    const server = createTcpServer((inbound) => proxy?.accept(inbound));
    proxy = new MovingProxy(server, target);
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    return { proxy, port };
  }

  accept(inbound: Socket): void {
    this.connections++;
    const outbound = tcpConnect(this.target, "127.0.0.1");
    for (const socket of [inbound, outbound]) {
      this.#open.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.#open.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  /** Points at another instance and cuts what is open: the client reconnects, and lands there. */
  move(target: number): void {
    this.target = target;
    for (const socket of this.#open) socket.destroy();
  }

  close(): Promise<void> {
    for (const socket of this.#open) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** One session client behind its proxy, and everything it received per stream. */
interface Subscriber {
  label: string;
  client: VerbClient;
  proxy: MovingProxy;
  /** The instance its proxy points at. */
  at: Name;
  streams: string[];
  /** Per stream: the sequence numbers and the `i` of each message, in the order delivered. */
  got: Map<string, { seqs: number[]; values: number[] }>;
  gaps: Discontinuity[];
  /** Messages outside its streams, or not `{ i }`. */
  stray: unknown[];
}

describe.skipIf(skip !== undefined)(
  `Durable backplane under faults (bun + node + uws + deno)${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let redis: RedisServer;
    const ports = {} as Record<Name, number>;
    const running = {} as Record<Name, Running>;
    const live = new Set<Name>();
    const subscribers: Subscriber[] = [];
    const proxies: MovingProxy[] = [];

    async function startInstance(name: Name, extra: Record<string, string> = {}): Promise<void> {
      const port = await freePort();
      const script = `${ROOT}tests/fixtures/cluster-durable-instance.mjs`;
      const env = { NAME: name, PORT: String(port), REDIS_URL: redis.url, VERB_ADAPTER: name, APPEND_TIMEOUT: "8000", ...extra };
      const [command, args] = scriptCommand(name, script);
      const instance = await runProcess(command, args, env, /ready on/, { adapter: name, timeoutMs: 30_000 });
      // The ready line names the adapter the process really serves with: it must be the one asked for.
      expect(instance.output()).toContain(`(adapter: ${name}) delivery: durable`);
      running[name] = instance;
      ports[name] = port;
      live.add(name);
    }

    beforeAll(async () => {
      redis = await startRedis({ persistent: true });
      await Promise.all(NAMES.map((name) => startInstance(name)));
    }, 90_000);

    afterAll(async () => {
      await Promise.all(subscribers.map((s) => s.client.close()));
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(Object.values(running).map((instance) => instance.stop()));
      await redis?.process.stop();
    });

    async function http<T>(name: Name, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`http://127.0.0.1:${ports[name]}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await response.json()) as T;
    }

    const backplane = async (name: Name) =>
      (await http<{ backplane: { connected: boolean; published: number; lost: number; errors: number } }>(name, "/metrics"))
        .backplane;

    async function subscriber(label: string, at: Name, streams: string[], user: string): Promise<Subscriber> {
      const { proxy, port } = await MovingProxy.open(ports[at]);
      proxies.push(proxy);
      const client = createClient(`ws://127.0.0.1:${port}/?token=${user}&client=${label}`, {
        WebSocket,
        reconnect: { initialDelay: 20, maxDelay: 250 },
        connectTimeout: 5000,
        subscribeTimeout: 15_000,
      });
      const s: Subscriber = { label, client, proxy, at, streams, got: new Map(), gaps: [], stray: [] };
      for (const stream of streams) s.got.set(stream, { seqs: [], values: [] });
      client.on("message", (message, stream, seq) => {
        const record = stream === undefined ? undefined : s.got.get(stream);
        const i = (message as { i?: unknown }).i;
        if (record === undefined || typeof i !== "number") s.stray.push(message);
        else {
          record.seqs.push(seq);
          record.values.push(i);
        }
      });
      client.on("discontinuity", (gap) => s.gaps.push(gap));
      await Promise.all(streams.map((stream) => client.subscribe(stream)));
      subscribers.push(s);
      return s;
    }

    /** Publishes a stream's part `part` (messages `part·COUNT/PARTS` …) from `name`, and waits until all of it was appended. */
    async function publishPart(name: Name, topic: string, part: number): Promise<void> {
      const size = COUNT / PARTS;
      await http(name, "/burst", { topic, start: part * size, count: size, window: 16 });
      let state: { appended: number; failed: number; errors: string[]; done: boolean } | undefined;
      await until(
        async () => {
          const answer = await http<{ appended: number; failed: number; errors: string[]; done: boolean }>(
            name,
            `/burst?topic=${encodeURIComponent(topic)}`,
          );
          state = answer;
          return answer.done;
        },
        `${topic} part ${part} from ${name}`,
        40_000,
      );
      expect(state?.failed, `${topic} part ${part}: appends that failed (${state?.errors.join("; ")})`).toBe(0);
      expect(state?.appended).toBe(size);
    }

    /** Publishes `{ i }` for i = start … start + count - 1 from `name` and waits until all were appended. */
    async function publishRange(name: Name, topic: string, start: number, count: number): Promise<void> {
      await http(name, "/burst", { topic, start, count, window: 64 });
      await until(async () => (await http<{ done: boolean }>(name, `/burst?topic=${encodeURIComponent(topic)}`)).done, topic);
      const state = await http<{ appended: number; failed: number }>(name, `/burst?topic=${encodeURIComponent(topic)}`);
      expect(state).toMatchObject({ appended: count, failed: 0 });
    }

    /** Every subscriber ends with exactly its streams' messages: 0 … COUNT-1, in order, each once, numbered 1 … COUNT. */
    async function expectComplete(group: Subscriber[]): Promise<void> {
      const complete = (s: Subscriber) => [...s.got.values()].every((r) => r.values.length >= COUNT);
      await until(() => group.every(complete), "every subscriber has every message", 60_000).catch((error: Error) => {
        const counts = group.map((s) => {
          const streams = [...s.got.values()].map((r) => `${r.values.length} (last seq ${r.seqs.at(-1)})`).join(" / ");
          const { replays, duplicates, discontinuities, connects } = s.client.stats;
          return `${s.label}@${s.at}: ${streams}, ${JSON.stringify({ replays, duplicates, discontinuities, connects, state: s.client.state, cursors: s.client.cursors() })}`;
        });
        throw new Error(`${error.message} (${counts.join(", ")})`);
      });
      // Anything late (a duplicate) would arrive now.
      await sleep(300);
      const expected = Array.from({ length: COUNT }, (_, i) => i);
      for (const s of group) {
        for (const [stream, record] of s.got) {
          const first = record.seqs[0] ?? 1;
          expect(record.values, `${s.label} ${stream}: the messages, in order, once`).toEqual(expected);
          expect(record.seqs, `${s.label} ${stream}: consecutive numbers`).toEqual(expected.map((i) => first + i));
        }
        expect(s.gaps, `${s.label}: no discontinuity`).toEqual([]);
        expect(s.stray, `${s.label}: nothing else`).toEqual([]);
      }
    }

    const liveNames = () => NAMES.filter((name) => live.has(name));
    /** The next live instance after `from` (round robin). */
    const nextLive = (from: Name) => {
      const names = liveNames();
      return names[(names.indexOf(from) + 1) % names.length] as Name;
    };

    /** Three streams, each published from its own instance; six subscribers, two streams each, spread over the instances. */
    async function setUp(scenario: string, publishers: Name[], homes: Name[]) {
      const streams = [0, 1, 2].map((k) => `${scenario}-s${k}`);
      const group: Subscriber[] = [];
      for (let j = 0; j < 6; j++) {
        const mine = [streams[j % 3], streams[(j + 1) % 3]] as string[];
        group.push(await subscriber(`${scenario}-c${j}`, homes[j % homes.length] as Name, mine, `${scenario}-u${j}`));
      }
      const publishAll = (part: number) =>
        Promise.all(streams.map((stream, k) => publishPart(publishers[k % publishers.length] as Name, stream, part)));
      return { streams, group, publishAll };
    }

    /** Waits until a subscriber is open again on its current instance. */
    const reopened = (s: Subscriber) => until(() => s.client.state === "open", `${s.label} open again`, 20_000);

    // First, while the append-only file is small: Redis comes back within moments.
    it("Redis unreachable: app.deliver waits through a short outage and says when an append could not be stored; losses are counted", async () => {
      const topic = "outage";
      const s = await subscriber("outage-c", "uws", [topic], "outage-u");
      const from: Name = "bun";
      const before = await backplane(from);
      // Away for a moment (well within APPEND_TIMEOUT = 8 s, ioredis's reconnect backoff included): the append retries, then is stored.
      await redis.process.stop();
      const waiting = http<{ ok: boolean; seq?: number; error?: string }>(from, "/deliver", { topic, message: { i: 0 } });
      await sleep(1000);
      redis = await startRedis({ port: redis.port, persistent: true, dir: redis.dir });
      const stored = await waiting;
      expect(stored.ok, stored.error).toBe(true);
      expect(stored.seq).toBeGreaterThan(0);
      await until(() => (s.got.get(topic)?.values.length ?? 0) === 1, "the delivered message reaches the client");
      // Away for longer than APPEND_TIMEOUT: the caller is told, the loss is counted.
      await until(async () => (await backplane(from)).connected, "reconnected");
      await redis.process.stop();
      const failed = await http<{ ok: boolean; error?: string }>(from, "/deliver", { topic, message: { i: 1 } });
      expect(failed).toEqual({ ok: false, error: `Redis backplane (durable): the publish to "${topic}" could not be stored` });
      // A plain publish cannot answer: it returns at once, and its loss is counted.
      await http(from, "/publish", { topic, message: { i: 2 } });
      await until(async () => (await backplane(from)).lost >= before.lost + 2, "both losses counted", 15_000);
      redis = await startRedis({ port: redis.port, persistent: true, dir: redis.dir });
      await until(async () => (await backplane(from)).connected, "reconnected again");
      // What was never stored was never numbered: the stream goes on without a hole.
      const next = await http<{ ok: boolean; seq?: number }>(from, "/deliver", { topic, message: { i: 3 } });
      expect(next).toEqual({ ok: true, seq: (stored.seq as number) + 1 });
      await until(() => (s.got.get(topic)?.values.length ?? 0) === 2, "the next message reaches the client");
      expect(s.got.get(topic)?.values).toEqual([0, 3]);
      expect(s.gaps).toEqual([]);
    }, 60_000);

    it("(a) 10,000 messages per stream while every client is moved between instances 10 times", async () => {
      const { group, publishAll } = await setUp("moves", ["bun", "node", "deno"], liveNames());
      for (let part = 0; part < PARTS; part++) {
        const publishing = publishAll(part);
        // Mid-part: every client is cut off and lands on the next instance.
        await Promise.all(
          group.map(async (s) => {
            await reopened(s);
            s.at = nextLive(s.at);
            s.proxy.move(ports[s.at]);
          }),
        );
        await publishing;
      }
      await Promise.all(group.map(reopened));
      await expectComplete(group);
      for (const s of group) {
        expect(s.proxy.connections, `${s.label}: connections (the first and 10 moves)`).toBeGreaterThanOrEqual(PARTS + 1);
      }
    }, 120_000);

    it("(b) 10,000 messages per stream while an instance is killed (SIGKILL): its clients resume elsewhere, its users leave presence within 10 s", async () => {
      const victim: Name = "node";
      const { group, publishAll } = await setUp("kill", ["bun", "uws", "deno"], liveNames());
      const onVictim = group.filter((s) => s.at === victim);
      expect(onVictim.length).toBeGreaterThan(0);
      // A user only the victim holds (no reconnect): presence must forget it.
      const { proxy: direct, port } = await MovingProxy.open(ports[victim]);
      proxies.push(direct);
      const bystander = createClient(`ws://127.0.0.1:${port}/?token=kill-bystander&client=kill-bystander-c`, {
        WebSocket,
        reconnect: false,
      });
      await until(() => bystander.state === "open", "the bystander connected");
      const presence = () =>
        http<{ user: boolean; client: boolean }>("bun", "/presence?user=kill-bystander&client=kill-bystander-c");
      await until(async () => (await presence()).user, "the bystander online cluster-wide");
      let killedAt = 0;
      for (let part = 0; part < PARTS; part++) {
        const publishing = publishAll(part);
        if (part === 4) {
          running[victim].child.kill("SIGKILL");
          killedAt = Date.now();
          live.delete(victim);
          // Its clients' connections die with it; they come back through a proxy now pointing elsewhere.
          for (const s of onVictim) {
            s.at = nextLive("bun");
            s.proxy.move(ports[s.at]);
          }
        }
        await publishing;
      }
      await until(async () => !(await presence()).user, "the killed instance's user gone", 20_000);
      const gone = Date.now() - killedAt;
      expect(await presence()).toEqual({ user: false, client: false });
      expect(gone, "presence bound: 10 s expiry + one 2 s heartbeat (+ slack for a loaded machine)").toBeLessThan(14_000);
      await expectComplete(group);
      // The moved clients' users are online again, on the instances they moved to.
      const moved = await http<{ user: boolean }>("uws", `/presence?user=${onVictim[0]?.label.replace("-c", "-u")}`);
      expect(moved.user).toBe(true);
      await bystander.close();
    }, 120_000);

    it("(c) 10,000 messages per stream while Redis is killed (SIGKILL) and restarted on its append-only file", async () => {
      const { group, publishAll } = await setUp("redis", ["uws", "bun", "deno"], liveNames());
      const lostBefore = await Promise.all(liveNames().map(async (name) => (await backplane(name)).lost));
      for (let part = 0; part < PARTS; part++) {
        const publishing = publishAll(part);
        if (part === 3) {
          redis = await restartRedis(redis, { kill: true });
        }
        await publishing;
      }
      await expectComplete(group);
      const lostAfter = await Promise.all(liveNames().map(async (name) => (await backplane(name)).lost));
      expect(lostAfter, "appends retried through the restart: none lost").toEqual(lostBefore);
      for (const name of liveNames()) expect((await backplane(name)).connected, `${name} reconnected`).toBe(true);
    }, 120_000);

    it("a subscription confirmed is a position held: cut off right after subscribe() resolves, the client still gets every later message", async () => {
      const topics = ["confirm-a", "confirm-b", "confirm-c"];
      const s = await subscriber("confirm-c0", "deno", [], "confirm-u0");
      for (const topic of topics) s.got.set(topic, { seqs: [], values: [] });
      for (const [k, topic] of topics.entries()) {
        await s.client.subscribe(topic);
        // The very moment it resolved: its next connection must carry a cursor for the topic.
        expect(Object.keys(s.client.cursors()), `${topic}: a cursor once subscribed`).toContain(topic);
        s.at = liveNames()[k % liveNames().length] as Name;
        s.proxy.move(ports[s.at]);
        for (let i = 0; i < 5; i++)
          expect((await http<{ ok: boolean }>("bun", "/deliver", { topic, message: { i } })).ok).toBe(true);
      }
      await until(() => topics.every((topic) => s.got.get(topic)?.values.length === 5), "every message of every topic");
      for (const topic of topics) expect(s.got.get(topic)?.values, topic).toEqual([0, 1, 2, 3, 4]);
      expect(s.gaps).toEqual([]);
    });

    it("an instance whose log reader lags behind a client's cursor (SIGSTOPped while 5,000 were published) resumes it without a discontinuity or a repeat", async () => {
      const topic = "lag";
      const lagging: Name = "uws";
      const s = await subscriber("lag-c0", lagging, [topic], "lag-u0");
      const received = () => s.got.get(topic)?.values.length ?? 0;
      for (let i = 0; i < 5; i++)
        expect((await http<{ ok: boolean }>("bun", "/deliver", { topic, message: { i } })).ok).toBe(true);
      await until(() => received() === 5, "the first messages on the instance that will lag");
      s.at = "bun";
      s.proxy.move(ports.bun);
      await until(() => s.proxy.connections >= 2 && s.client.state === "open", "moved away");
      running[lagging].child.kill("SIGSTOP");
      try {
        await publishRange("bun", topic, 5, 5000);
        await until(() => received() === 5005, "the messages, on the instance that reads");
        // Back to the instance whose cache still ends at 5: it catches up in pages while the client says hello.
        s.at = lagging;
        s.proxy.move(ports[lagging]);
      } finally {
        running[lagging].child.kill("SIGCONT");
      }
      await until(() => s.proxy.connections >= 3 && s.client.state === "open", "back on the lagging instance");
      await publishRange("bun", topic, 5005, 5);
      await until(() => received() >= 5010, "every message");
      await sleep(300);
      expect(s.got.get(topic)?.values).toEqual(Array.from({ length: 5010 }, (_, i) => i));
      expect(s.gaps).toEqual([]);
    }, 60_000);
  },
);
