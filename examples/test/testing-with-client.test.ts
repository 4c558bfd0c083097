/**
 * How to test a Verb app: the spec's "Testing WebSocket Server" scenarios, written with
 * @verb/client against the examples running as real processes on each adapter. The client
 * connects by itself, queues what is sent before it is open, and parses JSON, so each scenario is
 * a few lines: no open handlers, no timers, no `done` callbacks.
 */

import { createClient, type MessageDefinitions, type VerbClient } from "@verb/client";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ADAPTERS, freePort, type Running, runExample, skipReason } from "../../tests/helpers/runtimes.js";

const running: Running[] = [];
const clients: VerbClient<MessageDefinitions>[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

/** A client for a test (ws as the WebSocket on Node 20; browsers, Bun, Deno and Node ≥ 22 have one). */
function connect(url: string): VerbClient<MessageDefinitions> {
  const client = createClient(url, { WebSocket, reconnect: { initialDelay: 20, maxDelay: 200 } });
  clients.push(client);
  return client;
}

/** The first message from now on that `match` accepts (parsed JSON, or text); fails after 5 s. */
function next<T = unknown>(client: VerbClient<MessageDefinitions>, match: (message: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no matching message within 5 s")), 5000);
    const off = client.on("message", (message) => {
      if (!match(message as T)) return;
      clearTimeout(timer);
      off();
      resolve(message as T);
    });
  });
}

type ChatEvent = { type: string; roomId?: string; message?: string };

for (const adapter of ADAPTERS) {
  const skip = skipReason(adapter);
  describe.skipIf(skip !== undefined)(
    `testing a Verb app with @verb/client on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`,
    () => {
      it("WebSocket connection and messaging", async () => {
        const port = await freePort();
        running.push(await runExample(adapter, "basic-websocket", { PORT: String(port) }, /WebSocket server running/));
        const ws = connect(`ws://127.0.0.1:${port}`);
        const echo = next(ws, (message) => String(message).startsWith("Echo:"));
        ws.send("Hello Server!");
        expect(await echo).toContain("Echo: Hello Server!");
      });

      it("Chat room functionality", async () => {
        const port = await freePort();
        running.push(await runExample(adapter, "chat", { PORT: String(port) }, /\(adapter: /));
        const [ws1, ws2] = [connect(`ws://127.0.0.1:${port}`), connect(`ws://127.0.0.1:${port}`)];
        const joined = [ws1, ws2].map((ws) => next<ChatEvent>(ws, (m) => m.type === "joined_room"));
        for (const ws of [ws1, ws2]) ws.send({ type: "join_room", roomId: "test-room" });
        await Promise.all(joined);
        const chat = next<ChatEvent>(ws2, (m) => m.type === "chat");
        ws1.send({ type: "chat", roomId: "test-room", message: "Hello from ws1!" });
        expect((await chat).message).toBe("Hello from ws1!");
      });
    },
  );
}
