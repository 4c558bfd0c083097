/**
 * The conformance fixture: one application written against @verb/core only, started in the
 * adapter's runtime (`VERB_ADAPTER` chooses the adapter). It serves several "profiles" — the
 * same hooks under different limits — each on its own port, records what its hooks see, and
 * exposes those records over HTTP so checks can compare the server's view with the client's.
 *
 * Protocol (text messages starting with "cmd:" followed by JSON are commands; anything else echoes):
 *   {"op":"close","code":4001,"reason":"bye"} · {"op":"terminate"} · {"op":"throw"} · {"op":"reject"}
 *   {"op":"ping","data":"abc"} · {"op":"info"} · {"op":"send","count":N,"size":S,"binary":true}
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  type Backplane,
  createServer,
  MemoryOfflineStore,
  type OfflineStore,
  type ServerHandle,
  type VerbApp,
  type VerbSocket,
  type WebSocketOptions,
} from "@verb/core";
import { createFileRoot, httpRoutes } from "./fixture-http.js";
import { type RealtimeData, realtimeRoutes } from "./fixture-realtime.js";
import { type SessionData, sessionRoutes } from "./fixture-session.js";
import { TimerLateness } from "./lateness.js";

/** What the fixture records per connection id. */
export interface FixtureEvent {
  type: string;
  [key: string]: unknown;
}

type Data = { id: string };

const events = new Map<string, FixtureEvent[]>();
/** The socket object each connection id got in `open`, to prove every hook sees the same one. */
const socketOf = new Map<string, VerbSocket<Data>>();
/** Binary messages kept past their hook, sent back later (the engine must not reuse their memory). */
const kept = new Map<string, Buffer[]>();

/**
 * How late this process's timers ran: the timing checks allow a deadline to be missed by as much
 * as the process was starved (a loaded machine), never more, so a late engine still fails.
 */
const lateness = new TimerLateness();

function record(id: string, event: FixtureEvent, ws?: VerbSocket<Data>): void {
  if (ws !== undefined) event.sameSocket = socketOf.get(id) === ws;
  let list = events.get(id);
  if (list === undefined) {
    list = [];
    events.set(id, list);
  }
  list.push({ ...event, at: Date.now() });
}

