/**
 * The real-time layer: client registry, rooms, typed routing with every error reply, authentication
 * (three token carriers, both failure styles), per-user delivery.
 */

import assert from "node:assert/strict";
import { TestClient, type TestClientOptions } from "../clients/ws-client.js";
import type { Check, CheckContext } from "../types.js";
import { metricsOf, waitFor } from "./helpers.js";

const category = "realtime";

/** Each connection's trace id: the fixture records its server-side close under `trace:<id>`. */
const traces = new WeakMap<TestClient, { ctx: CheckContext; trace: string }>();

async function connect(ctx: CheckContext, path: string, options: TestClientOptions = {}): Promise<TestClient> {
  const trace = ctx.id();
  const traced = `${path}${path.includes("?") ? "&" : "?"}trace=${trace}`;
  const client = await TestClient.open(`ws://127.0.0.1:${ctx.port("realtime")}${traced}`, options);
  traces.set(client, { ctx, trace });
  ctx.defer(() => client.terminate());
  return client;
}

/** What the server saw of a connection that closed unexpectedly, to put beside the client's view. */
async function serverView(client: TestClient): Promise<string> {
  const traced = traces.get(client);
  if (traced === undefined) return "";
  const events = await traced.ctx.events(`trace:${traced.trace}`).catch(() => []);
  return `; server saw: ${events.length === 0 ? "no close yet" : events.map((e) => JSON.stringify(e)).join(", ")}`;
}

/**
 * The next JSON message, skipping broadcasts to every client (other checks run at the same time
 * and their broadcasts reach every registered client).
 */
async function json(
  client: TestClient,
  accept = (m: Record<string, unknown>) => m.type !== "broadcast",
): Promise<Record<string, unknown>> {
  for (;;) {
    let received: Awaited<ReturnType<TestClient["message"]>>;
    try {
      received = await client.message();
    } catch (error) {
      if (client.closeInfo === undefined) throw error;
      throw new Error(`${(error as Error).message}${await serverView(client)}`);
    }
    const message = JSON.parse(received.text) as Record<string, unknown>;
    if (accept(message)) return message;
  }
}

/** Only the whoami answer: other checks send notifications to the same users at the same time. */
const isWhoami = (m: Record<string, unknown>) => m.type === "whoami";

function send(client: TestClient, value: unknown): void {
  client.send(typeof value === "string" ? value : JSON.stringify(value));
}

async function registry(ctx: CheckContext) {
  const response = await ctx.http("realtime", "/registry");
  return (await response.json()) as {
    count: number;
    clients: { id: string; metadata: Record<string, unknown>; connectedAt: string; lastActivity: string; open: boolean }[];
    rooms: Record<string, string[]>;
    online: string[];
  };
}

/**
 * Nothing else reached `client` (broadcasts of other checks aside): it asks `whoami`, and the answer
 * must be the next message. Call it once the fan-out that must skip `client` is over (another member
 * received it): the server sends in order, so anything misdelivered would come before the answer.
 */
async function nothingElse(client: TestClient): Promise<void> {
  send(client, { type: "whoami" });
  const next = await json(client);
  assert.equal(next.type, "whoami", `unexpected message before the marker: ${JSON.stringify(next)}`);
}

