/**
 * Closing: codes and reasons in both directions, abrupt drops, terminate().
 */

import assert from "node:assert/strict";
import type { Check } from "../types.js";

const category = "close";

export const closeChecks: Check[] = [
  {
    id: "close.client-code-reason",
    title: "client close 4000 + reason reaches close(ws, code, reason)",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      await client.message(0);
      client.close(4000, "client says bye");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 4000);
      assert.equal(closed.reason, "client says bye");
      const seen = await client.waitClose();
      assert.equal(seen.code, 4000, "the server must echo the client's close code");
    },
  },
  {
    id: "close.server-code-reason",
    title: 'server close(4001, "bye") reaches the client and the close hook',
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id);
      await client.message(0);
      client.send(`cmd:${JSON.stringify({ op: "close", code: 4001, reason: "bye" })}`);
      const seen = await client.waitClose();
      assert.equal(seen.code, 4001);
      assert.equal(seen.reason, "bye");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 4001);
      assert.equal(closed.reason, "bye");
      const events = await ctx.events(id);
      assert.equal(events.filter((e) => e.type === "close").length, 1, "the close hook must run exactly once");
    },
  },
  {
    id: "close.abrupt-drop",
    title: "an abrupt TCP drop gives 1006 to the close hook",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id);
      assert.equal(raw.response.status, 101);
      await raw.nextFrame();
      raw.destroy();
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
    },
  },
  {
    id: "close.terminate",
    title: "terminate() ends the connection without a close frame; the close hook gets 1006",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id);
      await raw.nextFrame();
      raw.sendText(`cmd:${JSON.stringify({ op: "terminate" })}`);
      const end = await raw.waitEnd();
      assert.equal(end.closeFrame, undefined, "terminate() must not send a close frame");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
    },
  },
];
