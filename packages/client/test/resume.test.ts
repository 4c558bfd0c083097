/**
 * Resume over real connection cuts: client → server exactly once (numbers, welcome.received),
 * server → client exactly once and in order (cursors, replay), discontinuities when the history
 * is gone or the server restarted, skips, and cursors carried over a "page reload" by storage.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Discontinuity, memoryStorage } from "@verb/client";
import { fileStorage } from "@verb/client/node";
import { createMessageRouter, type ServerOptions } from "@verb/core";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, connect, opened, Site, sleep, startServer, TcpProxy, type TestServer, until } from "./helpers.js";

let servers: TestServer[] = [];
let proxies: TcpProxy[] = [];
let sites: Site[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all([...servers.map((s) => s.close()), ...proxies.map((p) => p.close()), ...sites.map((s) => s.close())]);
  servers = [];
  proxies = [];
  sites = [];
});

async function serve(options: ServerOptions<Record<string, unknown>> = {}) {
  const server = await startServer(options);
  servers.push(server);
  return server;
}

const subscribable = { authorizeSubscribe: () => true };

describe("client → server, exactly once", () => {
  it("delivers every message once and in order across repeated cuts", async () => {
    const received: number[] = [];
    const server = await serve({ websocket: { message: (_ws, message) => void received.push(Number(message)) } });
    const proxy = await TcpProxy.start(server.port);
    proxies.push(proxy);
    const client = connect(proxy.url, { outbox: { maxMessages: 10_000 } });
    const resumed: boolean[] = [];
    client.on("open", (info) => resumed.push(info.resumed));
    await opened(client);
    let n = 0;
    for (let round = 0; round < 8; round++) {
      // Every other round the proxy stops forwarding first: what it swallows is lost and must be re-sent.
      if (round % 2 === 0) proxy.pause();
      for (let i = 0; i < 250; i++) client.send(String(++n));
      await sleep(1);
      proxy.cut();
      proxy.resume();
      await sleep(round % 4 === 1 ? 30 : 0);
    }
    await until(() => received.length >= n && client.state === "open", "every message", 10_000);
    await sleep(50);
    expect(received).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(resumed.slice(1).every(Boolean)).toBe(true);
    expect(client.stats.resent).toBeGreaterThan(0);
  });

  it("runs a request's handler once when the connection drops while it runs, and still settles it", async () => {
    let runs = 0;
    const router = createMessageRouter().on("slow", async () => {
      runs++;
      await sleep(100);
      return "finished";
    });
    const server = await serve({ websocket: { message: router.handle } });
    const proxy = await TcpProxy.start(server.port);
    proxies.push(proxy);
    const client = connect(proxy.url);
    await opened(client);
    const reply = client.request("slow");
    await sleep(30);
    proxy.cut();
    expect(await reply).toBe("finished");
    expect(runs).toBe(1);
  });

  it("gets the reply of a request the server received, whose answer was made while the client was away", async () => {
    let runs = 0;
    const router = createMessageRouter().on("slow", async () => {
      runs++;
      await sleep(150);
      return "made while you were away";
    });
    const server = await serve({ websocket: { message: router.handle } });
    const proxy = await TcpProxy.start(server.port);
    proxies.push(proxy);
    // A small outbox: every send asks for an acknowledgement, so the request is acknowledged at once.
    const client = connect(proxy.url, { outbox: { maxMessages: 4 } });
    await opened(client);
    const reply = client.request("slow");
    await until(() => runs === 1, "the handler running");
    await sleep(20);
    proxy.cut();
    proxy.block(300);
    expect(await reply).toBe("made while you were away");
    expect(runs).toBe(1);
  });
});

describe("server → client, exactly once and in order", () => {
  it("replays what was published while the client was away, for its topics and the application's", async () => {
    const server = await serve({ websocket: { ...subscribable, open: (ws) => ws.subscribe("room:1") } });
    const client = connect(server.url);
    const got: string[] = [];
    client.on("message", (message, stream, seq) => got.push(`${stream}#${seq}:${String(message)}`));
    await client.subscribe("news");
    for (let i = 1; i <= 3; i++) server.handle.publish("news", `n${i}`);
    server.handle.publish("room:1", "r1");
    await until(() => got.length === 4, "the live messages");
    // Cut from the server side, and publish before the client can be back.
    server.sockets[0]?.terminate();
    for (let i = 4; i <= 6; i++) server.handle.publish("news", `n${i}`);
    server.handle.publish("room:1", "r2");
    const info = await opened(client);
    expect(info.resumed).toBe(true);
    await until(() => got.length === 8, "the missed messages");
    server.handle.publish("news", "n7");
    await until(() => got.length === 9, "a live one after the replay");
    expect(got).toEqual([
      "news#1:n1",
      "news#2:n2",
      "news#3:n3",
      "room:1#1:r1",
      "room:1#2:r2",
      "news#4:n4",
      "news#5:n5",
      "news#6:n6",
      "news#7:n7",
    ]);
    expect(client.stats.duplicates).toBe(0);
    expect(client.cursors()).toMatchObject({ news: { seq: 7 }, "room:1": { seq: 2 } });
  });

  it("asks for a replay when a live stream skips a number, and delivers in order once it is filled", async () => {
    const server = await serve({ websocket: subscribable });
    // A lossy path: the first copy of message 2 never arrives (the replayed one does).
    let copies = 0;
    const proxy = await TcpProxy.start(server.port, {
      dropDown: (text) => text.endsWith("\nlost on the way") && copies++ === 0,
    });
    proxies.push(proxy);
    const client = connect(proxy.url);
    const got: string[] = [];
    const gaps: Discontinuity[] = [];
    client.on("message", (message) => got.push(String(message)));
    client.on("discontinuity", (gap) => gaps.push(gap));
    await client.subscribe("news");
    server.handle.publish("news", "first");
    server.handle.publish("news", "lost on the way");
    server.handle.publish("news", "third");
    server.handle.publish("news", "fourth");
    await until(() => got.length === 4, "all four");
    expect(got).toEqual(["first", "lost on the way", "third", "fourth"]);
    expect(copies).toBe(2);
    expect(gaps).toEqual([]);
    // The replay re-sends 3 and 4 too: they were held, so they are dropped as repeats.
    await until(() => client.stats.duplicates === 2, "the repeats");
    expect(client.stats.replays).toBe(1);
  });

  it("reports a discontinuity when the retention was exceeded, then delivers what is left", async () => {
    const server = await serve({ websocket: { ...subscribable, resume: { maxMessages: 5 } } });
    const client = connect(server.url);
    const got: string[] = [];
    const gaps: Discontinuity[] = [];
    client.on("message", (message) => got.push(String(message)));
    client.on("discontinuity", (gap) => gaps.push(gap));
    await client.subscribe("news");
    server.handle.publish("news", "1");
    await until(() => got.length === 1, "the first");
    server.sockets[0]?.terminate();
    for (let i = 2; i <= 11; i++) server.handle.publish("news", String(i));
    await until(() => got.length === 6, "what the history still held");
    expect(gaps).toEqual([{ stream: "news", from: 2, to: 6, reason: "retention" }]);
    expect(got).toEqual(["1", "7", "8", "9", "10", "11"]);
    expect(client.stats.discontinuities).toBe(1);
  });

  it("reports a discontinuity after a server restart (a new epoch) and continues in the new one", async () => {
    const site = await Site.start({ websocket: subscribable });
    sites.push(site);
    const first = site.server as TestServer;
    const client = connect(site.url);
    const got: string[] = [];
    const gaps: Discontinuity[] = [];
    client.on("message", (message) => got.push(String(message)));
    client.on("discontinuity", (gap) => gaps.push(gap));
    await client.subscribe("news");
    first.handle.publish("news", "a");
    first.handle.publish("news", "b");
    await until(() => got.length === 2, "two messages");
    const second = await site.restart({ websocket: subscribable });
    const info = await opened(client);
    expect(info.resumed).toBe(false);
    await until(() => gaps.length === 1, "the epoch gap");
    expect(gaps).toEqual([{ stream: "news", from: 3, to: null, reason: "epoch" }]);
    // The topic was restored by the hello; the stream restarted from 0 in the new epoch.
    // (app.subscriberCount counts only plain subscribers: session ones are on the topic's sequenced twin.)
    await until(() => second.sockets[0]?.isSubscribed("news") === true, "the restored subscription");
    second.handle.publish("news", "c");
    await until(() => got.length === 3, "a message in the new epoch");
    expect(got).toEqual(["a", "b", "c"]);
    expect(client.cursors().news?.seq).toBe(1);
  });

  it("advances the publisher's cursor with a skip instead of its own message", async () => {
    const router = createMessageRouter().on("say", (ws, data) => {
      ws.publish("room", String(data.text));
    });
    const server = await serve({ websocket: { ...subscribable, message: router.handle } });
    const a = connect(server.url);
    const b = connect(server.url);
    const onA: string[] = [];
    const onB: string[] = [];
    a.on("message", (message) => onA.push(String(message)));
    b.on("message", (message) => onB.push(String(message)));
    await Promise.all([a.subscribe("room"), b.subscribe("room")]);
    a.send({ type: "say", text: "hello" });
    await until(() => onB.length === 1 && a.cursors().room?.seq === 1, "the message and the skip");
    server.handle.publish("room", "from the server");
    await until(() => onA.length === 1 && onB.length === 2, "the next one");
    expect(onA).toEqual(["from the server"]);
    expect(onB).toEqual(["hello", "from the server"]);
    expect(a.cursors().room?.seq).toBe(2);
  });
});

describe("cursors across a reload", () => {
  it("resume the session and the streams from storage in a new client", async () => {
    const server = await serve({ websocket: subscribable });
    const storage = memoryStorage();
    const first = connect(server.url, { storage });
    const got: string[] = [];
    first.on("message", (message) => got.push(String(message)));
    await first.subscribe("news");
    first.send("one");
    server.handle.publish("news", "1");
    server.handle.publish("news", "2");
    await until(() => got.length === 2, "two messages");
    const session = first.session;
    await first.close();
    server.handle.publish("news", "3");
    server.handle.publish("news", "4");
    // The "reloaded page": a new client, the same storage; it subscribes again as the page would.
    const second = connect(server.url, { storage });
    second.on("message", (message) => got.push(`after reload: ${String(message)}`));
    void second.subscribe("news");
    const info = await opened(second);
    expect(info.resumed).toBe(true);
    expect(second.session).toBe(session);
    await until(() => got.length === 4, "the missed messages");
    expect(got).toEqual(["1", "2", "after reload: 3", "after reload: 4"]);
  });

  it("saves to a file (debounced) that a new client reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verb-client-"));
    try {
      const path = join(dir, "state", "client.json");
      const server = await serve({ websocket: subscribable });
      const client = connect(server.url, { storage: fileStorage(path), saveDelay: 20 });
      await client.subscribe("news");
      server.handle.publish("news", "x");
      await until(() => client.cursors().news?.seq === 1, "a message");
      await until(() => {
        try {
          return JSON.parse(readFileSync(path, "utf8")).cursors.news.seq === 1;
        } catch {
          return false;
        }
      }, "the saved cursor");
      const saved = JSON.parse(readFileSync(path, "utf8"));
      expect(saved.session).toBe(client.session);
      expect(await fileStorage(path).load()).toEqual(saved);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
