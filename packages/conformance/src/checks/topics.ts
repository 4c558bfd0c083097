/**
 * Topics: self-exclusion, publish from anywhere, counts, cleanup on close, ordering per publisher,
 * frame types, compression and backpressure per subscriber.
 */

import assert from "node:assert/strict";
import { inflateMessage, Opcode } from "../clients/raw.js";
import type { TestClient } from "../clients/ws-client.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, DEFLATE_OFFER, waitFor } from "./helpers.js";

const category = "topics";
const MiB = 1024 * 1024;

async function subscriber(ctx: CheckContext, profile: string, topic: string, id = ctx.id()): Promise<TestClient> {
  const client = await ctx.open(profile, id, { query: "silent=1" });
  client.send(cmd({ op: "subscribe", topic }));
  assert.equal((await client.message()).text, `subscribed:${topic}`);
  return client;
}

async function publishHttp(ctx: CheckContext, profile: string, query: string, body = "") {
  const response = await ctx.http("main", `/__control/publish/${profile}?${query}`, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain" },
  });
  assert.equal(response.status, 200);
  return (await response.json()) as { results: boolean[]; subscribers: number };
}

async function subscribers(ctx: CheckContext, profile: string, topic: string): Promise<number> {
  const response = await ctx.http("main", `/__control/subscribers/${profile}?topic=${encodeURIComponent(topic)}`);
  return ((await response.json()) as { count: number }).count;
}

function unique(ctx: CheckContext, name: string): string {
  return `${name}-${ctx.id()}`;
}

