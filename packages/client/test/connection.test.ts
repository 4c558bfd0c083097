/** Connection life over real sockets: subscriptions, the close-code policy, tokens, the shutdown spread, liveness, close(). */

import { type ClientState, type DropInfo, type StateInfo, SubscriptionError, TimeoutError, type VerbClient } from "@verb/client";
import type { AuthOptions, ServerOptions } from "@verb/core";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { adapter, closeAll, connect, opened, Site, sleep, startServer, TcpProxy, type TestServer, until } from "./helpers.js";

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

/** Records every state change of a client. */
function states(client: { on(event: "state", listener: (state: ClientState, info: StateInfo) => void): () => void }) {
  const seen: [ClientState, StateInfo][] = [];
  client.on("state", (state, info) => seen.push([state, { ...info }]));
  return seen;
}

describe("subscriptions", () => {
  it("resolve when authorized, reject with SubscriptionError when refused, and are restored after a reconnect", async () => {
    const server = await serve({ websocket: { authorizeSubscribe: (_ws, topic) => topic !== "secret" } });
    const client = connect(server.url);
    await client.subscribe("news");
    await expect(client.subscribe("news")).resolves.toBeUndefined();
    const refused = (await client.subscribe("secret").catch((e) => e)) as SubscriptionError;
    expect(refused).toBeInstanceOf(SubscriptionError);
    expect(refused.topic).toBe("secret");
    expect(await client.subscribe("verb:user:1").catch((e) => e)).toBeInstanceOf(SubscriptionError);
    // Ignored promises of refused subscriptions never become unhandled rejections.
    void client.subscribe("secret");
    expect(client.topics).toEqual(["news", "secret"]);
    await until(() => client.topics.length === 1, "the refusal");
    expect(client.topics).toEqual(["news"]);
    server.sockets[0]?.terminate();
    await opened(client);
    await until(() => server.sockets[0]?.isSubscribed("news") === true, "the restored subscription");
    client.unsubscribe("news");
    await until(() => server.sockets[0]?.isSubscribed("news") === false, "the unsubscription");
    expect(client.topics).toEqual([]);
  });

  it("made after the hello went out and before the welcome came back, still reach the server (and unsubscriptions too)", async () => {
    const server = await serve({ websocket: { authorizeSubscribe: () => true } });
    let client: VerbClient | undefined;
    let hellos = 0;
    // A WebSocket that, on the second connection, subscribes and unsubscribes the moment its hello
    // is written: the welcome is a round trip away, so both fall between the two.
    class AfterHello extends WebSocket {
      override send(data: Parameters<WebSocket["send"]>[0]): void {
        super.send(data);
        if (String(data).startsWith('{"type":"verb:hello"') && ++hellos === 2) {
          void client?.subscribe("late", { timeout: 3000 });
          client?.unsubscribe("early");
        }
      }
    }
    client = connect(server.url, { WebSocket: AfterHello as unknown as typeof WebSocket });
    await client.subscribe("early");
    server.sockets[0]?.terminate();
    await until(() => server.sockets.length === 1 && server.sockets[0]?.isSubscribed("late") === true, "the late subscription");
    await until(() => server.sockets[0]?.isSubscribed("early") === false, "the late unsubscription");
    await expect(client.subscribe("late")).resolves.toBeUndefined();
    expect(client.topics).toEqual(["late"]);
  });

  it("are refused by a server without authorizeSubscribe, and time out against one that never answers", async () => {
    const server = await serve();
    const client = connect(server.url);
    const refused = (await client.subscribe("news").catch((e) => e)) as SubscriptionError;
    expect(refused.message).toMatch(/authorizeSubscribe is not set/);
    const slow = await serve({ websocket: { authorizeSubscribe: () => new Promise<boolean>(() => {}) } });
    const waiting = connect(slow.url);
    const timeout = await waiting.subscribe("news", { timeout: 50 }).catch((e) => e);
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(waiting.topics).toEqual(["news"]);
  });
});

