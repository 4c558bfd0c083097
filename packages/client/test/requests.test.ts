/** Requests over a real server: replies, the server's typed failures, and every way a request ends without one. */

import {
  AbortError,
  ClosedError,
  DroppedError,
  defineMessages,
  RequestError,
  TimeoutError,
  ValidationError,
  type VerbClientError,
} from "@verb/client";
import { createMessageRouter } from "@verb/core";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { closeAll, connect, opened, Site, sleep, startServer, type TestServer, until } from "./helpers.js";

const messages = defineMessages({
  client: {
    getUser: { payload: z.object({ id: z.number() }), reply: z.object({ id: z.number(), name: z.string() }) },
    badReply: { reply: z.object({ ok: z.literal(true) }) },
    slow: { payload: z.object({ ms: z.number() }) },
    limited: {},
    note: { payload: z.object({ text: z.string() }) },
  },
  server: {
    price: z.object({ type: z.literal("price"), value: z.number() }),
    tick: z.object({ n: z.number().int() }),
  },
});

let server: TestServer | undefined;
let sites: Site[] = [];
afterEach(async () => {
  await closeAll();
  await server?.close();
  await Promise.all(sites.map((site) => site.close()));
  server = undefined;
  sites = [];
});

/** The router's server options, and what its handlers saw. */
function routed() {
  const ran: string[] = [];
  const router = createMessageRouter({ messages, rateLimits: { limited: { messages: 1, per: 60 } } })
    .on("getUser", (_ws, { id }) => ({ id, name: `user ${id}` }))
    .on("badReply", () => ({ ok: "no" }) as never)
    .on("slow", async (_ws, { ms }) => {
      ran.push("slow");
      await sleep(ms);
      return "done";
    })
    .on("limited", () => "ok")
    .on("note", (_ws, { text }) => {
      ran.push(text);
    });
  return { options: { websocket: { message: router.handle } }, ran };
}

async function start() {
  const { options, ran } = routed();
  server = await startServer(options);
  return { server, ran };
}

describe("requests", () => {
  it("resolve with the reply, typed and validated by the shared definitions", async () => {
    const { server } = await start();
    const client = connect(server.url, { messages });
    const user = await client.request("getUser", { id: 7 });
    expectTypeOf(user).toEqualTypeOf<{ id: number; name: string }>();
    expect(user).toEqual({ id: 7, name: "user 7" });
    // Queued before the welcome, sent after it.
    const early = connect(server.url, { messages });
    expect(early.state).toBe("connecting");
    expect(await early.request("getUser", { id: 1 })).toEqual({ id: 1, name: "user 1" });
  });

  it("reject with RequestError carrying the server's message, issues and retryAfterMs", async () => {
    const { server } = await start();
    const client = connect(server.url, { messages });
    const invalid = (await client.request("getUser", { id: "x" as unknown as number }).catch((e) => e)) as RequestError;
    expect(invalid).toBeInstanceOf(RequestError);
    expect(invalid.message).toMatch(/^Invalid getUser message: id: /);
    expect(invalid.issues).toEqual([{ path: "id", message: expect.any(String) }]);
    const unknown = (await client.request("nope" as "limited").catch((e) => e)) as RequestError;
    expect(unknown.message).toBe("Unknown message type: nope");
    expect(await client.request("limited")).toBe("ok");
    const limited = (await client.request("limited").catch((e) => e)) as RequestError;
    expect(limited.message).toBe("Rate limit exceeded for limited");
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    const badReply = (await client.request("badReply").catch((e) => e)) as ValidationError;
    expect(badReply).toBeInstanceOf(ValidationError);
    expect(badReply.issues[0]?.path).toBe("ok");
    expect(client.stats.invalid).toBe(1);
  });

  it("reject with TimeoutError, AbortError and ClosedError; a request given up while queued is never sent", async () => {
    const { server } = await start();
    const client = connect(server.url, { messages });
    await opened(client);
    const timeout = (await client.request("slow", { ms: 300 }, { timeout: 50 }).catch((e) => e)) as TimeoutError;
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout.timeout).toBe(50);
    const controller = new AbortController();
    const aborted = client.request("slow", { ms: 300 }, { signal: controller.signal }).catch((e) => e);
    controller.abort(new Error("user left"));
    const abort = (await aborted) as AbortError;
    expect(abort).toBeInstanceOf(AbortError);
    expect((abort.cause as Error).message).toBe("user left");
    expect(await client.request("getUser", { id: 1 }, { signal: AbortSignal.abort() }).catch((e) => e)).toBeInstanceOf(
      AbortError,
    );
    const pending = client.request("slow", { ms: 1000 }).catch((e) => e);
    await sleep(20);
    await client.close();
    expect(await pending).toBeInstanceOf(ClosedError);
    expect(await client.request("getUser", { id: 1 }).catch((e) => e)).toBeInstanceOf(ClosedError);
    expect(client.stats.pendingRequests).toBe(0);

    // Queued while the server is away: timed out and aborted requests are dropped from the outbox.
    const first = routed();
    const site = await Site.start(first.options);
    sites.push(site);
    const offline = connect(site.url, { messages });
    await opened(offline);
    await site.stop();
    await until(() => offline.state === "reconnecting", "reconnecting");
    const queued = offline.request("note", { text: "timed out" }, { timeout: 30 }).catch((e: VerbClientError) => e);
    const abortLater = new AbortController();
    const abortedQueued = offline.request("note", { text: "aborted" }, { signal: abortLater.signal }).catch((e) => e);
    abortLater.abort();
    expect(await queued).toBeInstanceOf(TimeoutError);
    expect(await abortedQueued).toBeInstanceOf(AbortError);
    const kept = offline.request("note", { text: "kept" });
    expect(offline.stats.outbox).toBe(1);
    // Back at the same URL: the client reconnects by itself and sends only what is still wanted.
    const { options, ran } = routed();
    await site.restart(options);
    await expect(kept).resolves.toBeNull();
    expect(ran).toEqual(["kept"]);
  });

  it("reject with DroppedError when the outbox drops them", async () => {
    const client = connect("ws://127.0.0.1:9/", { messages, outbox: { maxMessages: 2, policy: "drop-oldest" } });
    const first = client.request("getUser", { id: 1 }).catch((e) => e);
    void client.request("getUser", { id: 2 }).catch(() => {});
    void client.request("getUser", { id: 3 }).catch(() => {});
    const dropped = (await first) as DroppedError;
    expect(dropped).toBeInstanceOf(DroppedError);
    expect(dropped.reason).toBe("full");
    const rejecting = connect("ws://127.0.0.1:9/", { messages, outbox: { maxMessages: 1, policy: "reject" } });
    void rejecting.request("getUser", { id: 1 }).catch(() => {});
    expect(await rejecting.request("getUser", { id: 2 }).catch((e) => e)).toBeInstanceOf(DroppedError);
    expect(rejecting.stats.dropped).toBe(1);
  });
});

