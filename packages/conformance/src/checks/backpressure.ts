/**
 * Backpressure: one maxBackpressure rule on every engine, drop or close at the limit, drain, resumption.
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd } from "./helpers.js";

const category = "backpressure";
const MiB = 1024 * 1024;

export const backpressureChecks: Check[] = [
  {
    id: "backpressure.drop-drain-resume",
    title: "a reader that stops: sends buffer then drop past maxBackpressure (limit + one message), drain fires, sending resumes",
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("bp", id, { query: "silent=1" });
      raw.pause();
      const count = 40;
      raw.sendText(cmd({ op: "send", count, size: MiB, binary: true }));
      const flood = await ctx.waitEvent(id, (e) => e.type === "sent", "the flood's send statuses", 15_000);
      const statuses = String(flood.statuses);
      assert.equal(statuses.length, count);
      assert.match(statuses, /^s*b*d*$/, `statuses must go sent → buffered → dropped, got ${statuses}`);
      assert.ok(statuses.includes("d"), `40 MiB to a paused reader must drop some sends: ${statuses}`);
      assert.ok((flood.maxBuffered as number) <= MiB + MiB, `buffered ${String(flood.maxBuffered)} bytes > limit + one message`);
      const delivered = count - (statuses.match(/d/g)?.length ?? 0);
      raw.resume();
      await ctx.waitEvent(id, (e) => e.type === "drain", "the drain hook", 15_000);
      const binaryFrames = () => raw.frames.filter((f) => f.opcode === Opcode.BINARY && f.payload.length === MiB).length;
      await raw.nextFrame(() => binaryFrames() >= delivered, 15_000);
      raw.sendText(cmd({ op: "send", count: 1, size: MiB, binary: true }));
      const resumed = await ctx.waitEvent(id, (e) => e.type === "sent" && e.statuses !== statuses, "a send after the drain");
      assert.notEqual(resumed.statuses, "d", "after drain a send must not be dropped");
      await raw.nextFrame(() => binaryFrames() >= delivered + 1, 10_000);
      assert.equal(binaryFrames(), delivered + 1, "every send reported sent or buffered arrives, nothing else");
    },
  },
  {
    id: "backpressure.close-on-limit",
    title:
      'closeOnBackpressureLimit: the socket closes at the limit (no close frame), the close hook gets 1006 "backpressure limit"',
    category,
    timeoutMs: 30_000,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("bpclose", id, { query: "silent=1" });
      raw.pause();
      raw.sendText(cmd({ op: "send", count: 40, size: MiB, binary: true }));
      const flood = await ctx.waitEvent(id, (e) => e.type === "sent", "the flood's send statuses", 15_000);
      const statuses = String(flood.statuses);
      assert.match(statuses, /^s*b*d+$/, `after the limit every send is dropped: ${statuses}`);
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
      assert.equal(closed.reason, "backpressure limit");
      raw.resume();
      const end = await raw.waitEnd(15_000);
      assert.equal(end.closeFrame, undefined, "the close at the backpressure limit is abrupt (no close frame)");
    },
  },
];