describe("close-code policy", () => {
  const tokens = (...values: string[]) => {
    const calls: string[] = [];
    return {
      calls,
      token: () => {
        const value = values[Math.min(calls.length, values.length - 1)] as string;
        calls.push(value);
        return value;
      },
    };
  };
  const auth = (onFailure: "close" | "reject"): AuthOptions<unknown> => ({
    verifyToken: (token) => (token === "good" ? { id: "u1" } : null),
    onFailure,
  });

  for (const onFailure of ["close", "reject"] as const) {
    it(`asks the token provider once more after an auth failure, then stops (onFailure: "${onFailure}")`, async () => {
      const server = await serve({ websocket: { auth: auth(onFailure) } });
      const bad = tokens("bad");
      const client = connect(server.url, bad);
      const seen = states(client);
      await until(() => client.state === "closed", "the stop");
      expect(bad.calls).toEqual(["bad", "bad"]);
      const [state, info] = seen.at(-1) as [ClientState, StateInfo];
      expect(state).toBe("closed");
      expect(info.reason).toBe("auth");
      if (onFailure === "close") expect(info.code).toBe(1008);
      await sleep(150);
      expect(bad.calls).toHaveLength(2);
      // A refreshed token on the second try gets in.
      const refreshed = tokens("expired", "good");
      const second = connect(server.url, refreshed);
      await opened(second);
      expect(refreshed.calls).toEqual(["expired", "good"]);
    });
  }

  it("sends the token as the bearer subprotocol, the query or the Authorization header", async () => {
    const carriers: string[] = [];
    const server = await serve({
      websocket: {
        auth: {
          verifyToken: (token, request) => {
            carriers.push(
              request.headers.authorization !== undefined ? "header" : request.query.token !== undefined ? "query" : "protocol",
            );
            return token === "t0k3n" ? { id: "u" } : null;
          },
        },
      },
    });
    for (const tokenCarrier of ["protocol", "query", "header"] as const) {
      await opened(connect(server.url, { token: async () => "t0k3n", tokenCarrier }));
    }
    expect(carriers).toEqual(["protocol", "query", "header"]);
  });

  it("stops on 1009 and 1003, reconnects on 1012, 1000 and 1011; shouldReconnect and closeCodes decide first", async () => {
    const server = await serve({ websocket: { maxPayloadLength: 1024 } });
    const big = connect(server.url);
    const bigStates = states(big);
    const bigDrops: DropInfo[] = [];
    big.on("drop", (drop) => bigDrops.push(drop));
    await opened(big);
    big.send("x".repeat(2000));
    if (adapter === "uws") {
      // uWS cuts the connection without a 1009 (a documented engine deviation): the client sees
      // 1006, and drops the message as refused after five lost connections instead of looping.
      await until(() => bigDrops.length === 1, "the refused message", 10_000);
      expect(bigDrops[0]?.reason).toBe("refused");
      await until(() => big.state === "open", "open again");
      await big.close();
    } else {
      await until(() => big.state === "closed", "the stop after 1009");
      expect(bigStates.at(-1)?.[1]).toMatchObject({ code: 1009, reason: "too-big" });
    }

    const client = connect(server.url);
    const seen = states(client);
    for (const code of [1012, 1000, 1011]) {
      await opened(client);
      server.sockets.at(-1)?.close(code, "bye");
    }
    await opened(client);
    expect(seen.filter(([state]) => state === "reconnecting").map(([, info]) => [info.code, info.reason, info.message])).toEqual([
      [1012, "server", "bye"],
      [1000, "server", "bye"],
      [1011, "error", "bye"],
    ]);
    server.sockets.at(-1)?.close(1003);
    await until(() => client.state === "closed", "the stop after 1003");

    const overridden = connect(server.url, { shouldReconnect: (info) => (info.code === 1012 ? false : undefined) });
    await opened(overridden);
    server.sockets.at(-1)?.close(1012);
    await until(() => overridden.state === "closed", "the override");

    const app = connect(server.url, { closeCodes: { 4001: "stop" } });
    await opened(app);
    server.sockets.at(-1)?.close(4002);
    await opened(app);
    server.sockets.at(-1)?.close(4001);
    await until(() => app.state === "closed", "the application code");
  });

  it("drops a message that every connection it goes out on dies of (cut without a close frame), after five", async () => {
    const received: string[] = [];
    const server = await serve({ websocket: { message: (_ws, message) => void received.push(String(message)) } });
    // The path dies whenever this message goes out, before the server gets it (as uWS does with a
    // message over maxPayloadLength: no 1009, the TCP connection just ends).
    const proxy = await TcpProxy.start(server.port, { cutUp: (text) => text.endsWith("\npoison") });
    proxies.push(proxy);
    const client = connect(proxy.url);
    const drops: DropInfo[] = [];
    let losses = 0;
    client.on("drop", (drop) => drops.push(drop));
    client.on("state", (state, info) => {
      if (state === "reconnecting" && info.reason === "lost") losses++;
    });
    await opened(client);
    client.send("before");
    client.send("poison");
    client.send("after");
    await until(() => drops.length === 1 && received.includes("after"), "the drop, then the rest", 10_000);
    expect(drops[0]).toEqual({ reason: "refused", data: "poison", request: false });
    expect(losses).toBe(5);
    expect(received).toEqual(["before", "after"]);
    expect(client.stats.dropped).toBe(1);
  });

  it("spreads the reconnect over the shutdown notice's retryWindowMs", async () => {
    const site = await Site.start();
    sites.push(site);
    const clients = Array.from({ length: 20 }, () => connect(site.url));
    const notices: unknown[] = [];
    const delays: number[] = [];
    for (const client of clients) {
      client.on("shutdown", (notice) => notices.push(notice));
      client.on("state", (state, info) => {
        if (state === "reconnecting") {
          expect(info.reason).toBe("shutdown");
          delays.push(info.delay);
        }
      });
    }
    await Promise.all(clients.map((client) => opened(client)));
    await site.stop({ notify: true, retryWindow: 400 });
    await until(() => delays.length === 20, "every client reconnecting");
    expect(notices).toHaveLength(20);
    expect(notices[0]).toMatchObject({ type: "server_shutdown", retryWindowMs: 400 });
    expect(Math.max(...delays)).toBeLessThan(400);
    // Spread, not bunched: the 20 delays cover the window.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(150);
    await site.restart();
    await Promise.all(clients.map((client) => (client.state === "open" ? undefined : opened(client))));
  });

  it("stops after maxRetries failures in a row", async () => {
    const gone = await serve();
    const url = gone.url;
    await gone.close();
    servers = [];
    const client = connect(url, { reconnect: { initialDelay: 5, maxDelay: 10, maxRetries: 3 } });
    const seen = states(client);
    await until(() => client.state === "closed", "the stop");
    expect(seen.map(([state, info]) => [state, info.reason, info.attempt])).toEqual([
      ["reconnecting", "lost", 1],
      ["reconnecting", "lost", 2],
      ["reconnecting", "lost", 3],
      ["closed", "retries", 4],
    ]);
  });
});