describe("server messages", () => {
  it("are validated against messages.server: invalid ones go to the error event, never to listeners", async () => {
    const { server } = await start();
    const client = connect(server.url, { messages });
    const received: unknown[] = [];
    const errors: Error[] = [];
    client.on("message", (message) => {
      expectTypeOf(message).toEqualTypeOf<
        | { type: "price"; value: number }
        | { type: "tick"; n: number }
        | { type: "auth"; status: "success" | "error"; message?: string; user?: unknown }
        | { type: "error"; message: string; issues?: { path: string; message: string }[]; retryAfterMs?: number }
        | string
        | Uint8Array
      >();
      received.push(message);
    });
    client.on("error", (error) => errors.push(error));
    await opened(client);
    const socket = server.sockets[0];
    socket?.send(JSON.stringify({ type: "price", value: 1.5 }));
    socket?.send(JSON.stringify({ type: "price", value: "high" }));
    socket?.send(JSON.stringify({ type: "tick", n: 3 }));
    socket?.send(JSON.stringify({ type: "mystery" }));
    socket?.send(JSON.stringify({ type: "error", message: "from the router" }));
    socket?.send("plain text");
    socket?.send("\u001eplain text that looks like an envelope");
    socket?.send(new Uint8Array([1, 2, 3]));
    await until(() => received.length === 6, "six messages");
    expect(received).toEqual([
      { type: "price", value: 1.5 },
      // The schema's output; the type is put back when the schema drops it.
      { n: 3, type: "tick" },
      { type: "error", message: "from the router" },
      "plain text",
      "\u001eplain text that looks like an envelope",
      new Uint8Array([1, 2, 3]),
    ]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(/^Invalid price message: value: /),
      "Undeclared server message type: mystery",
    ]);
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect(client.stats.invalid).toBe(2);
  });

  it("keep their order behind an async schema", async () => {
    const { server } = await start();
    const slow = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) => new Promise<{ value: unknown }>((resolve) => setTimeout(() => resolve({ value }), 20)),
      },
    };
    const client = connect(server.url, { messages: defineMessages({ server: { slow } }) });
    const received: unknown[] = [];
    client.on("message", (message) => received.push(message));
    await opened(client);
    const socket = server.sockets[0];
    socket?.send(JSON.stringify({ type: "slow", i: 1 }));
    socket?.send("in between");
    socket?.send(JSON.stringify({ type: "slow", i: 2 }));
    await until(() => received.length === 3, "three messages");
    expect(received).toEqual([{ type: "slow", i: 1 }, "in between", { type: "slow", i: 2 }]);
  });

  it("arrive parsed without definitions: JSON objects and arrays, text, bytes", async () => {
    const { server } = await start();
    const client = connect(server.url);
    const received: unknown[] = [];
    client.on("message", (message, stream, seq) => received.push([message, stream, seq]));
    await opened(client);
    const socket = server.sockets[0];
    socket?.send('{"a":1}');
    socket?.send("[1,2]");
    socket?.send("{not json");
    socket?.send("42");
    await until(() => received.length === 4, "four messages");
    expect(received).toEqual([
      [{ a: 1 }, undefined, 0],
      [[1, 2], undefined, 0],
      ["{not json", undefined, 0],
      ["42", undefined, 0],
    ]);
  });
});
