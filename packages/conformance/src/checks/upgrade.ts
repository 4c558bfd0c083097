/**
 * The upgrade: WebSocket routes, async upgrade hooks (data, headers, rejection), subprotocols,
 * origin checks, per-route res.upgrade().
 */

import assert from "node:assert/strict";
import { Opcode, RawClient } from "../clients/raw.js";
import { TestClient } from "../clients/ws-client.js";
import { deviationOrFail } from "../deviations.js";
import type { Check, CheckContext } from "../types.js";

const category = "upgrade";

function connect(ctx: CheckContext, path: string, headers: Record<string, string> = {}): Promise<RawClient> {
  return RawClient.connect(ctx.port("http"), { path, headers }).then((client) => {
    ctx.defer(() => client.destroy());
    return client;
  });
}

async function firstText(client: RawClient): Promise<string> {
  return (await client.nextFrame((f) => f.opcode === Opcode.TEXT)).payload.toString();
}

export const upgradeChecks: Check[] = [
  {
    id: "upgrade.hook-handshake-headers",
    title:
      "an upgrade hook that sets handshake or body headers (sec-websocket-*, upgrade, connection, content-*) is refused with 500, the same on every engine; other headers reach the 101",
    category,
    async run(ctx) {
      for (const name of [
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "Sec-WebSocket-Extensions",
        "upgrade",
        "connection",
        "content-type",
        "content-length",
      ]) {
        const refused = await RawClient.connect(ctx.port("hookheaders"), { path: `/?silent=1&set=${name}` });
        ctx.defer(() => refused.destroy());
        assert.equal(refused.response.status, 500, `a hook setting ${name}`);
      }
      const accepted = await RawClient.connect(ctx.port("hookheaders"), { path: "/?silent=1&set=x-custom" });
      ctx.defer(() => accepted.destroy());
      assert.equal(accepted.response.status, 101);
      assert.equal(accepted.response.headers["x-custom"], "x");
      assert.equal(accepted.response.headers["x-allowed"], "yes");
      assert.equal(accepted.response.headers["sec-websocket-protocol"], undefined, "no subprotocol was chosen");
    },
  },
  {
    id: "upgrade.res-upgrade-body-headers",
    title: "res.upgrade() after the route set headers: they reach the 101 except body headers (content-type)",
    category,
    async run(ctx) {
      const client = await RawClient.connect(ctx.port("main"), { path: "/res-upgrade-headers" });
      ctx.defer(() => client.destroy());
      assert.equal(client.response.status, 101);
      assert.equal(client.response.headers["x-route"], "kept");
      assert.equal(client.response.headers["content-type"], undefined, "a 101 carries no body headers");
      assert.equal(await firstText(client), "res-upgrade");
    },
  },
  {
    id: "upgrade.ws-route-426",
    title: "a plain GET on a WebSocket-only route gets 426 with Upgrade: websocket",
    category,
    async run(ctx) {
      for (const path of ["/ws/only", "/ws/auth"]) {
        const response = await ctx.http("http", path);
        assert.equal(response.status, 426, path);
        assert.equal(response.headers.get("upgrade"), "websocket");
      }
      const client = await connect(ctx, "/ws/only");
      assert.equal(client.response.status, 101);
      assert.equal(await firstText(client), "ws-only");
    },
  },
  {
    id: "upgrade.hook-rejects-after-timer",
    title: "an async upgrade hook that awaits a timer rejects with its status, headers and body",
    category,
    async run(ctx) {
      const client = await connect(ctx, "/ws/auth?token=bad");
      assert.equal(client.response.status, 401);
      assert.equal(client.response.headers["x-reason"], "bad token");
      assert.equal(client.response.body, "no entry");
      await client.waitEnd();
    },
  },
  {
    id: "upgrade.hook-accepts-after-timer",
    title: "an async upgrade hook that awaits a timer attaches data and 101 headers; its request snapshot survived the await",
    category,
    async run(ctx) {
      const client = await connect(ctx, "/ws/auth?token=good", { Cookie: "session=s1", "User-Agent": "verb-conformance" });
      assert.equal(client.response.status, 101);
      assert.equal(client.response.headers["set-cookie"], "session=abc; Path=/");
      assert.equal(client.response.headers["x-upgrade"], "accepted");
      assert.deepEqual(JSON.parse(await firstText(client)), {
        user: "alice",
        path: "/ws/auth",
        agent: "verb-conformance",
        cookie: "s1",
      });
    },
  },
  {
    id: "upgrade.hook-response-and-throw",
    title: "an upgrade hook may reject with a web Response; a throwing hook answers 500 and the server keeps serving",
    category,
    async run(ctx) {
      const teapot = await connect(ctx, "/ws/reject-response");
      assert.equal(teapot.response.status, 418);
      assert.equal(teapot.response.headers["x-kind"], "response");
      assert.equal(teapot.response.body, "teapot");
      const failing = await connect(ctx, "/ws/throwing-hook");
      assert.equal(failing.response.status, 500);
      const after = await connect(ctx, "/ws/only");
      assert.equal(after.response.status, 101);
    },
  },
  {
    id: "upgrade.refusal-shape",
    title:
      "every refusal carries a content type and Connection: close; a throwing origin policy answers 500 and the server keeps serving",
    category,
    async run(ctx) {
      const bare = await connect(ctx, "/ws/reject-bare");
      assert.equal(bare.response.status, 409);
      assert.equal(bare.response.body, "bare");
      assert.match(bare.response.headers["content-type"] ?? "", /^text\/plain/i);
      assert.equal(bare.response.headers.connection?.toLowerCase(), "close");
      const throwing = await connect(ctx, "/ws/origin-throws", { Origin: "https://any.example" });
      assert.equal(throwing.response.status, 500);
      assert.equal(throwing.response.headers.connection?.toLowerCase(), "close");
      const after = await connect(ctx, "/ws/only");
      assert.equal(after.response.status, 101);
    },
  },
  {
    id: "upgrade.subprotocols",
    title: "subprotocols: the server's list picks the first the client offered; nothing matching or no list → none answered",
    category,
    async run(ctx) {
      const picked = await connect(ctx, "/ws/proto", { "Sec-WebSocket-Protocol": "chat.v1, chat.v2" });
      assert.equal(picked.response.headers["sec-websocket-protocol"], "chat.v1");
      assert.equal(await firstText(picked), "protocol:chat.v1");
      const browser = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/ws/proto`, { protocols: ["chat.v2"] });
      ctx.defer(() => browser.terminate());
      assert.equal(browser.ws.protocol, "chat.v2");
      const none = await connect(ctx, "/ws/proto", { "Sec-WebSocket-Protocol": "other" });
      assert.equal(none.response.status, 101);
      assert.equal(none.response.headers["sec-websocket-protocol"], undefined);
      assert.equal(await firstText(none), "protocol:");
      const defaults = await RawClient.connect(ctx.port("main"), {
        path: `/?id=${ctx.id()}`,
        headers: { "Sec-WebSocket-Protocol": "a, b" },
      });
      ctx.defer(() => defaults.destroy());
      assert.equal(defaults.response.status, 101);
      assert.equal(defaults.response.headers["sec-websocket-protocol"], undefined, "no subprotocol unless the server names one");
    },
  },
  {
    id: "upgrade.hook-protocol",
    title: "an upgrade hook may choose an offered subprotocol; choosing one the client did not offer is refused (500)",
    category,
    async run(ctx) {
      const chosen = await connect(ctx, "/ws/hookproto?pick=beta", { "Sec-WebSocket-Protocol": "alpha, beta" });
      assert.equal(chosen.response.headers["sec-websocket-protocol"], "beta");
      assert.equal(await firstText(chosen), "protocol:beta");
      const invented = await connect(ctx, "/ws/hookproto?pick=gamma", { "Sec-WebSocket-Protocol": "alpha, beta" });
      assert.equal(invented.response.status, 500);
    },
  },
  {
    id: "upgrade.origin",
    title: "allowedOrigins: other origins get 403; listed (or accepted by the predicate) and origin-less clients pass",
    category,
    async run(ctx) {
      assert.equal((await connect(ctx, "/ws/origin", { Origin: "https://evil.example" })).response.status, 403);
      assert.equal((await connect(ctx, "/ws/origin", { Origin: "https://good.example" })).response.status, 101);
      assert.equal((await connect(ctx, "/ws/origin")).response.status, 101);
      assert.equal((await connect(ctx, "/ws/origin-fn", { Origin: "https://evil.example" })).response.status, 403);
      assert.equal((await connect(ctx, "/ws/origin-fn", { Origin: "https://app.trusted.example" })).response.status, 101);
    },
  },
  {
    id: "upgrade.res-upgrade",
    title:
      "a GET route upgrades with res.upgrade(data) and serves its page to plain GETs; sends before the socket opens go out once it opens, in order; a close before it, once it opens",
    category,
    async run(ctx) {
      const page = await ctx.http("http", "/chat");
      assert.equal(page.status, 200);
      assert.match(await page.text(), /chat page/);
      const client = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/chat`);
      ctx.defer(() => client.terminate());
      client.send("hi");
      assert.equal((await client.message()).text, "chat:hi:lobby");
      const refused = await connect(ctx, "/chat-refuse");
      assert.equal(refused.response.status, 403);
      assert.deepEqual(JSON.parse(refused.response.body), { error: "no websockets here" });
      // Sends before the engine opened the socket are "buffered" and all go out once it opens, in order.
      const early = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/early-sends`);
      ctx.defer(() => early.terminate());
      assert.equal((await early.message(0)).text, "early-1");
      assert.equal((await early.message(1)).text, "early-2");
      assert.deepEqual(JSON.parse((await early.message(2)).text), ["buffered", "buffered"]);
      // A close before the engine opened it: its close frame goes out once open (what was sent before it is dropped).
      const closing = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/early-close`);
      ctx.defer(() => closing.terminate());
      const closed = await closing.waitClose();
      assert.equal(closed.code, 4009);
      assert.equal(closed.reason, "closed early");
      assert.equal(closing.received.length, 0, "sends before the close are dropped with it");
    },
  },
  {
    id: "upgrade.res-upgrade-late-listener",
    title: "res.upgrade(): messages sent before the route attaches its listener are held, none lost, in order",
    category,
    async run(ctx) {
      const client = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/chat-late`);
      ctx.defer(() => client.terminate());
      for (let i = 0; i < 5; i++) client.send(`m${i}`);
      for (let i = 0; i < 5; i++) assert.equal((await client.message(i)).text, `late:m${i}`);
    },
  },
  {
    id: "upgrade.handshake-validation",
    title: "a bad Sec-WebSocket-Version gets 426 (with the supported version), a bad key 400",
    category,
    async run(ctx) {
      const version = await connect(ctx, "/ws/only", { "Sec-WebSocket-Version": "12" });
      assert.equal(version.response.status, 426);
      assert.equal(version.response.headers["sec-websocket-version"], "13");
      const key = await connect(ctx, "/ws/only", { "Sec-WebSocket-Key": "short" });
      assert.equal(key.response.status, 400);
    },
  },
  {
    id: "upgrade.connection-token",
    title:
      "an upgrade without Upgrade in Connection gets 400 (sync and async routes alike); Upgrade anywhere in the list is accepted",
    category,
    async run(ctx) {
      const refusal = "Invalid upgrade: the Connection header must include Upgrade";
      const plain = await connect(ctx, "/ws/only", { Connection: "close" });
      assert.equal(plain.response.status, 400, "Connection: close");
      assert.equal(plain.response.body, refusal);
      // An async auth decision must not get to act on it either (uWS would upgrade a socket it has closed).
      const async = await RawClient.connect(ctx.port("realtime"), {
        path: "/auth/reject?token=slow-tok-alice",
        headers: { Connection: "keep-alive" },
      });
      ctx.defer(() => async.destroy());
      assert.equal(async.response.status, 400, "Connection: keep-alive on an async route");
      assert.equal(async.response.body, refusal);
      const listed = await connect(ctx, "/ws/only", { Connection: "keep-alive, UPGRADE" });
      assert.equal(listed.response.status, 101, "Connection: keep-alive, UPGRADE");
      assert.equal(await firstText(listed), "ws-only");
    },
  },
  {
    id: "upgrade.http-1.0",
    title: "HTTP/1.0 requests are served: a plain GET gets its page, an upgrade its 101 (as Node, Bun and Deno do)",
    category,
    async run(ctx) {
      const { connect: tcp } = await import("node:net");
      const plain = await new Promise<string>((resolve, reject) => {
        const socket = tcp(ctx.port("http"), "127.0.0.1");
        let answer = "";
        socket.on("data", (chunk: Buffer) => {
          answer += chunk.toString("latin1");
        });
        socket.on("error", reject);
        socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
        socket.write("GET /hello HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        setTimeout(() => socket.destroy(), 3000).unref();
      });
      const upgraded = await RawClient.connect(ctx.port("http"), { path: "/ws/only", httpVersion: "1.0" });
      ctx.defer(() => upgraded.destroy());
      const status = (line: string) => line.split(" ").slice(1).join(" ");
      if (!plain.includes(" 200 ") || upgraded.response.status !== 101) {
        return deviationOrFail(
          ctx.adapter,
          "upgrade.http-1.0",
          `plain GET ${status(plain)}; upgrade ${upgraded.response.status}`,
          "HTTP/1.0 was not served",
        );
      }
      assert.equal(await firstText(upgraded), "ws-only");
    },
  },
  {
    id: "upgrade.header-injection",
    title: "101 headers from an upgrade hook cannot smuggle CR/LF: such a value answers 500",
    category,
    async run(ctx) {
      const clean = await connect(ctx, "/ws/header-from-query?room=lobby");
      assert.equal(clean.response.status, 101);
      assert.equal(clean.response.headers["x-room"], "lobby");
      const injected = await connect(ctx, "/ws/header-from-query?room=a%0d%0aset-cookie:%20admin=1");
      assert.equal(injected.response.status, 500);
      assert.equal(injected.response.headers["set-cookie"], undefined);
    },
  },
  {
    id: "upgrade.res-upgrade-bounded",
    title: "res.upgrade() without a listener holds at most maxBackpressure bytes, then closes 1008",
    category,
    timeoutMs: 20_000,
    async run(ctx) {
      const client = await TestClient.open(`ws://127.0.0.1:${ctx.port("http")}/send-only`);
      ctx.defer(() => client.terminate());
      const chunk = Buffer.alloc(1024 * 1024, 1);
      for (let i = 0; i < 20; i++) client.send(chunk, { binary: true });
      const closed = await client.waitClose(10_000);
      assert.deepEqual(closed, { code: 1008, reason: "no message listener" });
    },
  },
];