describe("liveness", () => {
  it("notices a dead connection (the network stops carrying anything) within interval + grace and reconnects", async () => {
    const server = await serve();
    const proxy = await TcpProxy.start(server.port);
    proxies.push(proxy);
    const client = connect(proxy.url, { heartbeat: { interval: 200, grace: 150 } });
    await opened(client);
    // Quiet but alive: the client's pings keep it open well past interval + grace.
    await sleep(700);
    expect(client.state).toBe("open");
    proxy.pause();
    const paused = Date.now();
    await until(() => client.state === "reconnecting", "the timeout", 2000);
    // Silence counts from the last thing received (a pong, up to `interval` before the pause), so
    // within interval + grace of the pause, checked every min(1 s, grace / 4): one tick of slack, plus scheduling.
    const noticed = Date.now() - paused;
    expect(noticed).toBeLessThan(200 + 150 + 38 + 60);
    proxy.resume();
    await opened(client);
  });

  it("answers the server's heartbeat with the reply and never delivers it", async () => {
    const seen: string[] = [];
    const server = await serve({
      websocket: {
        // The server swallows only its configured reply: a different one shows what the client answers.
        heartbeat: { interval: 0.05, message: "hb?", reply: "not this" },
        message: (_ws, message) => void seen.push(String(message)),
      },
    });
    const client = connect(server.url, { heartbeat: { message: "hb?", reply: "hb!" } });
    const delivered: unknown[] = [];
    client.on("message", (message) => delivered.push(message));
    await until(() => seen.length >= 2, "heartbeat replies", 3000);
    expect(new Set(seen)).toEqual(new Set(["hb!"]));
    expect(delivered).toEqual([]);
  });

  it("reconnects after a clock jump (the machine slept) even though the socket says open", async () => {
    const server = await serve();
    const client = connect(server.url, { heartbeat: { interval: 60_000, grace: 60_000, wakeThreshold: 300 } });
    const seen = states(client);
    await opened(client);
    await sleep(50);
    // Nothing runs for 600 ms (the server neither: it is in this process).
    const until600 = Date.now() + 600;
    while (Date.now() < until600) {
      // busy
    }
    const info = await opened(client);
    expect(info.resumed).toBe(true);
    expect(seen.find(([state]) => state === "reconnecting")?.[1]).toMatchObject({ reason: "wake", delay: 0 });
  });
});

describe("close() and reconnect()", () => {
  it("reconnect() replaces the connection at once; close() stops for good and leaves no timer behind", async () => {
    const server = await serve();
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    const client = connect(server.url);
    const seen = states(client);
    await opened(client);
    client.reconnect();
    const info = await opened(client);
    expect(info.resumed).toBe(true);
    expect(seen.map(([state, i]) => [state, i.reason ?? null])).toEqual([
      ["open", null],
      ["reconnecting", "reconnect"],
      ["open", null],
    ]);
    void client.subscribe("news").catch(() => {});
    client.send("queued?");
    await client.close(4000, "done");
    expect(client.state).toBe("closed");
    expect(seen.at(-1)).toEqual(["closed", { code: 4000, reason: "client", message: "done", attempt: 0, delay: 0 }]);
    expect(client.send("late")).toBe("dropped");
    await sleep(20);
    expect(timers()).toBeLessThanOrEqual(before);
    await until(() => server.sockets.length === 0, "the server-side close");
  });
});
