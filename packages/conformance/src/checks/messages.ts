/**
 * Messages: open hook, text and binary echo, sizes at the frame-length boundaries, ordering.
 */

import assert from "node:assert/strict";
import type { Check } from "../types.js";
import { cmd, greeted } from "./helpers.js";

const category = "messages";

function pattern(size: number, seed: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + seed) & 0xff;
  return buffer;
}

const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024];

export const messageChecks: Check[] = [
  {
    id: "messages.open-greeting",
    title: "open hook runs and its greeting arrives first",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      ctx.defer(() => client.terminate());
      const first = await client.message(0);
      assert.equal(first.isBinary, false, "greeting must be a text frame");
      assert.equal(first.text, `welcome:${id}`);
      await ctx.waitEvent(id, (e) => e.type === "open", "the open hook");
    },
  },
  {
    id: "messages.text-echo",
    title: "text frame arrives as a string and echoes as text",
    category,
    async run(ctx) {
      const { id, client } = await greeted(ctx);
      client.send("héllo wörld ✓");
      const echo = await client.message(1);
      assert.equal(echo.isBinary, false, "echo of a text frame must be text");
      assert.equal(echo.text, "héllo wörld ✓");
      const seen = await ctx.waitEvent(id, (e) => e.type === "message", "the message hook");
      assert.equal(seen.kind, "string", "the message hook must receive a string for a text frame");
    },
  },
  {
    id: "messages.binary-echo",
    title: "binary frame arrives as a Buffer and echoes as binary",
    category,
    async run(ctx) {
      const { id, client } = await greeted(ctx);
      const payload = pattern(300, 7);
      client.send(payload, { binary: true });
      const echo = await client.message(1);
      assert.equal(echo.isBinary, true, "echo of a binary frame must be binary");
      assert.ok(echo.data.equals(payload), "binary payload must come back unchanged");
      const seen = await ctx.waitEvent(id, (e) => e.type === "message", "the message hook");
      assert.equal(seen.kind, "binary");
      assert.equal(seen.isBuffer, true, "the message hook must receive a Buffer (message instanceof Buffer)");
    },
  },
  {
    id: "messages.binary-outlives-hook",
    title: "a binary message kept after its hook returns stays intact",
    category,
    async run(ctx) {
      const { client } = await greeted(ctx, "main", { query: "keep=1" });
      const payload = pattern(4096, 3);
      client.send(payload, { binary: true });
      // More traffic through the engine's receive buffers before the kept message is used.
      for (let i = 0; i < 20; i++) client.send(pattern(4096, 100 + i), { binary: true });
      client.send(cmd({ op: "keep-later", delay: 50 }));
      const later = await client.message(1);
      assert.equal(later.isBinary, true);
      assert.ok(later.data.equals(pattern(4096, 100 + 19)), "the kept message must be the last one, unchanged");
    },
  },
  {
    id: "messages.same-socket",
    title: "every hook receives the same socket object for a connection",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      await client.message(0);
      client.send("one");
      await client.message(1);
      client.ws.ping("x");
      await ctx.waitEvent(id, (e) => e.type === "ping", "the ping hook");
      client.close(4000);
      await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      const events = await ctx.events(id);
      for (const event of events) assert.equal(event.sameSocket, true, `${event.type} hook got a different socket object`);
    },
  },
  {
    id: "messages.payload-sizes",
    title: "payloads of 0, 125, 126, 65535, 65536 bytes and 1 MiB echo intact (text and binary)",
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const { client } = await greeted(ctx);
      let index = 1;
      for (const size of SIZES) {
        const binary = pattern(size, size);
        client.send(binary, { binary: true });
        const echo = await client.message(index++, 10_000);
        assert.equal(echo.isBinary, true, `${size}-byte binary echo must be binary`);
        assert.equal(echo.data.length, size, `${size}-byte binary echo length`);
        assert.ok(echo.data.equals(binary), `${size}-byte binary echo content`);
        const text = "x".repeat(size);
        client.send(text);
        const textEcho = await client.message(index++, 10_000);
        assert.equal(textEcho.isBinary, false, `${size}-byte text echo must be text`);
        assert.equal(textEcho.text.length, size, `${size}-byte text echo length`);
      }
    },
  },
  {
    id: "messages.ordering-10k",
    title: "10,000 messages on one connection arrive complete and in order",
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const { client } = await greeted(ctx);
      const count = 10_000;
      for (let i = 0; i < count; i++) client.send(`m${i}`);
      await client.until(() => client.received.length >= count + 1, `${count} echoes`, 25_000);
      for (let i = 0; i < count; i++) {
        const got = client.received[i + 1]?.text;
        if (got !== `m${i}`) assert.fail(`message ${i}: expected m${i}, got ${String(got)}`);
      }
    },
  },
];