export const topicChecks: Check[] = [
  {
    id: "topics.interleaved-order",
    title:
      "sends, server publishes and a close made in one callback reach a subscriber in that order (uWS defers server publishes: they are flushed first)",
    category,
    async run(ctx) {
      const topic = unique(ctx, "interleave");
      const actor = await ctx.raw("main", ctx.id(), { query: "silent=1" });
      actor.sendText(cmd({ op: "subscribe", topic }));
      await actor.nextFrame((f) => f.opcode === Opcode.TEXT);
      const other = await subscriber(ctx, "main", topic);
      actor.sendText(cmd({ op: "interleave", topic }));
      const close = await actor.nextFrame((f) => f.opcode === Opcode.CLOSE);
      const before = actor.frames.slice(0, actor.frames.indexOf(close));
      const texts = before.filter((f) => f.opcode === Opcode.TEXT).map((f) => f.payload.toString());
      assert.deepEqual(texts.slice(1), ["i1", "i2", "i3", "i4"], "the socket that did it, before its close");
      assert.equal(close.payload.readUInt16BE(0), 4005, "then its close");
      assert.equal((await other.message()).text, "i2");
      assert.equal((await other.message()).text, "i4");
    },
  },
  {
    id: "topics.self-exclusion",
    title: "ws.publish reaches every subscriber but the sender",
    category,
    async run(ctx) {
      const topic = unique(ctx, "room");
      const aId = ctx.id();
      const a = await subscriber(ctx, "main", topic, aId);
      const b = await subscriber(ctx, "main", topic);
      const c = await subscriber(ctx, "main", topic);
      a.send(cmd({ op: "publish", topic, data: "from-a" }));
      assert.equal((await b.message()).text, "from-a");
      assert.equal((await c.message()).text, "from-a");
      a.send("echo-after-publish");
      assert.equal((await a.message()).text, "echo-after-publish", "the sender must not receive its own publish");
      const published = await ctx.waitEvent(aId, (e) => e.type === "published", "the publish result");
      assert.deepEqual(published.results, [true]);
    },
  },
  {
    id: "topics.publish-without-subscriptions",
    title: "a socket subscribed to nothing can publish (uWS cannot natively); ws.publish returns whether anyone else subscribes",
    category,
    async run(ctx) {
      const topic = unique(ctx, "news");
      const listener = await subscriber(ctx, "main", topic);
      const publisherId = ctx.id();
      const publisher = await ctx.open("main", publisherId, { query: "silent=1" });
      publisher.send(cmd({ op: "publish", topic, data: "headline" }));
      assert.equal((await listener.message()).text, "headline");
      const reached = await ctx.waitEvent(publisherId, (e) => e.type === "published", "the publish result");
      assert.deepEqual(reached.results, [true]);
      // Nobody else on the topic: false, from a socket with no subscriptions and from its only subscriber.
      const alone = unique(ctx, "alone");
      const loneId = ctx.id();
      const lone = await subscriber(ctx, "main", alone, loneId);
      lone.send(cmd({ op: "publish", topic: alone, data: "echo?" }));
      publisher.send(cmd({ op: "publish", topic: unique(ctx, "nobody"), data: "void" }));
      const own = await ctx.waitEvent(loneId, (e) => e.type === "published", "the lone subscriber's publish result");
      assert.deepEqual(own.results, [false], "a publish only its sender subscribes to reaches nobody");
      await waitFor(
        async () => (await ctx.events(publisherId)).filter((e) => e.type === "published").length === 2,
        "the second publish result",
      );
      const results = (await ctx.events(publisherId)).filter((e) => e.type === "published").map((e) => e.results);
      assert.deepEqual(results[1], [false], "a publish to a topic nobody subscribes to reaches nobody");
    },
  },
  {
    id: "topics.publish-from-http",
    title: "app.publish from an HTTP route reaches every subscriber; counts are reported",
    category,
    async run(ctx) {
      const topic = unique(ctx, "alerts");
      const clients = await Promise.all([0, 1, 2].map(() => subscriber(ctx, "main", topic)));
      const result = await publishHttp(ctx, "main", `topic=${topic}`, "from http");
      assert.deepEqual(result, { results: [true], subscribers: 3 });
      for (const client of clients) assert.equal((await client.message()).text, "from http");
      const nobody = await publishHttp(ctx, "main", `topic=${unique(ctx, "empty")}`, "to nobody");
      assert.deepEqual(nobody, { results: [false], subscribers: 0 });
    },
  },
  {
    id: "topics.counts-and-cleanup",
    title: "subscriber counts follow subscribe, unsubscribe and close; ws.topics and isSubscribed",
    category,
    async run(ctx) {
      const topic = unique(ctx, "count");
      const other = unique(ctx, "other");
      const a = await subscriber(ctx, "main", topic);
      const b = await subscriber(ctx, "main", topic);
      const c = await subscriber(ctx, "main", topic);
      c.send(cmd({ op: "subscribe", topic: other }));
      await c.message();
      assert.equal(await subscribers(ctx, "main", topic), 3);
      c.send(cmd({ op: "topics", topic }));
      const listed = JSON.parse((await c.message()).text) as { topics: string[]; isSubscribed: boolean };
      assert.deepEqual(listed.topics.sort(), [topic, other].sort());
      assert.equal(listed.isSubscribed, true);
      b.send(cmd({ op: "unsubscribe", topic }));
      assert.equal((await b.message()).text, `unsubscribed:${topic}`);
      assert.equal(await subscribers(ctx, "main", topic), 2);
      b.send(cmd({ op: "topics", topic }));
      assert.deepEqual(JSON.parse((await b.message()).text), { topics: [], isSubscribed: false }, "after unsubscribe");
      // A socket that never subscribed: no topics, subscribed to none.
      const never = await ctx.open("main", ctx.id(), { query: "silent=1" });
      never.send(cmd({ op: "topics", topic }));
      assert.deepEqual(JSON.parse((await never.message()).text), { topics: [], isSubscribed: false }, "never subscribed");
      c.close(1000);
      await c.waitClose();
      await waitFor(async () => (await subscribers(ctx, "main", topic)) === 1, "a closed socket leaves its topics");
      assert.equal(await subscribers(ctx, "main", other), 0);
      a.terminate();
      await waitFor(async () => (await subscribers(ctx, "main", topic)) === 0, "a dropped socket leaves its topics");
    },
  },
  {
    id: "topics.ordering",
    title: "publishes from one publisher arrive in order (500 messages, socket and server publish)",
    category,
    async run(ctx) {
      const topic = unique(ctx, "seq");
      const listener = await subscriber(ctx, "main", topic);
      const publisher = await ctx.open("main", ctx.id(), { query: "silent=1" });
      publisher.send(cmd({ op: "publish", topic, data: "s", count: 500 }));
      for (let i = 0; i < 500; i++) assert.equal((await listener.message()).text, `s${i}`);
      await publishHttp(ctx, "main", `topic=${topic}&count=200`, "h");
      for (let i = 0; i < 200; i++) assert.equal((await listener.message()).text, `h${i}`);
    },
  },
  {
    id: "topics.frame-types",
    title:
      "published strings arrive as text frames, bytes as binary frames, from a publisher that subscribes to nothing and from one that subscribes (the engine's own publish)",
    category,
    async run(ctx) {
      const topic = unique(ctx, "types");
      const listener = await subscriber(ctx, "main", topic);
      const loner = await ctx.open("main", ctx.id(), { query: "silent=1" });
      // A socket with subscriptions of its own publishes through the engine (native topics).
      const member = await subscriber(ctx, "main", unique(ctx, "elsewhere"));
      for (const [who, publisher] of [
        ["unsubscribed", loner],
        ["subscribed", member],
      ] as const) {
        publisher.send(cmd({ op: "publish", topic, size: 10 }));
        publisher.send(cmd({ op: "publish", topic, size: 10, binary: true }));
        const text = await listener.message();
        const binary = await listener.message();
        assert.equal(text.isBinary, false, `a string from the ${who} publisher must arrive as text`);
        assert.equal(text.text, "p".repeat(10));
        assert.equal(binary.isBinary, true, `bytes from the ${who} publisher must arrive as binary`);
        assert.ok(binary.data.equals(Buffer.alloc(10, 0x70)), `bytes from the ${who} publisher: payload`);
      }
    },
  },
  {
    id: "topics.buffer-reuse",
    title: "a published buffer may be reused right after app.publish: subscribers get what was published",
    category,
    async run(ctx) {
      const topic = unique(ctx, "reuse");
      const listener = await subscriber(ctx, "main", topic);
      const publisher = await ctx.open("main", ctx.id(), { query: "silent=1" });
      publisher.send(cmd({ op: "publish-reuse", topic }));
      const got = await listener.message();
      assert.equal(got.isBinary, true);
      assert.equal(got.data.toString(), "original");
    },
  },
  {
    id: "topics.compression",
    title: "publish follows the compression rule: large messages compressed (RSV1), small ones plain",
    category,
    async run(ctx) {
      const topic = unique(ctx, "zip");
      const raw = await ctx.raw("shared", ctx.id(), {
        query: "silent=1",
        headers: DEFLATE_OFFER,
      });
      raw.sendText(cmd({ op: "subscribe", topic }));
      await raw.nextFrame((f) => f.opcode === Opcode.TEXT);
      const before = raw.frames.length;
      await publishHttp(ctx, "shared", `topic=${topic}&size=8000`);
      const large = await raw.nextFrame((f) => f.opcode === Opcode.TEXT, 5000, before);
      assert.equal(large.rsv1, true, "an 8000-byte publish must be compressed");
      assert.equal(inflateMessage(large.payload).toString(), "q".repeat(8000));
      const from = raw.frames.length;
      await publishHttp(ctx, "shared", `topic=${topic}&size=100`);
      const small = await raw.nextFrame((f) => f.opcode === Opcode.TEXT, 5000, from);
      assert.equal(small.rsv1, false, "a 100-byte publish must not be compressed");
      assert.equal(small.payload.toString(), "q".repeat(100));
    },
  },
  {
    id: "topics.backpressure-drop",
    title: "publish obeys each subscriber's limit: a stalled subscriber loses messages, a reading one gets all",
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const topic = unique(ctx, "flood");
      const stalled = await ctx.raw("bp", ctx.id(), { query: "silent=1" });
      stalled.sendText(cmd({ op: "subscribe", topic }));
      await stalled.nextFrame((f) => f.opcode === Opcode.TEXT);
      stalled.pause();
      const reader = await subscriber(ctx, "bp", topic);
      const count = 30;
      for (let i = 0; i < count; i++) {
        await publishHttp(ctx, "bp", `topic=${topic}&size=${MiB}&binary=1`);
        await reader.message(i + 1, 10_000);
      }
      stalled.resume();
      // A direct answer comes after everything queued for this socket: count what came before it.
      // While the buffer is still over the limit the answer itself is dropped: ask again until one arrives.
      const isMarker = (f: { opcode: number; payload: Buffer }) =>
        f.opcode === Opcode.TEXT && f.payload.toString().startsWith("{");
      for (let attempt = 0; attempt < 100 && !stalled.frames.some(isMarker); attempt++) {
        stalled.sendText(cmd({ op: "topics", topic }));
        await stalled.nextFrame(isMarker, 200).catch(() => undefined);
      }
      const marker = await stalled.nextFrame(isMarker, 5000);
      const got = stalled.frames.slice(0, stalled.frames.indexOf(marker)).filter((f) => f.opcode === Opcode.BINARY).length;
      assert.ok(got < count, `the stalled subscriber received all ${count} MiB: nothing was dropped`);
      assert.ok(got >= 1, "the stalled subscriber received nothing at all");
      assert.equal(reader.received.length, count + 1, "the reading subscriber got every publish");
    },
  },
  {
    id: "topics.backpressure-close",
    title: 'closeOnBackpressureLimit applies to publishes: the stalled subscriber is closed (1006 "backpressure limit")',
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const topic = unique(ctx, "floodclose");
      const stalledId = ctx.id();
      const stalled = await ctx.raw("bpclose", stalledId, { query: "silent=1" });
      stalled.sendText(cmd({ op: "subscribe", topic }));
      await stalled.nextFrame((f) => f.opcode === Opcode.TEXT);
      stalled.pause();
      const reader = await subscriber(ctx, "bpclose", topic);
      for (let i = 0; i < 30; i++) {
        await publishHttp(ctx, "bpclose", `topic=${topic}&size=${MiB}&binary=1`);
        await reader.message(i + 1, 10_000);
      }
      const closed = await ctx.waitEvent(stalledId, (e) => e.type === "close", "the stalled subscriber's close hook", 10_000);
      assert.equal(closed.code, 1006);
      assert.equal(closed.reason, "backpressure limit");
      assert.equal(reader.closeInfo, undefined, "the reading subscriber stays open");
    },
  },
];