/** The process's memory after a full garbage collection (Node runs the fixture with --expose-gc). */
function memoryAfterGc(): { rss: number; heapUsed: number } {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) bun.gc(true);
  else (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Blocks the thread (so writes that are not batched leave one by one). */
function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

function idOf(ws: VerbSocket<Data>): string {
  return ws.data.id;
}

function describeMessage(message: string | Buffer): FixtureEvent {
  if (typeof message === "string") return { type: "message", kind: "string", length: message.length };
  return { type: "message", kind: "binary", isBuffer: Buffer.isBuffer(message), length: message.length };
}

async function runCommand(ws: VerbSocket<Data>, command: Record<string, unknown>, app: VerbApp<Data>): Promise<void> {
  switch (command.op) {
    case "work": {
      const seq = command.seq as number;
      record(idOf(ws), { type: "work-start", seq });
      await sleep((command.ms as number | undefined) ?? 10);
      record(idOf(ws), { type: "work-end", seq });
      ws.send(`done:${seq}`);
      return;
    }
    case "registered":
      ws.send(`registered?:${app.clients.getClient(command.clientId as string) !== undefined}`);
      return;
    case "register":
      app.clients.addClient(ws, command.clientId as string);
      ws.send(`registered:${String(command.clientId)}`);
      return;
    case "sendTo": {
      const statuses: string[] = [];
      const count = (command.count as number | undefined) ?? 1;
      for (let i = 0; i < count; i++)
        statuses.push(app.clients.sendTo(command.clientId as string, `${String(command.data)}${i}`));
      record(idOf(ws), { type: "sendTo", statuses });
      ws.send("sentTo");
      return;
    }
    case "token":
      ws.send(`token:${await app.clients.resumeToken(command.clientId as string)}`);
      return;
    case "resume": {
      const client = await app.clients.resume(ws, command.token as string);
      ws.send(`resumed:${client?.id ?? "none"}`);
      return;
    }
    case "close":
      ws.close(command.code as number | undefined, command.reason as string | undefined);
      return;
    case "close-terminate":
      // Two ways to end at once: the first wins, the close hook runs once.
      ws.close(4006, "first");
      ws.terminate();
      return;
    case "close-twice":
      ws.close(4007, "once");
      ws.close(4008, "twice");
      return;
    case "interleave": {
      // Sends, publishes and a close in one callback: each subscriber sees them in this order.
      const topic = command.topic as string;
      ws.send("i1");
      app.publish(topic, "i2");
      ws.send("i3");
      app.publish(topic, "i4");
      ws.close(4005, "after");
      return;
    }
    case "terminate":
      ws.terminate();
      record(idOf(ws), { type: "terminated", readyState: ws.readyState, send: ws.send("after terminate") });
      return;
    case "async-error-listener":
      // A listener that rejects: its failure must be logged, never crash the server.
      ws.on("error", async (error) => {
        record(idOf(ws), { type: "error-listener", message: error.message });
        throw new Error("failure inside an async error listener");
      });
      ws.send("listening");
      return;
    case "throw":
      throw new Error("sync failure from the message hook");
    case "reject":
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error("async failure from the message hook");
    case "ping":
      record(idOf(ws), { type: "pinged", status: ws.ping(command.data as string | undefined) });
      return;
    case "ping-limits": {
      // 125 bytes is the most a ping holds; over it ping() throws; after close() it is "dropped".
      const outcome = (fn: () => string) => {
        try {
          return fn();
        } catch (error) {
          return `${(error as Error).name}`;
        }
      };
      const limits = {
        max: outcome(() => ws.ping(Buffer.alloc(125, 0x6d))),
        over: outcome(() => ws.ping(Buffer.alloc(126, 0x6d))),
        overText: outcome(() => ws.ping("o".repeat(126))),
        closed: "",
      };
      ws.close(4010, "ping limits");
      limits.closed = outcome(() => ws.ping("after close"));
      record(idOf(ws), { type: "ping-limits", ...limits });
      return;
    }
    case "keep-later":
      // Echo the kept binary message after the hook returned and other messages went by.
      setTimeout(
        () => {
          for (const message of kept.get(idOf(ws)) ?? []) ws.send(message);
          kept.delete(idOf(ws));
        },
        (command.delay as number | undefined) ?? 50,
      );
      return;
    case "subscribe":
      ws.subscribe(command.topic as string);
      ws.send(`subscribed:${String(command.topic)}`);
      return;
    case "unsubscribe":
      ws.unsubscribe(command.topic as string);
      ws.send(`unsubscribed:${String(command.topic)}`);
      return;
    case "publish-reuse": {
      // The application reuses its buffer right after publishing: subscribers get what was published.
      const buffer = Buffer.from("original");
      app.publish(command.topic as string, buffer);
      buffer.write("CHANGED!");
      return;
    }
    case "topics":
      ws.send(JSON.stringify({ topics: ws.topics, isSubscribed: ws.isSubscribed(command.topic as string) }));
      return;
    case "publish": {
      const count = (command.count as number | undefined) ?? 1;
      const size = command.size as number | undefined;
      const results: boolean[] = [];
      for (let i = 0; i < count; i++) {
        const data =
          size !== undefined
            ? command.binary
              ? Buffer.alloc(size, 0x70)
              : "p".repeat(size)
            : `${String(command.data)}${count > 1 ? i : ""}`;
        results.push(ws.publish(command.topic as string, data));
      }
      record(idOf(ws), { type: "published", results });
      return;
    }
    case "info":
      ws.send(
        JSON.stringify({
          url: ws.request.url,
          path: ws.request.path,
          query: ws.request.query,
          headers: ws.request.headers,
          remoteAddress: ws.remoteAddress,
          protocol: ws.protocol,
          extensions: ws.extensions,
          readyState: ws.readyState,
        }),
      );
      return;
    case "send": {
      const count = (command.count as number | undefined) ?? 1;
      const size = (command.size as number | undefined) ?? 16;
      const payload = command.binary ? Buffer.alloc(size, 0x61) : "a".repeat(size);
      const options = command.compress === undefined ? undefined : { compress: command.compress as boolean };
      // One letter per send: s(ent), b(uffered), d(ropped); plus the largest buffered amount seen.
      let statuses = "";
      let maxBuffered = 0;
      for (let i = 0; i < count; i++) {
        statuses += ws.send(payload, options)[0];
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      }
      record(idOf(ws), { type: "sent", statuses, maxBuffered, readyState: ws.readyState });
      return;
    }
    case "flood": {
      // Sends `size`-byte messages until the first is dropped (at most `max`): what a reader that stopped costs.
      const payload = "f".repeat((command.size as number | undefined) ?? 32);
      const max = (command.max as number | undefined) ?? 2_000_000;
      let accepted = 0;
      while (accepted < max && ws.send(payload) !== "dropped") accepted++;
      record(idOf(ws), { type: "flooded", accepted, bufferedAmount: ws.bufferedAmount });
      return;
    }
    case "memory":
      ws.send(JSON.stringify(memoryAfterGc()));
      return;
    case "send-types": {
      const bytes = new Uint8Array([1, 2, 3, 4]);
      ws.send(bytes);
      ws.send(new DataView(bytes.buffer, 1, 2));
      ws.send(new Float32Array([1.5]));
      ws.send(bytes.buffer);
      ws.send("text");
      ws.send(Buffer.from("forced text"), { binary: false });
      ws.send("forced binary", { binary: true });
      // Options that say nothing of the frame type leave it to the data's type.
      ws.send(bytes, { compress: false });
      ws.send("still text", { compress: false });
      return;
    }
    case "close-then-send": {
      ws.close(4004, "closing");
      let status: string;
      try {
        status = ws.send("after close");
      } catch (error) {
        status = `threw ${(error as Error).message}`;
      }
      record(idOf(ws), { type: "after-close", status, readyState: ws.readyState });
      return;
    }
    case "close-invalid": {
      const outcomes: Record<string, string> = {};
      for (const code of command.codes as number[]) {
        try {
          ws.close(code);
          outcomes[code] = "accepted";
        } catch (error) {
          outcomes[code] = `${(error as Error).name}: ${(error as Error).message}`;
        }
      }
      if (command.badReason !== undefined) {
        try {
          ws.close(1000, command.badReason as string);
          outcomes.reason = "accepted";
        } catch (error) {
          outcomes.reason = `${(error as Error).name}: ${(error as Error).message}`;
        }
      }
      ws.send(JSON.stringify(outcomes));
      return;
    }
    case "cork": {
      // From a timer (outside any engine callback, where engines may batch on their own), with
      // time between the sends: only a real cork puts them in one write.
      const corked = command.corked !== false;
      setTimeout(() => {
        const sends = () => {
          ws.send("c1");
          busyWait(25);
          ws.send("c2");
          busyWait(25);
          ws.send("c3");
          return 42;
        };
        const result = corked ? ws.cork(sends) : sends();
        ws.send(`cork-result:${String(result)}`);
      }, 5);
      return;
    }
    case "tick": {
      // Server-to-client traffic only: must not count as activity for the idle timeout.
      const timer = setInterval(
        () => {
          if (ws.readyState !== 1) clearInterval(timer);
          else ws.send("tick");
        },
        (command.every as number | undefined) ?? 300,
      );
      return;
    }
    default:
      ws.send(`unknown command ${String(command.op)}`);
  }
}

/**
 * The "failing" profile: `?fail=<hook>-throw|reject` makes that hook fail after it did its work,
 * `?listen=<event>-throw|reject` attaches a per-socket listener that fails the same way.
 */
function failing(options: WebSocketOptions<Data>): WebSocketOptions<Data> {
  const wrap =
    <A extends unknown[]>(name: string, hook: ((ws: VerbSocket<Data>, ...args: A) => unknown) | undefined) =>
    (ws: VerbSocket<Data>, ...args: A): unknown => {
      const result = hook?.(ws, ...args);
      const fail = ws.request.query.fail;
      if (fail === `${name}-throw`) throw new Error(`the ${name} hook threw`);
      if (fail === `${name}-reject`)
        return Promise.resolve(result).then(() => Promise.reject(new Error(`the ${name} hook rejected`)));
      return result;
    };
  const open = wrap("open", options.open);
  return {
    ...options,
    open(ws) {
      const listen = ws.request.query.listen;
      if (listen !== undefined) {
        const [event, how] = listen.split("-") as ["message" | "close" | "ping" | "pong" | "drain", string];
        ws.on(event, () => {
          if (how === "throw") throw new Error(`the ${event} listener threw`);
          return Promise.reject(new Error(`the ${event} listener rejected`));
        });
      }
      return open(ws);
    },
    message: wrap("message", options.message),
    close: wrap("close", options.close),
    ping: wrap("ping", options.ping),
    pong: wrap("pong", options.pong),
    drain: wrap("drain", options.drain),
  };
}

function hooks(profile: string, app: VerbApp<Data>): WebSocketOptions<Data> {
  const all = profileHooks(profile, app);
  return profile === "failing" ? failing(all) : all;
}

function profileHooks(profile: string, app: VerbApp<Data>): WebSocketOptions<Data> {
  return {
    open(ws) {
      const id = ws.request.query.id ?? `anon-${Math.random().toString(36).slice(2)}`;
      ws.data = { id };
      socketOf.set(id, ws);
      record(id, { type: "open", profile }, ws);
      const greet = () => {
        if (ws.request.query.silent === undefined) ws.send(`welcome:${id}`);
      };
      if (profile !== "asyncopen") return greet();
      // An async open: messages that arrive meanwhile must wait, in order.
      return sleep(150).then(() => {
        record(id, { type: "open-done" });
        greet();
      });
    },
    message(ws, message) {
      const id = idOf(ws);
      record(id, describeMessage(message), ws);
      if (typeof message !== "string" && ws.request.query.keep !== undefined) {
        const list = kept.get(id) ?? [];
        if (list.length < 256) list.push(message);
        kept.set(id, list);
        return;
      }
      if (typeof message === "string" && message.startsWith("cmd:")) {
        return runCommand(ws, JSON.parse(message.slice(4)) as Record<string, unknown>, app);
      }
      ws.send(message);
    },
    close(ws, code, reason) {
      record(idOf(ws), { type: "close", code, reason, sendInClose: ws.send("too late"), readyState: ws.readyState }, ws);
      socketOf.delete(idOf(ws));
    },
    error(ws, error) {
      record(idOf(ws), { type: "error", message: error.message }, ws);
    },
    ping(ws, data) {
      record(idOf(ws), { type: "ping", data: data.toString("utf8"), isBuffer: Buffer.isBuffer(data) }, ws);
    },
    pong(ws, data) {
      record(idOf(ws), { type: "pong", data: data.toString("utf8"), isBuffer: Buffer.isBuffer(data) }, ws);
    },
    drain(ws) {
      record(idOf(ws), { type: "drain", bufferedAmount: ws.bufferedAmount });
    },
  };
}

/** An offline store that answers `take` late, as a remote store may: the client can leave meanwhile. */
function slowTakeStore(): OfflineStore {
  const inner = new MemoryOfflineStore();
  return {
    enqueue: (clientId, message, bounds) => inner.enqueue(clientId, message, bounds),
    take: (clientId, bounds) => {
      const taken = inner.take(clientId, bounds);
      return sleep(300).then(() => taken);
    },
    depth: (clientId) => inner.depth(clientId),
    issueToken: (clientId, ttlMs) => inner.issueToken(clientId, ttlMs),
    resolveToken: (token) => inner.resolveToken(token),
    totalDepth: () => inner.totalDepth(),
  };
}

/** Upgrades decided slowly: `?hang=<ms>` delays the upgrade hook, `?token=<ms>` the authentication. */
function slowDecisions(): Partial<WebSocketOptions<Data>> {
  return {
    maxConnectionsPerIp: 4,
    upgradeTimeout: 1,
    // `?token=<ms>`: authentication that takes that long (a slow identity provider).
    auth: {
      optional: true,
      verifyToken: async (token, request) => {
        await sleep(Number(token));
        record(request.query.id ?? "", { type: "verified" });
        return { id: `user-${token}` };
      },
    },
    upgrade: async (request) => {
      const hang = Number(request.query.hang ?? "0");
      if (hang > 0) {
        await sleep(hang);
        record(request.query.id ?? "", { type: "upgrade-settled" });
      }
    },
  };
}

/** The profiles: name → limits. Every profile runs the same hooks. */
export const PROFILES: Record<string, Partial<WebSocketOptions<Data>>> = {
  main: {},
  shutdown: {},
  shutdown2: {},
  limits: { maxPayloadLength: 1024, compression: "shared" },
  bp: { maxBackpressure: 1024 * 1024 },
  bpclose: { maxBackpressure: 1024 * 1024, closeOnBackpressureLimit: true },
  shared: { compression: "shared" },
  dedicated: { compression: "dedicated" },
  idle: { idleTimeout: 2 },
  idlenopings: { idleTimeout: 2, sendPings: false },
  lifetime: { maxLifetime: 0.05 },
  admit: { maxConnections: 3 },
  admitslots: { maxConnections: 3 },
  admitasync: {
    maxConnections: 2,
    upgrade: async () => {
      await sleep(50);
    },
  },
  admitclose: { maxConnections: 2, onOverload: "close" },
  admitroute: { maxConnections: 2 },
  perip: { maxConnectionsPerIp: 2 },
  ratelimit: { rateLimit: { messages: 5, per: 1 } },
  ratelimitclose: { rateLimit: { messages: 3, per: 1, onExceed: "close" } },
  heartbeat: { heartbeat: { interval: 0.5 } },
  health: { healthCheck: { interval: 1, timeout: 0.5 } },
  asyncopen: {},
  concurrent: { concurrency: 3 },
  queue: { offlineQueue: { maxMessages: 5, ttl: 2 } },
  queueslow: { offlineQueue: { maxMessages: 5, ttl: 10, store: slowTakeStore() } },
  metrics: {},
  shutdown3: {},
  // Upgrades decided slowly (`?hang=ms` delays the hook): a deadline, and slots held meanwhile.
  deciding: slowDecisions(),
  deadline: slowDecisions(),
  // A hook that tries to set handshake headers itself (`?set=<name>`).
  hookheaders: {
    upgrade: (request) => (request.query.set ? { headers: { [request.query.set]: "x", "x-allowed": "yes" } } : undefined),
  },
  bpshared: { compression: "shared", maxBackpressure: 64 * 1024 },
  bpdedicated: { compression: "dedicated", maxBackpressure: 64 * 1024 },
  backplane: {},
  pingflood: { maxBackpressure: 256 * 1024 },
  failing: { maxBackpressure: 64 * 1024 },
  closeonce: { idleTimeout: 2, sendPings: false, maxBackpressure: 1024 * 1024, closeOnBackpressureLimit: true },
  shutdown4: {},
  shutdown5: {},
  slowmem: { maxBackpressure: 8 * 1024 * 1024 },
  fragments: {},
};

/**
 * A backplane driver that fails: synchronously for topics starting with "throw", by rejecting for
 * topics starting with "reject". Core must contain both the same way (counted, never raised).
 */
function failingBackplane(): Backplane {
  const fail = (topic: string): Promise<number> => {
    if (topic.startsWith("throw")) throw new Error(`driver threw for ${topic}`);
    if (topic.startsWith("reject")) return Promise.reject(new Error(`driver rejected ${topic}`));
    return Promise.resolve(0);
  };
  return {
    instanceId: "fixture-failing-backplane",
    connected: true,
    start: async () => {},
    publish: (topic) => fail(topic),
    // Typed void, but a driver may still return a promise: core must contain its rejection too.
    subscribe: (topic) => fail(topic),
    unsubscribe: () => {},
    close: async () => {},
  };
}

const apps = new Map<string, VerbApp<Data>>();

const handles = new Map<string, ServerHandle>();

function controlRoutes(app: VerbApp<Data>): void {
  // The server's life cycle on this adapter: two listen() at once, close() with bad options, close, listen again.
  app.post("/__control/lifecycle", async (_req, res) => {
    const probe = createServer<Data>();
    const message = (result: PromiseSettledResult<unknown> | undefined) =>
      result?.status === "rejected" ? String((result.reason as Error).message) : "";
    const both = await Promise.allSettled([probe.listen(0, "127.0.0.1"), probe.listen(0, "127.0.0.1")]);
    const port = probe.server?.port ?? 0;
    const badClose = await Promise.allSettled([probe.close({ code: 1005 })]);
    const listeningAfterBadClose = probe.server !== undefined;
    await probe.close();
    const again = await Promise.allSettled([probe.listen(0, "127.0.0.1")]);
    await probe.close();
    // A port in use: the error carries the errno code on every engine.
    const busy = await Promise.allSettled([createServer<Data>().listen(handles.get("main")?.port ?? 1, "127.0.0.1")]);
    const busyError = busy[0]?.status === "rejected" ? (busy[0].reason as Error & { code?: unknown }) : undefined;
    res.json({
      listened: both.filter((r) => r.status === "fulfilled").length,
      secondListen: message(both.find((r) => r.status === "rejected")),
      port,
      badClose: message(badClose[0]),
      listeningAfterBadClose,
      listenedAgain: again[0]?.status === "fulfilled",
      portInUse: busyError === undefined ? "listened" : String(busyError.code),
    });
  });
  app.get("/__probe/events", (req, res) => {
    res.json(events.get(req.query.id ?? "") ?? []);
  });
  app.post("/__control/publish/:profile", (req, res) => {
    const handle = handles.get(req.params.profile ?? "");
    if (handle === undefined) return res.status(404).json({ error: "no such profile" });
    const topic = req.query.topic ?? "";
    const count = Number(req.query.count ?? "1");
    const size = req.query.size === undefined ? undefined : Number(req.query.size);
    const results: boolean[] = [];
    for (let i = 0; i < count; i++) {
      const data =
        size !== undefined
          ? req.query.binary
            ? Buffer.alloc(size, 0x71)
            : "q".repeat(size)
          : `${String(req.body ?? "")}${count > 1 ? i : ""}`;
      results.push(handle.publish(topic, data));
    }
    res.json({ results, subscribers: handle.subscriberCount(topic) });
  });
  app.get("/__control/subscribers/:profile", (req, res) => {
    const handle = handles.get(req.params.profile ?? "");
    if (handle === undefined) return res.status(404).json({ error: "no such profile" });
    res.json({ count: handle.subscriberCount(req.query.topic ?? "") });
  });
  app.get("/__control/lag", (req, res) => {
    res.json({ ms: lateness.since(Number(req.query.since ?? 0)) });
  });
  app.get("/__control/metrics/:profile", (req, res) => {
    const target = apps.get(req.params.profile ?? "");
    if (target === undefined) return res.status(404).json({ error: "no such profile" });
    if (req.query.format === "prometheus") return res.text(target.metricsText({ profile: req.params.profile ?? "" }));
    res.json(target.metrics());
  });
  app.post("/__control/close/:profile", async (req, res) => {
    const handle = handles.get(req.params.profile ?? "");
    if (handle === undefined) return res.status(404).json({ error: "no such profile" });
    const started = Date.now();
    const code = req.query.code === undefined ? undefined : Number(req.query.code);
    const timeout = req.query.timeout === undefined ? undefined : Number(req.query.timeout);
    const grace = req.query.grace === undefined ? undefined : Number(req.query.grace);
    await handle.close({
      code,
      reason: req.query.reason,
      timeout,
      grace,
      notify: req.query.notify === undefined ? undefined : true,
    });
    handles.delete(req.params.profile ?? "");
    res.json({ closed: true, ms: Date.now() - started, resolvedAt: Date.now() });
  });
}

async function main(): Promise<void> {
  const ports: Record<string, number> = {};
  let adapter = "";
  const files = createFileRoot();
  for (const [name, limits] of Object.entries(PROFILES)) {
    const app = createServer<Data>();
    apps.set(name, app);
    app.withOptions({ websocket: { ...limits, ...hooks(name, app) } });
    if (name === "backplane") app.withOptions({ backplane: failingBackplane() });
    // A route that sets HTTP headers, a body type among them, before upgrading: only the first reach the 101.
    app.get("/res-upgrade-headers", (_req, res) => {
      res.header("content-type", "text/html; charset=utf-8");
      res.header("x-route", "kept");
      const ws = res.upgrade();
      ws.on("message", (message) => ws.send(message));
      ws.send("res-upgrade");
    });
    // The per-route upgrade under the profile's limits: an echo that greets.
    app.get("/res-upgrade", (_req, res) => {
      const ws = res.upgrade();
      ws.on("message", (message) => ws.send(message));
      ws.send("res-upgrade");
    });
    if (name === "main") controlRoutes(app);
    const handle = await app.listen(0, "127.0.0.1");
    handles.set(name, handle);
    ports[name] = handle.port;
    adapter = handle.adapter;
  }
  // HTTP routes and WebSocket routes, without server-wide WebSocket hooks.
  const http = createServer();
  httpRoutes(http, files.root, files.secret);
  const httpHandle = await http.listen(0, "127.0.0.1");
  handles.set("http", httpHandle);
  ports.http = httpHandle.port;
  // Registry, rooms, routing, authentication, per-user delivery.
  const realtime = createServer<RealtimeData>();
  realtimeRoutes(realtime, record);
  apps.set("realtime", realtime as unknown as VerbApp<Data>);
  const realtimeHandle = await realtime.listen(0, "127.0.0.1");
  handles.set("realtime", realtimeHandle);
  ports.realtime = realtimeHandle.port;
  // The Verb protocol: with authorizeSubscribe ("session"), and without ("sessionplain").
  for (const [name, authorize] of [
    ["session", true],
    ["sessionplain", false],
  ] as const) {
    const sessionApp = createServer<SessionData>();
    sessionRoutes(sessionApp, record, authorize);
    apps.set(name, sessionApp as unknown as VerbApp<Data>);
    const handle = await sessionApp.listen(0, "127.0.0.1");
    handles.set(name, handle);
    ports[name] = handle.port;
  }
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  const runtime =
    bun !== undefined ? `bun ${bun.version}` : deno !== undefined ? `deno ${deno.version.deno}` : `node ${process.versions.node}`;
  process.stdout.write(`${JSON.stringify({ ready: true, adapter, runtime, ports, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fixture failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
});
