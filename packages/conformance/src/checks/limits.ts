/**
 * Payload limits: maxPayloadLength after inflation, fragments counted together, 1009 to the close hook;
 * maxCompressedSize on the wire.
 */

import assert from "node:assert/strict";
import { deflateMessage, Opcode } from "../clients/raw.js";
import { deviationOrFail } from "../deviations.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, DEFLATE_OFFER, greeted } from "./helpers.js";

const category = "limits";

async function expect1009(ctx: CheckContext, id: string): Promise<void> {
  const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
  assert.equal(closed.code, 1009, `close hook code ${String(closed.code)} ${String(closed.reason)}`);
  assert.equal(closed.reason, "message too big");
}

export const limitChecks: Check[] = [
  {
    id: "limits.engine-defaults",
    title:
      "the defaults are Verb's on every engine, never the engine's own: a 16 MiB message passes and 16 MiB + 1 gets 1009; sends to a stalled reader drop once about 16 MiB is buffered",
    category,
    exclusive: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const MiB = 1024 * 1024;
      const { id, client } = await greeted(ctx, "main");
      const exact = Buffer.alloc(16 * MiB, 0x42);
      client.send(exact, { binary: true });
      const echo = await client.message(1, 15_000);
      assert.equal(echo.data.length, 16 * MiB, "a message of exactly the default maxPayloadLength (uWS's own is 16 KiB)");
      client.send(Buffer.alloc(16 * MiB + 1, 0x43), { binary: true });
      await expect1009(ctx, id);
      // Backpressure: uWS's own default is 64 KiB, ws has none.
      const floodId = ctx.id();
      const reader = await ctx.raw("main", floodId, { query: "silent=1" });
      reader.pause();
      reader.sendText(cmd({ op: "flood", size: 64 * 1024, max: 1024 }));
      const flooded = await ctx.waitEvent(floodId, (e) => e.type === "flooded", "the flood", 15_000);
      const buffered = flooded.bufferedAmount as number;
      assert.ok((flooded.accepted as number) < 1024, "sends to a stalled reader must drop before 64 MiB");
      assert.ok(
        buffered >= 16 * MiB - 256 * 1024 && buffered <= 16 * MiB + 2 * 64 * 1024,
        `${(buffered / MiB).toFixed(2)} MiB buffered at the first drop; the default limit is 16 MiB`,
      );
    },
  },
  {
    id: "limits.at-limit",
    title: "a message of exactly maxPayloadLength (1024) is accepted",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("limits", id);
      await client.message(0);
      client.send("x".repeat(1024));
      assert.equal((await client.message(1)).text.length, 1024);
    },
  },
  {
    id: "limits.over-limit",
    title: 'a message over maxPayloadLength gives the close hook 1009 "message too big"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("limits", id);
      await raw.nextFrame();
      raw.sendText("x".repeat(1025));
      await expect1009(ctx, id);
    },
  },
  {
    id: "limits.over-limit-wire",
    title: "a message over maxPayloadLength: the client gets a 1009 close frame",
    category,
    async run(ctx) {
      const raw = await ctx.raw("limits", ctx.id());
      await raw.nextFrame();
      raw.sendBinary(Buffer.alloc(2000));
      const end = await raw.waitEnd();
      if (end.closeFrame?.code === 1009) return;
      return deviationOrFail(
        ctx.adapter,
        "limits.over-limit-wire",
        end.closeFrame === undefined ? "no close frame; TCP closed" : `close frame ${String(end.closeFrame.code)}`,
        "the client must receive a 1009 close frame",
      );
    },
  },
  {
    id: "limits.fragments",
    title: "fragments count together: 3 × 500 bytes over a 1024 limit gives 1009",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("limits", id);
      await raw.nextFrame();
      raw.sendFrame(Opcode.TEXT, "a".repeat(500), { fin: false });
      raw.sendFrame(Opcode.CONTINUATION, "b".repeat(500), { fin: false });
      raw.sendFrame(Opcode.CONTINUATION, "c".repeat(500), { fin: true });
      await expect1009(ctx, id);
    },
  },
  {
    id: "limits.after-inflation",
    title: "the limit applies after inflation: 5000 bytes compressed to a few dozen give 1009",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("limits", id, { headers: DEFLATE_OFFER });
      assert.match(raw.response.headers["sec-websocket-extensions"] ?? "", /permessage-deflate/);
      await raw.nextFrame();
      const compressed = deflateMessage(Buffer.from("z".repeat(5000)));
      assert.ok(compressed.length < 100);
      raw.sendFrame(Opcode.TEXT, compressed, { rsv1: true });
      await expect1009(ctx, id);
    },
  },
  {
    id: "limits.compressed-accepted",
    title: "a compressed message that inflates within the limit is accepted",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("limits", id, { headers: DEFLATE_OFFER });
      await raw.nextFrame();
      raw.sendFrame(Opcode.TEXT, deflateMessage(Buffer.from("y".repeat(1000))), { rsv1: true });
      const seen = await ctx.waitEvent(id, (e) => e.type === "message", "the message hook");
      assert.equal(seen.length, 1000);
    },
  },
  {
    id: "limits.max-compressed-size",
    title: "maxCompressedSize: a compressed message larger on the wire than allowed is refused (1009) even if it inflates small",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("limits", id, { headers: DEFLATE_OFFER });
      await raw.nextFrame();
      // 250 empty stored deflate blocks (5 bytes each, inflating to nothing) before "hello".
      const padding = Buffer.concat(Array.from({ length: 250 }, () => Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])));
      const payload = Buffer.concat([padding, deflateMessage(Buffer.from("hello"))]);
      assert.ok(payload.length > 1024);
      raw.sendFrame(Opcode.TEXT, payload, { rsv1: true });
      await expect1009(ctx, id);
    },
  },
];
