/**
 * The real-time examples on every adapter, over real sockets: chat with rooms and history (and the
 * spec's "Chat room functionality" scenario), authenticated chat, notifications, stock prices,
 * binary messages with uploads.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TestClient } from "../../packages/conformance/src/clients/ws-client.js";
import { ADAPTERS, freePort, type Running, runExample, skipReason } from "../../tests/helpers/runtimes.js";

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});
const uploads = mkdtempSync(join(tmpdir(), "verb-uploads-"));
afterAll(() => rmSync(uploads, { recursive: true, force: true }));

async function start(adapter: (typeof ADAPTERS)[number], name: string, env: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  running.push(await runExample(adapter, name, { PORT: String(port), ...env }, /\(adapter: /));
  return port;
}

async function json(client: TestClient, type?: string): Promise<Record<string, unknown>> {
  for (;;) {
    const message = JSON.parse((await client.message()).text) as Record<string, unknown>;
    if (type === undefined || message.type === type) return message;
  }
}

const send = (client: TestClient, value: unknown) => client.send(JSON.stringify(value));

for (const adapter of ADAPTERS) {
  const skip = skipReason(adapter);
  describe.skipIf(skip !== undefined)(`real-time examples on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("chat: the spec's 'Chat room functionality' scenario", async () => {
      const port = await start(adapter, "chat");
      const ws1 = await TestClient.open(`ws://127.0.0.1:${port}`);
      const ws2 = await TestClient.open(`ws://127.0.0.1:${port}`);
      send(ws1, { type: "join_room", roomId: "test-room" });
      send(ws2, { type: "join_room", roomId: "test-room" });
      await json(ws1, "joined_room");
      await json(ws2, "joined_room");
      send(ws1, { type: "chat", roomId: "test-room", message: "Hello from ws1!" });
      const message = await json(ws2, "chat");
      expect(message.message).toBe("Hello from ws1!");
      ws1.close();
      ws2.close();
    });

    it("chat: history (last 20 on join, 100 kept), join and leave notices, sender excluded, validation", async () => {
      const port = await start(adapter, "chat");
      const alice = await TestClient.open(`ws://127.0.0.1:${port}/?name=alice`);
      expect(await json(alice, "welcome")).toMatchObject({ name: "alice" });
      send(alice, { type: "join_room", roomId: "lobby" });
      expect(await json(alice, "message_history")).toEqual({ type: "message_history", roomId: "lobby", messages: [] });
      for (let i = 0; i < 105; i++) send(alice, { type: "chat", roomId: "lobby", message: `m${i}` });
      const bob = await TestClient.open(`ws://127.0.0.1:${port}/?name=bob`);
      send(bob, { type: "join_room", roomId: "lobby" });
      const history = (await json(bob, "message_history")).messages as { message: string; user: string }[];
      expect(history.map((m) => m.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${85 + i}`));
      expect(history[0]?.user).toBe("alice");
      expect(await json(alice, "user_joined")).toEqual({ type: "user_joined", user: "bob", roomId: "lobby" });
      const stats = (await (await fetch(`http://127.0.0.1:${port}/rooms/lobby`)).json()) as { messages: number; members: number };
      expect(stats).toEqual({ roomId: "lobby", members: 2, messages: 100 });
      send(bob, { type: "chat", roomId: "lobby", message: "hi alice" });
      expect(await json(alice, "chat")).toMatchObject({ user: "bob", message: "hi alice", roomId: "lobby" });
      send(bob, { type: "leave_room", roomId: "lobby" });
      expect(await json(alice, "user_left")).toEqual({ type: "user_left", user: "bob", roomId: "lobby" });
      send(bob, { type: "chat", roomId: "" });
      const invalid = await json(bob, "error");
      expect(invalid.message).toMatch(/^Invalid chat message: roomId: .*message: /);
      expect(alice.received.some((m) => m.text.includes('"m0"') && m.text.includes('"type":"chat"'))).toBe(false);
      alice.close();
      bob.close();
    });

    it("auth chat: token carriers, the spec's failure message and 1008, rooms and private messages", async () => {
      const port = await start(adapter, "auth-chat");
      const url = `ws://127.0.0.1:${port}`;
      const intruder = await TestClient.open(`${url}/?token=stolen`);
      expect(await json(intruder)).toEqual({ type: "auth", status: "error", message: "Authentication failed" });
      expect(await intruder.waitClose()).toEqual({ code: 1008, reason: "Authentication failed" });
      const alice = await TestClient.open(url, { headers: { Authorization: "Bearer alice-token" } });
      expect(await json(alice)).toEqual({ type: "auth", status: "success", user: { id: "alice", name: "Alice" } });
      const bob = await TestClient.open(url, { protocols: ["bearer", "bob-token"] });
      expect(bob.ws.protocol).toBe("bearer");
      expect((await json(bob)).status).toBe("success");
      send(alice, { type: "join_room", roomId: "r1" });
      send(bob, { type: "join_room", roomId: "r1" });
      await json(alice, "joined_room");
      await json(bob, "joined_room");
      send(alice, { type: "chat", roomId: "r1", message: "hello bob" });
      expect(await json(bob, "chat")).toMatchObject({ user: "Alice", message: "hello bob" });
      send(bob, { type: "private_message", targetUserId: "alice", message: "psst" });
      expect(await json(alice, "private_message")).toMatchObject({ from: "Bob", message: "psst" });
      send(bob, { type: "private_message", targetUserId: "carol", message: "?" });
      expect(await json(bob, "error")).toEqual({ type: "error", message: "User not found or offline" });
      send(bob, { type: "dance" });
      expect(await json(bob, "error")).toEqual({ type: "error", message: "Unknown message type: dance" });
      bob.send("not json");
      expect(await json(bob, "error")).toEqual({ type: "error", message: "Invalid message format" });
      alice.close();
      bob.close();
    });

    it("notifications: POST /api/notify/:userId reaches every socket of that user only", async () => {
      const port = await start(adapter, "notifications");
      const url = `ws://127.0.0.1:${port}/notifications`;
      const phone = await TestClient.open(`${url}?userId=u1`);
      const laptop = await TestClient.open(`${url}?userId=u1`);
      const other = await TestClient.open(`${url}?userId=u2`);
      const post = (path: string, body: unknown) =>
        fetch(`http://127.0.0.1:${port}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
        });
      expect(await (await post("/api/notify/u1", { title: "Build passed" })).json()).toEqual({ success: true, delivered: true });
      for (const socket of [phone, laptop])
        expect(await json(socket)).toMatchObject({ type: "notification", title: "Build passed" });
      expect(await (await post("/api/notify/nobody", { title: "x" })).json()).toEqual({ success: true, delivered: false });
      expect(await (await post("/api/broadcast", { title: "maintenance" })).json()).toEqual({ success: true, delivered: true });
      for (const socket of [phone, laptop, other])
        expect(await json(socket)).toMatchObject({ type: "broadcast", title: "maintenance" });
      expect(other.received.length).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/notifications`)).status).toBe(400);
      for (const socket of [phone, laptop, other]) socket.close();
    });

    it("stocks: current price on subscribe, updates after, none after unsubscribe", async () => {
      const port = await start(adapter, "stocks", { STOCK_INTERVAL_MS: "50" });
      const client = await TestClient.open(`ws://127.0.0.1:${port}`);
      send(client, { action: "subscribe", symbol: "AAPL" });
      const current = await json(client);
      expect(current).toMatchObject({ type: "stock_update", symbol: "AAPL" });
      expect(typeof current.price).toBe("number");
      expect(current.timestamp).toBeUndefined();
      const update = await json(client);
      expect(update).toMatchObject({ type: "stock_update", symbol: "AAPL" });
      expect(typeof update.timestamp).toBe("number");
      send(client, { action: "subscribe", symbol: "NOPE" });
      expect(await json(client, "error")).toEqual({ type: "error", message: "Unknown symbol: NOPE" });
      send(client, { action: "unsubscribe", symbol: "AAPL" });
      await json(client, "unsubscribed");
      const after = client.received.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(client.received.slice(after).filter((m) => m.text.includes("AAPL"))).toEqual([]);
      client.close();
    });

    it("binary: first byte dispatch; uploads under a generated name in UPLOAD_DIR", async () => {
      const dir = join(uploads, adapter);
      const port = await start(adapter, "binary", { UPLOAD_DIR: dir });
      const client = await TestClient.open(`ws://127.0.0.1:${port}`);
      const file = Buffer.concat([Buffer.from("../../etc/passwd\0"), Buffer.alloc(5000, 0x41)]);
      client.send(Buffer.concat([Buffer.from([1]), file]), { binary: true });
      const uploaded = await json(client);
      expect(uploaded).toMatchObject({ type: "file_uploaded", size: file.length });
      expect(String(uploaded.filename)).toMatch(/^upload_\d+_[0-9a-f-]{36}$/);
      expect(readdirSync(dir)).toEqual([uploaded.filename]);
      expect(readFileSync(join(dir, String(uploaded.filename))).equals(file)).toBe(true);
      expect(existsSync(join(dir, "..", "etc"))).toBe(false);
      client.send(Buffer.from([2, 9, 9]), { binary: true });
      expect(await json(client)).toEqual({ type: "audio_received", size: 2 });
      client.send(Buffer.from([3]), { binary: true });
      expect(await json(client)).toEqual({ type: "video_received", size: 0 });
      client.send(Buffer.from([7, 1]), { binary: true });
      expect(await json(client)).toEqual({ type: "error", message: "Unknown binary message type: 7" });
      client.send("plain text");
      expect(await json(client)).toEqual({ type: "text_received", text: "plain text" });
      client.close();
    });
  });
}
