/**
 * Resilience: admission control, rate limits, heartbeats, ordered async handlers, offline queue
 * and resume, graceful shutdown with a notice, metrics.
 */

import assert from "node:assert/strict";
import { Opcode, RawClient } from "../clients/raw.js";
import { TestClient } from "../clients/ws-client.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, metricsOf, sleep, waitFor } from "./helpers.js";

const category = "resilience";

async function refusedStatus(
  ctx: CheckContext,
  profile: string,
  options: { localAddress?: string } = {},
): Promise<{ status: number; retryAfter?: string }> {
  try {
    const client = await TestClient.open(ctx.wsUrl(profile, ctx.id(), "silent=1"), options);
    client.terminate();
    return { status: 101 };
  } catch (error) {
    const status = (error as { status?: number }).status ?? 0;
    return { status };
  }
}

/** Waits until the fixture no longer has `clientId` registered (its socket's close was handled). */
async function unregistered(client: TestClient, clientId: string): Promise<void> {
  await waitFor(async () => {
    client.send(cmd({ op: "registered", clientId }));
    return (await client.message()).text === "registered?:false";
  }, `client ${clientId} unregistered`);
}

export const resilienceChecks: Check[] = [
  {
    id: "resilience.backplane-driver-fails",
    title:
      "a backplane driver whose subscribe/publish throws or rejects is contained the same way: counted in metrics, never raised into the app; local delivery goes on",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("backplane", id, { query: "silent=1" });
      for (const topic of ["throw-t", "reject-t"]) {
        client.send(cmd({ op: "subscribe", topic }));
        assert.equal((await client.message()).text, `subscribed:${topic}`);
      }
      for (const topic of ["throw-t", "reject-t"]) {
        const response = await ctx.http("main", `/__control/publish/backplane?topic=${topic}`, { method: "POST", body: topic });
        assert.equal(response.status, 200, `app.publish("${topic}") must not throw`);
        assert.deepEqual(((await response.json()) as { results: boolean[] }).results, [true]);
        assert.equal((await client.message()).text, topic, "the local subscriber still gets it");
      }
      await waitFor(
        async () => ((await metricsOf(ctx, "backplane")).backplane?.errors ?? 0) >= 4,
        "4 backplane errors (2 subscribes, 2 publishes) counted",
        3000,
      );
      const seen = await metricsOf(ctx, "backplane");
      assert.equal(seen.backplane?.lost, 2, "both failed publishes counted as lost");
      assert.equal(seen.handlerErrors, 0, "nothing reached the error hook");
      assert.equal((await ctx.events(id)).filter((e) => e.type === "error").length, 0);
    },
  },
  {
    id: "resilience.max-connections-reject",
    title: "maxConnections: over the limit an upgrade is refused with 503 and Retry-After; room again once one closes",
    category,
    async run(ctx) {
      const open = await Promise.all([0, 1, 2].map(() => ctx.open("admit", ctx.id(), { query: "silent=1" })));
      const raw = await RawClient.connect(ctx.port("admit"), { path: `/?id=${ctx.id()}` });
      ctx.defer(() => raw.destroy());
      assert.equal(raw.response.status, 503);
      assert.equal(raw.response.headers["retry-after"], "5");
      (open[0] as TestClient).close(1000);
      await (open[0] as TestClient).waitClose();
      await waitFor(async () => (await metricsOf(ctx, "admit")).connections.active === 2, "the closed connection released");
      assert.equal((await refusedStatus(ctx, "admit")).status, 101, "a slot frees when a connection closes");
      const seen = await metricsOf(ctx, "admit");
      assert.ok(seen.connections.rejected >= 1, `rejected: ${seen.connections.rejected}`);
    },
  },
  {
    id: "resilience.max-connections-res-upgrade",
    title: "res.upgrade() sockets are admitted like the others: maxConnections of them get in, the next gets 503",
    category,
    async run(ctx) {
      const port = ctx.port("admitroute");
      for (let i = 0; i < 2; i++) {
        const client = await RawClient.connect(port, { path: "/res-upgrade" });
        ctx.defer(() => client.destroy());
        assert.equal(client.response.status, 101, `res.upgrade() connection ${i + 1} of 2`);
        assert.equal((await client.nextFrame((f) => f.opcode === Opcode.TEXT)).payload.toString(), "res-upgrade");
      }
      const refused = await RawClient.connect(port, { path: "/res-upgrade" });
      ctx.defer(() => refused.destroy());
      assert.equal(refused.response.status, 503);
    },
  },
  {
    id: "resilience.max-connections-async",
    title: "maxConnections holds when upgrades are decided asynchronously and arrive at once",
    category,
    async run(ctx) {
      const attempts = await Promise.allSettled(
        [0, 1, 2, 3, 4].map(() => TestClient.open(ctx.wsUrl("admitasync", ctx.id(), "silent=1"))),
      );
      const opened = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
      for (const client of opened) ctx.defer(() => client.terminate());
      const refused = attempts.flatMap((a) => (a.status === "rejected" ? [(a.reason as { status?: number }).status] : []));
      // Every upgrade holds its slot from arrival, so exactly the first two get in, whatever the timing.
      assert.equal(opened.length, 2, `${opened.length} connections opened with maxConnections 2`);
      assert.deepEqual(refused, [503, 503, 503]);
    },
  },
  {
    id: "resilience.bad-handshakes-hold-no-slot",
    title: "refused or abandoned handshakes do not hold connection slots",
    category,
    async run(ctx) {
      for (let i = 0; i < 5; i++) {
        const bad = await RawClient.connect(ctx.port("admitslots"), {
          path: `/?id=${ctx.id()}`,
          headers: { "Sec-WebSocket-Version": "12" },
        });
        assert.equal(bad.response.status, 426);
        bad.destroy();
      }
      const good = await Promise.all([0, 1, 2].map(() => ctx.open("admitslots", ctx.id(), { query: "silent=1" })));
      assert.equal(good.length, 3);
      for (const client of good) client.close(1000);
      await Promise.all(good.map((client) => client.waitClose()));
    },
  },
  {
    id: "resilience.max-connections-close",
    title: 'maxConnections with onOverload "close": accepted then closed 1013 "Server overloaded"; no hook sees it',
    category,
    async run(ctx) {
      await Promise.all([0, 1].map(() => ctx.open("admitclose", ctx.id(), { query: "silent=1" })));
      const id = ctx.id();
      const extra = await ctx.open("admitclose", id, { query: "silent=1" });
      const closed = await extra.waitClose();
      assert.deepEqual(closed, { code: 1013, reason: "Server overloaded" });
      // Once the server released it, no hook can run for it any more.
      await waitFor(async () => (await metricsOf(ctx, "admitclose")).connections.active === 2, "the refused socket released");
      assert.deepEqual(await ctx.events(id), [], "the hooks never saw the refused connection");
    },
  },
  {
    id: "resilience.max-connections-per-ip",
    title: "maxConnectionsPerIp: a third connection from one IP is refused; another IP still gets in",
    category,
    async run(ctx) {
      await Promise.all([0, 1].map(() => ctx.open("perip", ctx.id(), { query: "silent=1" })));
      assert.equal((await refusedStatus(ctx, "perip")).status, 503);
      assert.equal((await refusedStatus(ctx, "perip", { localAddress: "127.0.0.2" })).status, 101);
    },
  },
  {
    id: "resilience.rate-limit-reply",
    title: "rate limit: messages over the bucket get an error reply and never reach the hook; the bucket refills",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("ratelimit", id, { query: "silent=1" });
      for (let i = 0; i < 10; i++) client.send(`r${i}`);
      await client.until(() => client.received.length >= 10, "10 answers");
      const texts = client.received.map((m) => m.text);
      assert.deepEqual(texts.slice(0, 5), ["r0", "r1", "r2", "r3", "r4"]);
      for (const text of texts.slice(5)) {
        const reply = JSON.parse(text) as { type: string; message: string; retryAfterMs: number };
        assert.equal(reply.message, "Rate limit exceeded");
        assert.ok(reply.retryAfterMs > 0 && reply.retryAfterMs <= 1000, `retryAfterMs ${reply.retryAfterMs}`);
      }
      const seen = (await ctx.events(id)).filter((e) => e.type === "message").length;
      assert.equal(seen, 5, "refused messages must not reach the message hook");
      // The reply says when a token is back: after that long, a message passes again.
      const last = JSON.parse(texts[9] as string) as { retryAfterMs: number };
      await sleep(last.retryAfterMs + 20);
      client.send("after refill");
      assert.equal((await client.message(10)).text, "after refill");
      assert.ok((await metricsOf(ctx, "ratelimit")).rateLimited >= 5);
    },
  },
  {
    id: "resilience.rate-limit-close",
    title: 'rate limit with onExceed "close": the connection closes with 1008 "Rate limit exceeded"',
    category,
    async run(ctx) {
      const client = await ctx.open("ratelimitclose", ctx.id(), { query: "silent=1" });
      for (let i = 0; i < 6; i++) client.send(`x${i}`);
      assert.deepEqual(await client.waitClose(), { code: 1008, reason: "Rate limit exceeded" });
    },
  },
  {
    id: "resilience.app-heartbeat",
    title: "application heartbeat: browsers can see it every interval; the reply is swallowed",
    category,
    slow: true,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("heartbeat", id, { query: "silent=1" });
      await client.until(
        () => client.received.filter((m) => m.text === '{"type":"heartbeat"}').length >= 2,
        "two heartbeats",
        3000,
      );
      client.send('{"type":"heartbeat"}');
      client.send("real message");
      await client.until(() => client.received.some((m) => m.text === "real message"), "the echo");
      const messages = (await ctx.events(id)).filter((e) => e.type === "message");
      assert.equal(messages.length, 1, "the heartbeat reply must not reach the message hook");
    },
  },
  {
    id: "resilience.health-check",
    title: 'health check: a client that does not answer pings is closed (4408 "ping timeout"); one that answers stays',
    category,
    slow: true,
    async run(ctx) {
      const silentId = ctx.id();
      const silent = await ctx.raw("health", silentId, { query: "silent=1" });
      const polite = await ctx.open("health", ctx.id(), { query: "silent=1" });
      const frame = await silent.nextFrame((f) => f.opcode === Opcode.CLOSE, 4000);
      assert.equal(frame.payload.readUInt16BE(0), 4408);
      assert.equal(frame.payload.subarray(2).toString(), "ping timeout");
      assert.ok(
        silent.frames.some((f) => f.opcode === Opcode.PING),
        "the server pinged first",
      );
      const hook = await ctx.waitEvent(silentId, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 4408);
      // A second health ping means the round that closed the silent client has passed for this one.
      await polite.until(() => polite.pings.length >= 2, "a second health-check ping", 3000);
      assert.equal(polite.closeInfo, undefined, "a client answering pings stays open");
      assert.ok((await metricsOf(ctx, "health")).heartbeatTimeouts >= 1);
    },
  },
  {
    id: "resilience.ordered-async",
    title: "async message hooks run one at a time in arrival order",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id, { query: "silent=1" });
      client.send(cmd({ op: "work", seq: 1, ms: 80 }));
      client.send(cmd({ op: "work", seq: 2, ms: 5 }));
      client.send(cmd({ op: "work", seq: 3, ms: 30 }));
      for (let i = 0; i < 3; i++) assert.equal((await client.message(i)).text, `done:${i + 1}`);
      const work = (await ctx.events(id)).filter((e) => e.type.startsWith("work-")).map((e) => `${e.type}:${String(e.seq)}`);
      assert.deepEqual(work, ["work-start:1", "work-end:1", "work-start:2", "work-end:2", "work-start:3", "work-end:3"]);
    },
  },
  {
    id: "resilience.concurrency",
    title: "concurrency 3: up to three hooks overlap, the fourth waits, starts stay in arrival order",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("concurrent", id, { query: "silent=1" });
      for (const [seq, ms] of [
        [1, 150],
        [2, 100],
        [3, 50],
        [4, 10],
      ]) {
        client.send(cmd({ op: "work", seq, ms }));
      }
      await client.until(() => client.received.length >= 4, "four answers");
      assert.deepEqual(
        client.received.map((m) => m.text),
        ["done:3", "done:4", "done:2", "done:1"],
      );
      const work = (await ctx.events(id)).filter((e) => e.type.startsWith("work-")).map((e) => `${e.type}:${String(e.seq)}`);
      assert.deepEqual(work.slice(0, 3), ["work-start:1", "work-start:2", "work-start:3"]);
      assert.ok(work.indexOf("work-start:4") > work.indexOf("work-end:3"), "the fourth starts after one of the three ended");
    },
  },
  {
    id: "resilience.async-open-holds",
    title: "messages that arrive while an async open hook runs are held, then handled in order",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("asyncopen", id);
      for (let i = 0; i < 3; i++) client.send(`early${i}`);
      assert.equal((await client.message(0)).text, `welcome:${id}`);
      for (let i = 0; i < 3; i++) assert.equal((await client.message(i + 1)).text, `early${i}`);
      const types = (await ctx.events(id)).map((e) => e.type);
      assert.ok(types.indexOf("open-done") < types.indexOf("message"), `events: ${types.join(",")}`);
    },
  },
  {
    id: "resilience.no-messages-after-close",
    title: "messages held during an async open are not handled after a close the server started",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("asyncopen", id, { query: "silent=1" });
      client.send(cmd({ op: "close", code: 4000, reason: "done" }));
      client.send("after1");
      client.send("after2");
      assert.equal((await client.waitClose()).code, 4000);
      const types = (await ctx.events(id)).map((e) => e.type);
      assert.deepEqual(types.slice(types.indexOf("close")), ["close"], `events: ${types.join(",")}`);
    },
  },
  {
    id: "resilience.offline-queue-resume",
    title: "offline queue: messages for an absent client wait and arrive once, in order, before new ones",
    category,
    async run(ctx) {
      const clientId = `q-${ctx.id()}`;
      const first = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      first.send(cmd({ op: "register", clientId }));
      assert.equal((await first.message()).text, `registered:${clientId}`);
      first.close(1000);
      await first.waitClose();
      const senderId = ctx.id();
      const sender = await ctx.open("queue", senderId, { query: "silent=1" });
      sender.send(cmd({ op: "sendTo", clientId, data: "q", count: 3 }));
      await sender.message();
      const sent = await ctx.waitEvent(senderId, (e) => e.type === "sendTo", "the sendTo statuses");
      assert.deepEqual(sent.statuses, ["queued", "queued", "queued"]);
      const back = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      back.send(cmd({ op: "register", clientId }));
      sender.send(cmd({ op: "sendTo", clientId, data: "live", count: 1 }));
      const texts: string[] = [];
      for (let i = 0; i < 5; i++) texts.push((await back.message()).text);
      assert.deepEqual(texts, ["q0", "q1", "q2", `registered:${clientId}`, "live0"]);
      const again = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      again.send(cmd({ op: "register", clientId }));
      assert.equal((await again.message()).text, `registered:${clientId}`, "nothing is delivered twice");
      // And nothing comes later either: the next answer follows directly.
      again.send(cmd({ op: "registered", clientId }));
      assert.equal((await again.message()).text, "registered?:true", "no replay after the registration");
    },
  },
  {
    id: "resilience.offline-queue-bounds",
    title: "offline queue: bounded (oldest dropped first) and expiring (TTL)",
    category,
    slow: true,
    async run(ctx) {
      const clientId = `qb-${ctx.id()}`;
      const sender = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      sender.send(cmd({ op: "sendTo", clientId, data: "b", count: 8 }));
      await sender.message();
      const back = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      back.send(cmd({ op: "register", clientId }));
      const texts: string[] = [];
      for (let i = 0; i < 6; i++) texts.push((await back.message()).text);
      assert.deepEqual(texts, ["b3", "b4", "b5", "b6", "b7", `registered:${clientId}`], "the 5 newest of 8 remain");
      back.close(1000);
      await back.waitClose();
      const expiring = `qt-${ctx.id()}`;
      sender.send(cmd({ op: "sendTo", clientId: expiring, data: "old", count: 2 }));
      await sender.message();
      // The TTL is a time: let it pass (2 s), and no more than needed.
      await sleep(2100);
      const late = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      late.send(cmd({ op: "register", clientId: expiring }));
      assert.equal((await late.message()).text, `registered:${expiring}`, "messages older than the TTL are gone");
      assert.ok((await metricsOf(ctx, "queue")).offlineQueue.dropped >= 3);
    },
  },
  {
    id: "resilience.resume-leaves-early",
    title:
      "offline queue: a client that leaves while its queue is being fetched loses nothing; the next resume gets it all, in order",
    category,
    async run(ctx) {
      const clientId = `ql-${ctx.id()}`;
      const first = await ctx.open("queueslow", ctx.id(), { query: "silent=1" });
      first.send(cmd({ op: "register", clientId }));
      await first.message();
      first.send(cmd({ op: "token", clientId }));
      const token = (await first.message()).text.slice("token:".length);
      first.terminate();
      await first.waitClose();
      const sender = await ctx.open("queueslow", ctx.id(), { query: "silent=1" });
      await unregistered(sender, clientId);
      sender.send(cmd({ op: "sendTo", clientId, data: "s", count: 3 }));
      await sender.message();
      // The store answers take() after 300 ms: this client is gone by then.
      const leaver = await ctx.open("queueslow", ctx.id(), { query: "silent=1" });
      leaver.send(cmd({ op: "resume", token }));
      assert.equal((await leaver.message()).text, `resumed:${clientId}`);
      leaver.terminate();
      await leaver.waitClose();
      // The slow store answers after the client left: the three messages go back to the queue.
      await waitFor(async () => (await metricsOf(ctx, "queueslow")).offlineQueue.depth === 3, "the messages back in the queue");
      const back = await ctx.open("queueslow", ctx.id(), { query: "silent=1" });
      ctx.defer(() => back.terminate());
      back.send(cmd({ op: "resume", token }));
      await back.until(() => back.received.length >= 4, "the resume answer and three queued messages", 3000);
      const texts = back.received.map((m) => m.text);
      assert.deepEqual(
        texts.filter((t) => !t.startsWith("resumed:")),
        ["s0", "s1", "s2"],
      );
    },
  },
  {
    id: "resilience.resume-token",
    title: "offline queue: a resume token brings a reconnecting client its messages; an unknown token does nothing",
    category,
    async run(ctx) {
      const clientId = `qr-${ctx.id()}`;
      const first = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      first.send(cmd({ op: "register", clientId }));
      await first.message();
      first.send(cmd({ op: "token", clientId }));
      const token = (await first.message()).text.slice("token:".length);
      first.terminate();
      await first.waitClose();
      const sender = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      await unregistered(sender, clientId);
      sender.send(cmd({ op: "sendTo", clientId, data: "t", count: 2 }));
      await sender.message();
      const back = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      back.send(cmd({ op: "resume", token }));
      assert.deepEqual(
        [(await back.message()).text, (await back.message()).text, (await back.message()).text],
        ["t0", "t1", `resumed:${clientId}`],
      );
      const stranger = await ctx.open("queue", ctx.id(), { query: "silent=1" });
      stranger.send(cmd({ op: "resume", token: "not-a-token" }));
      assert.equal((await stranger.message()).text, "resumed:none");
    },
  },
  {
    id: "resilience.graceful-shutdown",
    title: "graceful close: a reading client gets every message sent before shutdown, the notice, then 1001",
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("shutdown3", id, { query: "silent=1" });
      raw.sendText(cmd({ op: "send", count: 200, size: 20_000 }));
      await ctx.waitEvent(id, (e) => e.type === "sent", "the sends");
      const closing = ctx.http("main", "/__control/close/shutdown3?notify=1&grace=5000", { method: "POST" });
      const end = await raw.waitEnd(20_000);
      assert.equal((await closing).status, 200);
      const texts = raw.frames.filter((f) => f.opcode === Opcode.TEXT).map((f) => f.payload.toString());
      assert.equal(texts.filter((t) => t.length === 20_000).length, 200, "every message accepted before shutdown arrives");
      const notice = JSON.parse(texts[texts.length - 1] ?? "{}") as { type?: string; message?: string };
      assert.equal(notice.type, "server_shutdown");
      assert.equal(notice.message, "Server is shutting down");
      assert.equal(end.closeFrame?.code, 1001);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 1001);
    },
  },
  {
    id: "resilience.metrics",
    title: "metrics after a scripted session: connections, messages, bytes; the Prometheus text agrees",
    category,
    async run(ctx) {
      const before = await metricsOf(ctx, "metrics");
      const a = await ctx.open("metrics", ctx.id(), { query: "silent=1" });
      const b = await ctx.open("metrics", ctx.id(), { query: "silent=1" });
      for (const client of [a, b]) for (const text of ["one", "three", "fiftyfive"]) client.send(text);
      await a.until(() => a.received.length >= 3, "a's echoes");
      await b.until(() => b.received.length >= 3, "b's echoes");
      b.close(1000);
      await b.waitClose();
      await waitFor(
        async () => (await metricsOf(ctx, "metrics")).connections.active - before.connections.active === 1,
        "b released",
      );
      const after = await metricsOf(ctx, "metrics");
      assert.equal(after.connections.active - before.connections.active, 1);
      assert.equal(after.connections.total - before.connections.total, 2);
      assert.equal(after.messages.in - before.messages.in, 6);
      assert.equal(after.messages.out - before.messages.out, 6);
      assert.equal(after.bytes.in - before.bytes.in, 2 * (3 + 5 + 9));
      assert.equal(after.bytes.out - before.bytes.out, 2 * (3 + 5 + 9));
      const text = await (await ctx.http("main", "/__control/metrics/metrics?format=prometheus")).text();
      assert.match(text, new RegExp(`^verb_connections_active\\{profile="metrics"\\} ${after.connections.active}$`, "m"));
      assert.match(text, /^# TYPE verb_messages_in_total counter$/m);
    },
  },
];
