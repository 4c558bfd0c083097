/**
 * The HTTP side, served by the same engine as the WebSockets: routing, middleware, bodies and
 * their limits, response helpers, streaming, files.
 */

import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { rawGet, rawRequest } from "../clients/http.js";
import type { Check, CheckContext } from "../types.js";

const category = "http";

async function get(ctx: CheckContext, path: string, init?: RequestInit) {
  const response = await ctx.http("http", path, { redirect: "manual", ...init });
  return { response, text: await response.text() };
}

/** POST with a streamed (chunked) body: no Content-Length for the server to check up front. */
function postChunked(
  port: number,
  path: string,
  chunks: Buffer[],
  contentType: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": contentType } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", (error: Error & { code?: string }) => {
      // A server may answer 413 and close while the body is still going out.
      if (error.code === "ECONNRESET" || error.code === "EPIPE") resolve({ status: -1, body: error.code });
      else reject(error);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

export const httpChecks: Check[] = [
  {
    id: "http.routing",
    title: "static routes, params, wildcards, query strings, all(); unknown paths 404",
    category,
    async run(ctx) {
      const hello = await get(ctx, "/hello");
      assert.equal(hello.response.status, 200);
      assert.equal(hello.text, "hello");
      assert.equal(hello.response.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.deepEqual(JSON.parse((await get(ctx, "/users/42?tab=posts&tab=x&q=a%20b")).text), {
        id: "42",
        query: { tab: "posts", q: "a b" },
      });
      assert.deepEqual(JSON.parse((await get(ctx, "/users/7/posts/99")).text), { id: "7", post: "99" });
      assert.deepEqual(JSON.parse((await get(ctx, "/files/a/b/c.txt")).text), { rest: "a/b/c.txt" });
      for (const method of ["GET", "POST", "PATCH"]) {
        const any = await get(ctx, "/any", { method });
        assert.deepEqual(JSON.parse(any.text), { method });
      }
      const missing = await get(ctx, "/nowhere");
      assert.equal(missing.response.status, 404);
    },
  },
  {
    id: "http.method-not-allowed",
    title: "405 with Allow for a known path and another method; HEAD answers GET routes without a body",
    category,
    async run(ctx) {
      const wrong = await get(ctx, "/items/5", { method: "PATCH" });
      assert.equal(wrong.response.status, 405);
      assert.equal(wrong.response.headers.get("allow"), "DELETE, PUT");
      const head = await get(ctx, "/hello", { method: "HEAD" });
      assert.equal(head.response.status, 200);
      assert.equal(head.text, "");
      const put = await get(ctx, "/items/5", { method: "PUT" });
      assert.deepEqual(JSON.parse(put.text), { put: "5" });
      const deleted = await get(ctx, "/items/5", { method: "DELETE" });
      assert.equal(deleted.response.status, 204);
    },
  },
  {
    id: "http.middleware",
    title: "middleware runs for every route, path-scoped middleware guards its prefix, the error handler answers failures",
    category,
    async run(ctx) {
      assert.equal((await get(ctx, "/hello")).response.headers.get("x-middleware"), "ran");
      assert.equal((await get(ctx, "/nowhere")).response.headers.get("x-middleware"), "ran");
      const denied = await get(ctx, "/admin/panel");
      assert.equal(denied.response.status, 401);
      assert.deepEqual(JSON.parse(denied.text), { error: "unauthorized" });
      const allowed = await get(ctx, "/admin/panel", { headers: { authorization: "Bearer ok" } });
      assert.equal(allowed.text, "admin");
      for (const [path, message] of [
        ["/boom", "route failure"],
        ["/boom-async", "async route failure"],
      ] as const) {
        const failed = await get(ctx, path);
        assert.equal(failed.response.status, 500);
        assert.deepEqual(JSON.parse(failed.text), { error: message });
      }
      assert.equal((await get(ctx, "/hello")).text, "hello", "the server keeps serving after failures");
    },
  },
  {
    id: "http.bodies",
    title: "bodies: JSON, text, URL-encoded form and raw bytes parsed by content type",
    category,
    async run(ctx) {
      const post = async (body: BodyInit, type: string) =>
        JSON.parse((await get(ctx, "/echo", { method: "POST", body, headers: { "content-type": type } })).text) as Record<
          string,
          unknown
        >;
      assert.deepEqual(await post(JSON.stringify({ a: 1, b: ["x"] }), "application/json"), {
        kind: "json",
        value: { a: 1, b: ["x"] },
      });
      assert.deepEqual(await post("plain words", "text/plain; charset=utf-8"), { kind: "text", value: "plain words" });
      assert.deepEqual(await post("name=Ada+L&lang=en&lang=fr", "application/x-www-form-urlencoded"), {
        kind: "json",
        value: { name: "Ada L", lang: "en" },
      });
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      assert.deepEqual(await post(bytes, "application/octet-stream"), { kind: "bytes", base64: bytes.toString("base64") });
    },
  },
  {
    id: "http.body-errors",
    title: "invalid JSON → 400 with a clear message; bodies over bodyLimit → 413, declared or streamed",
    category,
    async run(ctx) {
      const invalid = await get(ctx, "/echo", {
        method: "POST",
        body: "{not json",
        headers: { "content-type": "application/json" },
      });
      assert.equal(invalid.response.status, 400);
      assert.match(JSON.parse(invalid.text).error, /^Invalid JSON body: /);
      const declared = await get(ctx, "/echo", {
        method: "POST",
        body: "x".repeat(2000),
        headers: { "content-type": "text/plain" },
      });
      assert.equal(declared.response.status, 413);
      assert.match(JSON.parse(declared.text).error, /exceeds the limit of 1024 bytes/);
      const streamed = await postChunked(ctx.port("http"), "/echo", [Buffer.alloc(600, 97), Buffer.alloc(600, 98)], "text/plain");
      assert.equal(streamed.status, 413, `a streamed body over the limit must get 413 (got ${streamed.body || streamed.status})`);
      assert.match(JSON.parse(streamed.body).error, /exceeds the limit of 1024 bytes/);
      const within = await postChunked(ctx.port("http"), "/echo", [Buffer.alloc(400, 97), Buffer.alloc(400, 98)], "text/plain");
      assert.equal(within.status, 200);
      assert.equal((JSON.parse(within.body) as { value: string }).value.length, 800);
    },
  },
  {
    id: "http.response-helpers",
    title: "redirect, cookies (each Set-Cookie kept), web Response from a handler, a response sent from a timer, req.ip",
    category,
    async run(ctx) {
      const redirect = await get(ctx, "/redirect");
      assert.equal(redirect.response.status, 302);
      assert.equal(redirect.response.headers.get("location"), "/hello");
      const cookies = await get(ctx, "/cookies", { headers: { cookie: "session=s1; theme=dark" } });
      assert.deepEqual(JSON.parse(cookies.text), { received: { session: "s1", theme: "dark" } });
      const set = cookies.response.headers.getSetCookie();
      assert.equal(set.length, 2, `Set-Cookie headers: ${JSON.stringify(set)}`);
      assert.match(set[0] ?? "", /^a=1; Path=\/; HttpOnly$/);
      assert.match(set[1] ?? "", /^b=two%20words; Path=\/; SameSite=Lax$/);
      const web = await get(ctx, "/web");
      assert.equal(web.response.status, 202);
      assert.equal(web.response.headers.get("x-web"), "yes");
      assert.equal(web.text, "web response");
      assert.equal((await get(ctx, "/late")).text, "late answer");
      const ip = JSON.parse((await get(ctx, "/ip")).text) as { ip: string };
      assert.equal(ip.ip, "127.0.0.1", "req.ip of an IPv4 client is in IPv4 form on every engine");
    },
  },
  {
    id: "http.streaming",
    title: "a streamed body reaches the client chunk by chunk, before the stream ends",
    category,
    async run(ctx) {
      const started = Date.now();
      const response = await ctx.http("http", "/stream");
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      const firstAt = Date.now() - started;
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const endAt = Date.now() - started;
      assert.equal(text, "chunk1;chunk2;chunk3;");
      // The producer waits 150 ms between chunks: a streamed first chunk comes well before the end.
      assert.ok(endAt - firstAt >= 200, `the first chunk arrived ${endAt - firstAt} ms before the end: the body was buffered`);
    },
  },
  {
    id: "http.send-file",
    title: "sendFile: Content-Type, Content-Length, ETag, Last-Modified, 304 on If-None-Match and If-Modified-Since, HEAD",
    category,
    async run(ctx) {
      const page = await get(ctx, "/static/chat.html");
      assert.equal(page.response.status, 200);
      assert.equal(page.response.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(page.response.headers.get("content-length"), String(Buffer.byteLength(page.text)));
      assert.match(page.text, /chat page/);
      const etag = page.response.headers.get("etag");
      const lastModified = page.response.headers.get("last-modified");
      assert.ok(etag && lastModified, "ETag and Last-Modified must be set");
      const json = await get(ctx, "/static/data.json");
      assert.equal(json.response.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal((await get(ctx, "/static/nested/notes.txt")).text, "nested notes\n");
      const big = await ctx.http("http", "/static/blob.bin");
      assert.equal((await big.arrayBuffer()).byteLength, 200_000);
      const fresh = await get(ctx, "/static/chat.html", { headers: { "if-none-match": etag } });
      assert.equal(fresh.response.status, 304);
      assert.equal(fresh.text, "");
      const since = await get(ctx, "/static/chat.html", { headers: { "if-modified-since": lastModified } });
      assert.equal(since.response.status, 304);
      const head = await get(ctx, "/static/chat.html", { method: "HEAD" });
      assert.equal(head.response.status, 200);
      assert.equal(head.text, "");
      assert.equal(head.response.headers.get("etag"), etag);
    },
  },
  {
    id: "http.send-file-refusals",
    title:
      "sendFile: a missing file is 404; dot segments are resolved before routing (404), a .. behind an encoded slash or an absolute path is 403",
    category,
    async run(ctx) {
      assert.equal((await get(ctx, "/static/missing.txt")).response.status, 404);
      assert.equal((await get(ctx, "/static/nested")).response.status, 404, "a folder is not a file");
      assert.equal((await get(ctx, "/secret-absolute")).response.status, 403);
      const port = ctx.port("http");
      // Dot segments (plain or percent-encoded dots) are resolved by URL parsing before routing, as in
      // every browser: those paths become /secret.txt, which no route serves. A ".." that survives
      // into the route's parameter (hidden behind an encoded slash) is refused by sendFile: 403.
      for (const [path, status] of [
        ["/static/../secret.txt", 404],
        ["/static/%2e%2e/secret.txt", 404],
        ["/static/%2e%2e%2fsecret.txt", 403],
        ["/static/nested/..%2f..%2fsecret.txt", 403],
        ["/static/..%5csecret.txt", 403],
      ] as const) {
        const answer = await rawGet(port, path);
        assert.equal(answer.status, status, `${path}`);
        assert.ok(!answer.body.includes("TOP SECRET"), `${path} leaked the file`);
      }
    },
  },
  {
    id: "http.host-header",
    title: "a Host header that is not host[:port] cannot change the path the router sees",
    category,
    async run(ctx) {
      for (const host of ["evil/boom?", "x/admin/panel#", "a@b/boom"]) {
        const answer = await rawGet(ctx.port("http"), "/hello", { Host: host });
        assert.equal(answer.status, 200, `Host: ${host} answered ${answer.status}`);
        assert.equal(answer.body, "hello", `Host: ${host} reached another route`);
      }
    },
  },
  {
    id: "http.stream-cancel",
    title: "a client that leaves a streamed response cancels the stream (its producer stops)",
    category,
    async run(ctx) {
      await ctx.http("http", "/stream-state/reset", { method: "POST" });
      const controller = new AbortController();
      const response = await ctx.http("http", "/stream-forever", { signal: controller.signal });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => {});
      const deadline = Date.now() + 3000;
      let state = { started: 0, cancelled: 0 };
      while (Date.now() < deadline) {
        state = (await (await ctx.http("http", "/stream-state")).json()) as typeof state;
        if (state.cancelled >= 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(state.started, 1);
      assert.equal(state.cancelled, 1, "the stream's cancel() must run when the client goes away");
    },
  },
  {
    id: "http.forbidden-methods",
    title: "TRACE (a method the Fetch API cannot carry) gets 405; the server keeps serving",
    category,
    async run(ctx) {
      // TRACK and CONNECT are refused by some engines' HTTP parsers before any adapter sees them.
      const answer = await rawRequest(ctx.port("http"), "TRACE", "/hello");
      assert.equal(answer.status, 405);
      assert.equal((await get(ctx, "/hello")).text, "hello");
    },
  },
  {
    id: "http.stream-fails",
    title: "a streamed body that fails part-way cuts the connection: the client never takes the part for the whole",
    category,
    async run(ctx) {
      const response = await ctx.http("http", "/stream-fails");
      assert.equal(response.status, 200);
      await assert.rejects(response.text(), "reading a body whose producer failed must fail");
      assert.equal((await get(ctx, "/hello")).text, "hello");
    },
  },
];