export const realtimeChecks: Check[] = [
  {
    id: "realtime.registry",
    title:
      "client registry: clients by id with metadata, connectedAt, lastActivity (the last message's time); count; removed on close",
    category,
    async run(ctx) {
      const a = `reg-a-${ctx.id()}`;
      const b = `reg-b-${ctx.id()}`;
      const before = Date.now();
      const ca = await connect(ctx, `/?client=${a}`);
      const cb = await connect(ctx, `/?client=${b}`);
      // Apart in time (setup, not a verdict): connecting, the last message, and reading the registry.
      await new Promise((r) => setTimeout(r, 1500));
      const messaged = Date.now();
      send(ca, { type: "whoami" });
      assert.equal((await json(ca)).clientId, a);
      const answered = Date.now();
      await new Promise((r) => setTimeout(r, 1200));
      const seen = await registry(ctx);
      const entry = seen.clients.find((c) => c.id === a);
      assert.ok(entry, "client a must be registered");
      assert.deepEqual(entry.metadata, { name: a, via: "/" });
      assert.ok(Date.parse(entry.connectedAt) >= before - 1000 && Date.parse(entry.connectedAt) <= Date.now());
      // lastActivity is when the last frame arrived (core's clock is coarse: up to a tick behind), not when asked.
      const last = Date.parse(entry.lastActivity);
      assert.ok(
        last >= messaged - 1000 && last <= answered + 200,
        `lastActivity ${entry.lastActivity} must be the time of the last message (sent ${new Date(messaged).toISOString()}, answered ${new Date(answered).toISOString()})`,
      );
      assert.ok(seen.clients.some((c) => c.id === b));
      assert.equal(seen.count, seen.clients.length);
      cb.close(1000);
      await cb.waitClose();
      await waitFor(async () => !(await registry(ctx)).clients.some((c) => c.id === b), "a closed client is removed");
      const after = await registry(ctx);
      assert.ok(after.clients.some((c) => c.id === a));
    },
  },
  {
    id: "realtime.rooms",
    title: "rooms: join/leave, broadcast to a room excluding the sender, membership listing, empty rooms removed",
    category,
    async run(ctx) {
      const room = `room-${ctx.id()}`;
      const [x, y, z] = [`x-${ctx.id()}`, `y-${ctx.id()}`, `z-${ctx.id()}`];
      const cx = await connect(ctx, `/?client=${x}`);
      const cy = await connect(ctx, `/?client=${y}`);
      const cz = await connect(ctx, `/?client=${z}`);
      send(cx, { type: "join_room", roomId: room });
      assert.deepEqual(await json(cx), { type: "joined_room", roomId: room });
      send(cy, { type: "join_room", roomId: room });
      assert.deepEqual(await json(cy), { type: "joined_room", roomId: room });
      assert.deepEqual(
        await json(cx),
        { type: "user_joined", user: y, roomId: room },
        "members hear who joined; the joiner does not",
      );
      assert.deepEqual((await registry(ctx)).rooms[room], [x, y].sort());
      send(cx, { type: "chat", roomId: room, message: "hello room" });
      assert.deepEqual(await json(cy), { type: "chat", user: x, message: "hello room" });
      await nothingElse(cx);
      await nothingElse(cz);
      send(cy, { type: "leave_room", roomId: room });
      assert.deepEqual(await json(cy), { type: "left_room", roomId: room });
      assert.deepEqual(await json(cx), { type: "user_left", user: y, roomId: room });
      send(cx, { type: "chat", roomId: room, message: "anyone?" });
      // cx's next message is handled after the chat's fan-out: then cy must have nothing.
      await nothingElse(cx);
      await nothingElse(cy);
      cx.close(1000);
      await cx.waitClose();
      await waitFor(async () => (await registry(ctx)).rooms[room] === undefined, "an empty room disappears");
    },
  },
  {
    id: "realtime.broadcast",
    title: "broadcast to every registered client except one",
    category,
    async run(ctx) {
      const ids = [0, 1, 2].map((i) => `bc${i}-${ctx.id()}`);
      const clients = await Promise.all(ids.map((id) => connect(ctx, `/?client=${id}`)));
      send(clients[0] as TestClient, { type: "broadcast", message: "everyone" });
      for (const client of clients.slice(1)) {
        const message = await json(client, (m) => m.type === "broadcast" && m.from === ids[0]);
        assert.equal(message.message, "everyone", "every other client receives the broadcast");
      }
      const sender = clients[0] as TestClient;
      send(sender, { type: "whoami" });
      await json(sender, (m) => m.type === "whoami");
      assert.ok(!sender.received.some((m) => m.text.includes('"everyone"')), "the excluded client does not");
    },
  },
  {
    id: "realtime.routing-errors",
    title: "routing: invalid JSON, non-object, unknown type, validation failures naming fields, throwing handlers: error replies",
    category,
    async run(ctx) {
      const id = `err-${ctx.id()}`;
      const client = await connect(ctx, `/?client=${id}`);
      send(client, "{not json");
      assert.deepEqual(await json(client), { type: "error", message: "Invalid message format" });
      send(client, "[1,2]");
      assert.deepEqual(await json(client), { type: "error", message: "Invalid message format" });
      send(client, { kind: "no type" });
      assert.deepEqual(await json(client), { type: "error", message: "Invalid message format" });
      send(client, { type: "nope" });
      assert.deepEqual(await json(client), { type: "error", message: "Unknown message type: nope" });
      send(client, { type: "strict", n: 1.5, tags: ["a", 2] });
      const invalid = await json(client);
      assert.equal(invalid.type, "error");
      assert.equal(invalid.message, "Invalid strict message: n: Expected integer; tags[1]: Expected string");
      assert.deepEqual(invalid.issues, [
        { path: "n", message: "Expected integer" },
        { path: "tags[1]", message: "Expected string" },
      ]);
      send(client, { type: "strict", n: 3, tags: ["ok"] });
      assert.deepEqual(await json(client), { type: "strict_ok", n: 3, tags: ["ok"] });
      send(client, { type: "fail" });
      assert.deepEqual(await json(client), { type: "error", message: "Internal error handling fail" });
      await ctx.waitEvent(`rt:${id}`, (e) => e.type === "error" && e.message === "handler failure", "the error hook (sync)");
      send(client, { type: "fail_async" });
      assert.deepEqual(await json(client), { type: "error", message: "Internal error handling fail_async" });
      await ctx.waitEvent(
        `rt:${id}`,
        (e) => e.type === "error" && e.message === "async handler failure",
        "the error hook (async)",
      );
      send(client, { type: "whoami" });
      assert.equal((await json(client)).clientId, id, "the connection keeps working");
    },
  },
  {
    id: "realtime.rate-limit-per-type",
    title: "a rate limit per message type refuses the excess of that type only, with an error reply",
    category,
    async run(ctx) {
      const client = await connect(ctx, `/?client=lim-${ctx.id()}`);
      for (let i = 0; i < 3; i++) send(client, { type: "limited" });
      send(client, { type: "whoami" });
      assert.deepEqual(await json(client), { type: "limited_ok" });
      assert.deepEqual(await json(client), { type: "limited_ok" });
      const refused = await json(client);
      assert.equal(refused.message, "Rate limit exceeded for limited");
      assert.ok((refused.retryAfterMs as number) > 0);
      assert.equal((await json(client)).type, "whoami", "other types are not limited");
    },
  },
  {
    id: "realtime.binary-dispatch",
    title: "binary messages dispatched on their first byte; unknown types get an error reply",
    category,
    async run(ctx) {
      const client = await connect(ctx, `/?client=bin-${ctx.id()}`);
      client.send(Buffer.from([1, 42, 43, 44]), { binary: true });
      assert.deepEqual(await json(client), { type: "binary", kind: 1, size: 3, first: 42 });
      client.send(Buffer.from([9, 1]), { binary: true });
      assert.deepEqual(await json(client), { type: "error", message: "Unknown binary message type: 9" });
    },
  },
  {
    id: "realtime.auth-carriers",
    title: "auth: the token from Authorization: Bearer, ?token=, or Sec-WebSocket-Protocol (answered with the marker)",
    category,
    async run(ctx) {
      const byHeader = await connect(ctx, "/auth/reject", { headers: { Authorization: "Bearer tok-alice" } });
      send(byHeader, { type: "whoami" });
      assert.deepEqual((await json(byHeader, isWhoami)).user, { id: "alice", name: "Alice" });
      const byQuery = await connect(ctx, "/auth/reject?token=tok-bob");
      send(byQuery, { type: "whoami" });
      assert.deepEqual((await json(byQuery, isWhoami)).user, { id: "bob", name: "Bob" });
      const byProtocol = await connect(ctx, "/auth/reject", { protocols: ["bearer", "tok-carol"] });
      assert.equal(byProtocol.ws.protocol, "bearer", "the server answers the marker, never the token");
      send(byProtocol, { type: "whoami" });
      const who = await json(byProtocol, isWhoami);
      assert.deepEqual(who.user, { id: "carol", name: "Carol" });
      assert.equal(who.protocol, "bearer");
      const slow = await connect(ctx, "/auth/reject?token=slow-tok-alice");
      send(slow, { type: "whoami" });
      assert.deepEqual(
        (await json(slow, isWhoami)).user,
        { id: "alice", name: "Alice" },
        "an async verifyToken with a real timer works",
      );
    },
  },
  {
    id: "realtime.auth-async-many",
    title: "200 upgrades at once, each decided after a real timer: every socket opens, stays open and is served",
    category,
    async run(ctx) {
      const clients = await Promise.all(
        Array.from({ length: 200 }, (_, i) => connect(ctx, `/auth/reject?token=slow-tok-${["alice", "bob", "carol"][i % 3]}`)),
      );
      for (const client of clients) send(client, { type: "whoami" });
      for (const [i, client] of clients.entries()) {
        const who = await json(client, isWhoami);
        assert.equal((who.user as { id: string }).id, ["alice", "bob", "carol"][i % 3], `connection #${i}`);
      }
      assert.deepEqual(
        clients.filter((client) => client.closeInfo !== undefined).map((client) => client.closeInfo),
        [],
        "no socket closed",
      );
    },
  },
  {
    id: "realtime.auth-reject",
    title: "auth (reject): a bad or missing token is refused with 401 before the upgrade",
    category,
    async run(ctx) {
      for (const path of ["/auth/reject?token=forged", "/auth/reject", "/auth/reject?token=slow-forged"]) {
        await assert.rejects(connect(ctx, path), (error: Error & { status?: number }) => error.status === 401, path);
      }
    },
  },
  {
    id: "realtime.auth-close",
    title: 'auth (close): success is announced; failure gets the auth error then close 1008 "Authentication failed"',
    category,
    async run(ctx) {
      const good = await connect(ctx, "/auth/close?token=tok-bob");
      assert.deepEqual(await json(good), { type: "auth", status: "success", user: { id: "bob", name: "Bob" } });
      const bad = await connect(ctx, "/auth/close?token=forged");
      assert.deepEqual(await json(bad), { type: "auth", status: "error", message: "Authentication failed" });
      const closed = await bad.waitClose();
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, "Authentication failed");
      const browser = await connect(ctx, "/auth/close", { protocols: ["bearer", "forged"] });
      assert.equal(browser.ws.protocol, "bearer", "a browser offering the marker can read the failure");
      assert.equal((await json(browser)).status, "error");
      assert.equal((await browser.waitClose()).code, 1008);
    },
  },
  {
    id: "realtime.auth-abandoned",
    title: "a client that leaves while its token is being verified leaves no user behind",
    category,
    async run(ctx) {
      const { connect: tcp } = await import("node:net");
      const socket = tcp(ctx.port("realtime"), "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(
        "GET /?token=slow-tok-dave HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      socket.destroy();
      // verifyToken did run (and accepted dave) after the client left: the decision must be dropped.
      await ctx.waitEvent("verify:slow-tok-dave", (e) => e.type === "verified", "verifyToken settling");
      await waitFor(
        async () => (await metricsOf(ctx, "realtime")).connections.pending === 0,
        "the abandoned upgrade no longer pending",
      );
      assert.ok(!(await registry(ctx)).online.includes("dave"), "the abandoned connection's user must not stay online");
    },
  },
  {
    id: "realtime.auth-required",
    title: 'messages from unauthenticated sockets get "Authentication required"; authenticated ones are served',
    category,
    async run(ctx) {
      const anonymous = await connect(ctx, "/auth/required");
      send(anonymous, { type: "whoami" });
      assert.deepEqual(await json(anonymous), { type: "error", message: "Authentication required" });
      const user = await connect(ctx, "/auth/required?token=tok-alice");
      send(user, { type: "whoami" });
      assert.deepEqual((await json(user)).user, { id: "alice", name: "Alice" });
    },
  },
  {
    id: "realtime.per-user",
    title: "per-user delivery: every socket of a user, exactly once, from HTTP and from a private message; absent users reported",
    category,
    async run(ctx) {
      const alice1 = await connect(ctx, "/?token=tok-alice");
      const alice2 = await connect(ctx, "/?token=tok-alice");
      const bob = await connect(ctx, "/?token=tok-bob");
      await waitFor(async () => {
        const users = (await registry(ctx)).online;
        return users.includes("alice") && users.includes("bob");
      }, "alice and bob online");
      const online = (await registry(ctx)).online;
      assert.ok(online.includes("alice") && online.includes("bob"), `online: ${online.join(",")}`);
      const response = await ctx.http("realtime", "/notify/alice", {
        method: "POST",
        body: JSON.stringify({ title: "hi", n: 1 }),
        headers: { "content-type": "application/json" },
      });
      assert.deepEqual(await response.json(), { delivered: true });
      for (const socket of [alice1, alice2]) assert.deepEqual(await json(socket), { type: "notification", title: "hi", n: 1 });
      send(bob, { type: "private_message", targetUserId: "alice", message: "psst" });
      for (const socket of [alice1, alice2]) {
        assert.deepEqual(await json(socket), { type: "private_message", from: "Bob", message: "psst" });
      }
      await nothingElse(alice1);
      await nothingElse(alice2);
      send(bob, { type: "private_message", targetUserId: "nobody", message: "?" });
      assert.deepEqual(await json(bob), { type: "error", message: "User not found or offline" });
      const absent = await ctx.http("realtime", "/notify/nobody", {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      assert.deepEqual(await absent.json(), { delivered: false });
    },
  },
];
