/**
 * Backpressure: one maxBackpressure rule on every engine, drop or close at the limit, drain, resumption.
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd, waitFor } from "./helpers.js";

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
    id: "backpressure.limit-after-drain",
    title:
      "after a drain the whole limit is there again: a second flood of 32-byte sends to a reader that stopped again is accepted about as far as the first, and everything accepted arrives",
    category,
    timeoutMs: 40_000,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("bp", id, { query: "silent=1" });
      const floodFrames = () => raw.frames.filter((f) => f.opcode === Opcode.TEXT && f.payload.length === 32).length;
      const accepted: number[] = [];
      const all = async (type: string) => (await ctx.events(id)).filter((e) => e.type === type);
      for (let round = 0; round < 2; round++) {
        raw.pause();
        raw.sendText(cmd({ op: "flood", size: 32 }));
        await waitFor(async () => (await all("flooded")).length > round, `flood ${round + 1}`, 15_000);
        const count = (await all("flooded"))[round]?.accepted as number;
        accepted.push(count);
        raw.resume();
        await waitFor(() => floodFrames() >= count, `the ${count} sends of flood ${round + 1} delivered`, 20_000);
        await waitFor(async () => (await all("drain")).length > round, `the drain after flood ${round + 1}`, 15_000);
        assert.equal(floodFrames(), count, `flood ${round + 1}: every accepted send arrives, nothing else`);
        raw.frames.length = 0;
      }
      const [first, second] = accepted as [number, number];
      // Adapters that count each queued message's own memory (Node 256 B, Deno 1 KiB) accept fewer
      // 32-byte sends into 1 MiB than the bytes alone allow; a few hundred is the floor.
      assert.ok(first > 500, `only ${first} sends accepted before the first drop (maxBackpressure 1 MiB)`);
      assert.ok(
        second >= first / 2,
        `after the drain the limit must apply afresh: the first flood got ${first} sends in, the second only ${second}`,
      );
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
