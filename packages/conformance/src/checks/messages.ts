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
    title: "binary messages kept after their hooks return stay intact while more traffic goes through the engine",
    category,
    async run(ctx) {
      const { client } = await greeted(ctx, "main", { query: "keep=1" });
      // Sizes below and above the engines' buffer pools, each message its own pattern.
      const sizes = [1, 17, 100, 1000, 2047, 4095, 4096, 4097, 8000, 8192, 20_000, 65_536, 3, 4000, 123];
      const sent = sizes.map((size, i) => pattern(size, 7 + i));
      for (const [i, payload] of sent.entries()) {
        client.send(payload, { binary: true });
        // Text traffic between them runs through the same receive buffers (echoed, not kept).
        client.send(`filler-${i}-${"x".repeat(3000)}`);
      }
      client.send(cmd({ op: "keep-later", delay: 50 }));
      const received: Buffer[] = [];
      while (received.length < sent.length) {
        const message = await client.message();
        if (message.isBinary) received.push(message.data);
      }
      for (const [i, payload] of sent.entries()) {
        assert.ok(received[i]?.equals(payload), `kept message ${i} (${payload.length} bytes) changed after its hook returned`);
      }
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
