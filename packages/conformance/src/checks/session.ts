/**
 * The Verb protocol on every engine: sessions that resume, numbered client messages exactly once,
 * requests and replies, subscriptions behind authorizeSubscribe, sequenced streams replayed from a
 * cursor, gaps reported. Spoken by the suite's own protocol speaker (clients/session.ts).
 */

import assert from "node:assert/strict";
import { SessionSpeaker, type SpeakerOptions } from "../clients/session.js";
import { TestClient } from "../clients/ws-client.js";
import type { Check, CheckContext } from "../types.js";
import { metricsOf, waitFor } from "./helpers.js";

const category = "session";

async function speaker(ctx: CheckContext, options: SpeakerOptions = {}, profile = "session", first = 0): Promise<SessionSpeaker> {
  const speaker = await SessionSpeaker.open(ctx.port(profile), options, first);
  ctx.defer(() => speaker.terminate());
  return speaker;
}

async function post(ctx: CheckContext, path: string, body: object, profile = "session"): Promise<Record<string, unknown>> {
  const response = await ctx.http(profile, path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  assert.equal(response.status, 200, path);
  return (await response.json()) as Record<string, unknown>;
}

const texts = (heard: { payload: string | Buffer }[]) => heard.map((h) => String(h.payload));

export const sessionChecks: Check[] = [
  {
    id: "session.hello",
    title:
      "a client offering verb.v1 is answered verb.v1; its hello gets a welcome (new session, nothing received); an invalid hello is closed 1008",
    category,
    async run(ctx) {
      const client = await speaker(ctx);
      assert.equal(client.client.ws.protocol, "verb.v1");
      assert.equal(client.welcome?.v, 1);
      assert.equal(client.welcome?.resumed, false);
      assert.equal(client.welcome?.received, 0);
      assert.match(String(client.welcome?.session), /^[0-9a-f-]{36}$/, "an unguessable session id");
      const bad = await speaker(ctx, { hello: false });
      bad.client.send(JSON.stringify({ type: "verb:hello", v: 99, session: null, cursors: {}, topics: [] }));
      const closed = await bad.client.waitClose();
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /^invalid hello: protocol version 99/);
    },
  },
  {
    id: "session.plain-without-hello",
    title: "a client that offers verb.v1 but sends something else first is served as a plain socket",
    category,
    async run(ctx) {
      const client = await speaker(ctx, { hello: false });
      client.client.send(JSON.stringify({ type: "add", a: 1, b: 2 }));
      // A plain socket: the router's return value is no reply, and nothing is enveloped.
      client.client.send("not json");
      const answer = await client.client.message(0);
      assert.equal(answer.text, '{"type":"error","message":"Invalid message format"}');
    },
  },
  {
    id: "session.numbered-once",
    title: "numbered client messages reach the message hook once: a repeated number (after a reconnect) is dropped and counted",
    category,
    async run(ctx) {
      const key = ctx.id();
      const client = await speaker(ctx);
      const count = JSON.stringify({ type: "count", key, echo: true });
      client.send(count);
      client.send(count, 1); // the same number again
      client.send(count, 1);
      client.send(JSON.stringify({ type: "count", key: `${key}-b`, echo: true }));
      await client.next((h) => h.kind === "plain" && h.payload === `counted:${key}-b`, "the next message handled");
      const handled = (await ctx.events(`session:${key}`)).filter((e) => e.type === "handled");
      assert.equal(handled.length, 1, "the repeated number reached the hook again");
      const seen = await metricsOf(ctx, "session");
      assert.ok(seen.sessions.repeats >= 2);
    },
  },
  {
    id: "session.requests",
    title:
      "requests get one reply with their number: the handler's return value (sync or async), typed errors for invalid messages and failing handlers; a repeat is answered from the cache without running the handler again",
    category,
    async run(ctx) {
      const client = await speaker(ctx);
      const add = client.request({ type: "add", a: 2, b: 40 });
      const slow = client.request({ type: "slow", ms: 30 });
      const unknown = client.request({ type: "nope" });
      const failing = client.request({ type: "fail" });
      const invalid = client.send("{not json", ++client.n, true);
      assert.deepEqual(await client.reply(add), { type: "verb:res", n: add, ok: true, data: 42 });
      assert.deepEqual(await client.reply(slow), { type: "verb:res", n: slow, ok: true, data: "slow done" });
      assert.deepEqual(await client.reply(unknown), {
        type: "verb:res",
        n: unknown,
        ok: false,
        error: { message: "Unknown message type: nope" },
      });
      assert.deepEqual(await client.reply(failing), {
        type: "verb:res",
        n: failing,
        ok: false,
        error: { message: "Internal error handling fail" },
      });
      assert.deepEqual((await client.reply(invalid)).error, { message: "Invalid message format" });
      const key = ctx.id();
      const counted = client.request({ type: "count", key });
      await client.reply(counted);
      client.request({ type: "count", key }, counted);
      await client.client.until(() => client.replies(counted).length === 2, "the cached reply");
      assert.equal((await ctx.events(`session:${key}`)).filter((e) => e.type === "handled").length, 1, "the handler ran once");
    },
  },
  {
    id: "session.reply-evicted",
    title:
      'a repeated request whose reply left the cache (256 replies kept) is answered ok:false "no longer available", never left hanging, and its handler does not run again',
    category,
    async run(ctx) {
      const client = await speaker(ctx);
      const key = ctx.id();
      const first = client.request({ type: "count", key });
      let last = first;
      for (let i = 0; i < 300; i++) last = client.request({ type: "add", a: i, b: 1 });
      await client.reply(last);
      client.request({ type: "count", key }, first);
      await client.client.until(() => client.replies(first).length === 2, "an answer to the repeat");
      assert.deepEqual(client.replies(first)[1], {
        type: "verb:res",
        n: first,
        ok: false,
        error: { message: "The reply is no longer available" },
      });
      assert.equal((await ctx.events(`session:${key}`)).filter((e) => e.type === "handled").length, 1, "the handler ran once");
    },
  },
  {
    id: "session.replaced",
    title:
      'a session resumed on a second connection closes the first with 3409 "session resumed elsewhere" (a close frame, so the other tab stops), and the new one has it',
    category,
    async run(ctx) {
      const first = await speaker(ctx);
      const second = await speaker(ctx, { session: first.welcome?.session });
      assert.equal(second.welcome?.resumed, true);
      const closed = await first.client.waitClose();
      assert.deepEqual([closed.code, closed.reason], [3409, "session resumed elsewhere"]);
      assert.deepEqual((await second.reply(second.request({ type: "add", a: 1, b: 2 }))).data, 3);
    },
  },
  {
    id: "session.subscriber-count",
    title: "app.subscriberCount(topic) counts session clients (which follow the topic's sequenced twin) beside plain subscribers",
    category,
    async run(ctx) {
      const topic = `count-${ctx.id()}`;
      const count = async () => {
        const response = await ctx.http("session", `/subscribers/${topic}`);
        return ((await response.json()) as { count: number }).count;
      };
      const client = await speaker(ctx, { topics: [topic] });
      await client.control("verb:stream", (m) => m.stream === topic);
      const plain = await TestClient.open(`ws://127.0.0.1:${ctx.port("session")}/?topic=${topic}`);
      ctx.defer(() => plain.terminate());
      await waitFor(async () => (await count()) === 2, "one session client and one plain subscriber");
      client.terminate();
      await waitFor(async () => (await count()) === 1, "the session client gone");
    },
  },
  {
    id: "session.subscribe",
    title:
      "client subscriptions: allowed topics are subscribed and their publishes arrive sequenced 1, 2, 3…; refused where authorizeSubscribe says no, for verb: topics, and everywhere without authorizeSubscribe",
    category,
    async run(ctx) {
      const topic = `prices-${ctx.id()}`;
      const client = await speaker(ctx);
      client.controlSend({ type: "verb:sub", topic });
      await client.control("verb:subscribed", (m) => m.topic === topic);
      const start = await client.control("verb:stream", (m) => m.stream === topic);
      assert.equal(start.seq, 0);
      await post(ctx, "/publish", { topic, count: 4, prefix: "p" });
      const heard = await client.until(topic, 4);
      assert.deepEqual(
        heard.map((h) => h.seq),
        [1, 2, 3, 4],
      );
      assert.deepEqual(texts(heard), ["p0", "p1", "p2", "p3"]);
      for (const refused of [`forbidden-${ctx.id()}`, "verb:clients"]) {
        client.controlSend({ type: "verb:sub", topic: refused });
        await client.control("verb:refused", (m) => m.topic === refused);
      }
      const plain = await speaker(ctx, {}, "sessionplain");
      plain.controlSend({ type: "verb:sub", topic });
      const refused = await plain.control("verb:refused", (m) => m.topic === topic);
      assert.match(String(refused.message), /authorizeSubscribe/);
    },
  },
  {
    id: "session.resume",
    title:
      "resume: a client that comes back with its session and cursor gets exactly the messages it missed, in order, before new ones; the session remembers what it received",
    category,
    async run(ctx) {
      const topic = `resume-${ctx.id()}`;
      const first = await speaker(ctx, { topics: [topic] });
      await first.control("verb:stream", (m) => m.stream === topic);
      await post(ctx, "/publish", { topic, count: 2, prefix: "a" });
      await first.until(topic, 2);
      first.send(JSON.stringify({ type: "count", key: ctx.id() }));
      first.send(JSON.stringify({ type: "count", key: ctx.id() }));
      // What the server received is known once it answered something after those.
      await first.reply(first.request({ type: "add", a: 1, b: 1 }));
      const cursor = first.cursor(topic);
      first.terminate();
      await first.client.waitClose();
      await post(ctx, "/publish", { topic, count: 3, prefix: "b" });
      const back = await speaker(
        ctx,
        { session: first.welcome?.session, cursors: { [topic]: cursor }, topics: [topic] },
        "session",
        3,
      );
      assert.equal(back.welcome?.resumed, true);
      assert.equal(back.welcome?.received, 3, "the session knows the last client message it received");
      const start = await back.control("verb:stream", (m) => m.stream === topic);
      assert.equal(start.seq, 2, "the stream restarts after the cursor");
      await post(ctx, "/publish", { topic, count: 1, prefix: "c" });
      const heard = await back.until(topic, 4);
      assert.deepEqual(texts(heard), ["b0", "b1", "b2", "c0"], "missed first, in order, then live; nothing twice");
      assert.deepEqual(
        heard.map((h) => h.seq),
        [3, 4, 5, 6],
      );
    },
  },
  {
    id: "session.gap",
    title:
      "a cursor the history no longer holds (5 messages kept) gets a gap { from, to } then what is held; a cursor from another epoch gets an epoch gap and the stream from its start",
    category,
    async run(ctx) {
      const topic = `gap-${ctx.id()}`;
      const first = await speaker(ctx, { topics: [topic] });
      const start = await first.control("verb:stream", (m) => m.stream === topic);
      first.terminate();
      await post(ctx, "/publish", { topic, count: 8, prefix: "g" });
      const back = await speaker(ctx, { cursors: { [topic]: { epoch: String(start.epoch), seq: 0 } }, topics: [topic] });
      const gap = await back.control("verb:gap", (m) => m.stream === topic);
      assert.deepEqual(gap, { type: "verb:gap", stream: topic, from: 1, to: 3, reason: "retention" });
      assert.deepEqual(texts(await back.until(topic, 5)), ["g3", "g4", "g5", "g6", "g7"]);
      const other = await speaker(ctx, { cursors: { [topic]: { epoch: "an-old-epoch", seq: 7 } }, topics: [topic] });
      const reset = await other.control("verb:gap", (m) => m.stream === topic);
      assert.deepEqual(reset, { type: "verb:gap", stream: topic, from: 8, to: null, reason: "epoch" });
      assert.equal((await other.control("verb:stream", (m) => m.stream === topic)).seq, 0);
      assert.equal((await other.until(topic, 5)).length, 5, "everything the new epoch holds");
      assert.ok((await metricsOf(ctx, "session")).sessions.gaps >= 2);
    },
  },
  {
    id: "session.user-stream",
    title: "a signed-in session client follows its user's stream (app.users.send): sequenced, and resumed after a reconnect",
    category,
    async run(ctx) {
      const user = `u-${ctx.id()}`;
      const stream = `verb:user:${user}`;
      const first = await speaker(ctx, { query: `token=${user}` });
      await first.control("verb:stream", (m) => m.stream === stream);
      await post(ctx, `/user/${user}`, { count: 2, prefix: "x" });
      assert.deepEqual(texts(await first.until(stream, 2)), ["x0", "x1"]);
      const cursor = first.cursor(stream);
      first.terminate();
      await first.client.waitClose();
      await post(ctx, `/user/${user}`, { count: 2, prefix: "y" });
      const back = await speaker(ctx, { query: `token=${user}`, session: first.welcome?.session, cursors: { [stream]: cursor } });
      assert.deepEqual(texts(await back.until(stream, 2)), ["y0", "y1"]);
      assert.equal(back.welcome?.resumed, true);
      const stranger = await speaker(ctx, { query: "token=someone-else", session: first.welcome?.session });
      assert.equal(stranger.welcome?.resumed, false, "another user cannot take the session over");
    },
  },
  {
    id: "session.client-stream",
    title:
      "app.clients.sendTo a session client: sequenced; while it is away it waits in the client's stream and is replayed when it registers again",
    category,
    async run(ctx) {
      const clientId = `cl-${ctx.id()}`;
      const stream = `verb:client:${clientId}`;
      const first = await speaker(ctx);
      assert.deepEqual((await first.reply(first.request({ type: "register", clientId }))).data, `registered:${clientId}`);
      await first.control("verb:stream", (m) => m.stream === stream);
      assert.deepEqual((await post(ctx, `/client/${clientId}`, { count: 2, prefix: "d" })).statuses, ["sent", "sent"]);
      assert.deepEqual(texts(await first.until(stream, 2)), ["d0", "d1"]);
      const cursor = first.cursor(stream);
      first.terminate();
      await first.client.waitClose();
      await waitFor(async () => (await post(ctx, `/client/${clientId}`, { count: 0 })).statuses !== undefined, "the server up");
      assert.deepEqual((await post(ctx, `/client/${clientId}`, { count: 2, prefix: "e" })).statuses, ["queued", "queued"]);
      const back = await speaker(ctx, { session: first.welcome?.session, cursors: { [stream]: cursor } }, "session", first.n);
      await back.reply(back.request({ type: "register", clientId }));
      assert.deepEqual(texts(await back.until(stream, 2)), ["e0", "e1"]);
    },
  },
  {
    id: "session.envelopes",
    title:
      "binary publishes arrive in binary envelopes; a direct send that starts with the record separator arrives escaped and intact; a socket's own publish reaches it as a skip, the others as the message",
    category,
    async run(ctx) {
      const topic = `env-${ctx.id()}`;
      const a = await speaker(ctx, { topics: [topic] });
      const b = await speaker(ctx, { topics: [topic] });
      await a.control("verb:stream", (m) => m.stream === topic);
      await b.control("verb:stream", (m) => m.stream === topic);
      await post(ctx, "/publish", { topic, count: 1, prefix: "bin", binary: true });
      const [binary] = await a.until(topic, 1);
      assert.ok(Buffer.isBuffer(binary?.payload), "a binary envelope");
      assert.equal(String(binary?.payload), "bin0");
      const raw = "\u001eraw\nbytes";
      await a.reply(a.request({ type: "raw", text: raw }));
      const plain = await a.next((h) => h.kind === "plain" && h.payload === raw, "the escaped direct send");
      assert.equal(plain.kind, "plain");
      await a.reply(a.request({ type: "publish", topic, text: "from a" }));
      const [, mine] = await a.until(topic, 2);
      assert.equal(mine?.skip, true, "the publisher gets a skip");
      assert.equal(mine?.seq, 2);
      const [, theirs] = await b.until(topic, 2);
      assert.equal(theirs?.skip, false);
      assert.equal(theirs?.payload, "from a");
    },
  },
];
