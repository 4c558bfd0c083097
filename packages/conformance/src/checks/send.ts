/**
 * The send result and frame types.
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd } from "./helpers.js";

const category = "send";

export const sendChecks: Check[] = [
  {
    id: "send.types",
    title:
      "binary views (Uint8Array, DataView, typed arrays, ArrayBuffer) go as binary frames, strings as text; { binary } forces the type, other options leave it",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id);
      await raw.nextFrame();
      raw.sendText(cmd({ op: "send-types" }));
      const first = raw.frames.length;
      await raw.nextFrame(() => raw.frames.length >= first + 9);
      const frames = raw.frames.slice(first, first + 9);
      const expected: [number, string][] = [
        [Opcode.BINARY, "01020304"],
        [Opcode.BINARY, "0203"],
        [Opcode.BINARY, Buffer.from(new Float32Array([1.5]).buffer).toString("hex")],
        [Opcode.BINARY, "01020304"],
        [Opcode.TEXT, Buffer.from("text").toString("hex")],
        [Opcode.TEXT, Buffer.from("forced text").toString("hex")],
        [Opcode.BINARY, Buffer.from("forced binary").toString("hex")],
        [Opcode.BINARY, "01020304"],
        [Opcode.TEXT, Buffer.from("still text").toString("hex")],
      ];
      frames.forEach((frame, i) => {
        const [opcode, hex] = expected[i] as [number, string];
        assert.equal(frame.opcode, opcode, `send #${i + 1}: opcode ${frame.opcode}, expected ${opcode}`);
        assert.equal(frame.payload.toString("hex"), hex, `send #${i + 1}: payload`);
      });
    },
  },
  {
    id: "send.result-open",
    title: 'send() on an open socket returns "sent", for empty messages too (text and binary)',
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      await client.message(0);
      client.send(cmd({ op: "send", count: 3, size: 100 }));
      const sent = await ctx.waitEvent(id, (e) => e.type === "sent", "the send statuses");
      assert.equal(sent.statuses, "sss");
      // Bun reports 0 bytes written both for an empty send and for a dropped one: empty is still "sent".
      for (const binary of [false, true]) {
        const emptyId = ctx.id();
        const empty = await ctx.open("main", emptyId);
        await empty.message(0);
        empty.send(cmd({ op: "send", count: 2, size: 0, binary }));
        const statuses = await ctx.waitEvent(emptyId, (e) => e.type === "sent", "the empty send statuses");
        assert.equal(statuses.statuses, "ss", `empty ${binary ? "binary" : "text"} sends`);
        for (let i = 0; i < 2; i++) {
          const message = await empty.message();
          assert.equal(message.isBinary, binary);
          assert.equal(message.data.length, 0, "an empty message arrives empty");
        }
      }
    },
  },
  {
    id: "send.after-close",
    title: 'send() on a closing or closed socket returns "dropped" and never throws',
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      await client.message(0);
      client.send(cmd({ op: "close-then-send" }));
      const after = await ctx.waitEvent(id, (e) => e.type === "after-close", "the send after close()");
      assert.equal(after.status, "dropped");
      assert.ok((after.readyState as number) >= 2, "readyState must be closing or closed after close()");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.sendInClose, "dropped", "send() inside the close hook must return dropped");
      assert.equal((await client.waitClose()).code, 4004);
      const peerClosedId = ctx.id();
      const other = await ctx.open("main", peerClosedId);
      await other.message(0);
      other.close(1000);
      const peerClose = await ctx.waitEvent(peerClosedId, (e) => e.type === "close", "the close hook");
      assert.equal(peerClose.sendInClose, "dropped", "send() after the peer closed must return dropped");
      assert.equal(peerClose.readyState, 3, "readyState must be 3 in the close hook of a peer-initiated close");
    },
  },
];
