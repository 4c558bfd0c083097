/**
 * Closing: codes and reasons in both directions, abrupt drops, terminate().
 */

import assert from "node:assert/strict";
import { Opcode, type RawClient } from "../clients/raw.js";
import { deviationOrFail } from "../deviations.js";
import type { Check, CheckContext, FixtureEvent } from "../types.js";
import { cmd, starvation } from "./helpers.js";

const category = "close";

/** Ends a connection one way, waits until the TCP connection is over, and returns the close hook's events for it. */
async function closeEvents(
  ctx: CheckContext,
  profile: string,
  end: (raw: RawClient, id: string) => Promise<void> | void,
): Promise<FixtureEvent[]> {
  const id = ctx.id();
  const raw = await ctx.raw(profile, id, { query: "silent=1" });
  await end(raw, id);
  await raw.waitEnd(10_000);
  // The engine reported the end before the client saw it: a second close hook would be recorded by now.
  return (await ctx.events(id)).filter((e) => e.type === "close");
}

export const closeChecks: Check[] = [
  {
    id: "close.hook-once",
    title:
      "the close hook runs exactly once, with the first close's code: terminate(), idle timeout, backpressure close, server shutdown, close then terminate, close twice, client and server closing at once",
    category,
    slow: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const scenarios: [string, string, (raw: RawClient, id: string) => Promise<void> | void, number, string][] = [
        ["terminate()", "closeonce", (raw) => raw.sendText(cmd({ op: "terminate" })), 1006, ""],
        ["idle timeout", "closeonce", () => {}, 1006, "idle timeout"],
        [
          "backpressure close",
          "closeonce",
          (raw) => {
            raw.pause();
            // More than the kernel's buffers hold on loopback, so that the server's own buffer passes the limit.
            raw.sendText(cmd({ op: "send", count: 24, size: 1024 * 1024, binary: true }));
            setTimeout(() => raw.resume(), 300);
          },
          1006,
          "backpressure limit",
        ],
        ["close then terminate", "closeonce", (raw) => raw.sendText(cmd({ op: "close-terminate" })), 4006, "first"],
        ["close twice", "closeonce", (raw) => raw.sendText(cmd({ op: "close-twice" })), 4007, "once"],
        [
          "client and server at once",
          "closeonce",
          (raw) => {
            raw.sendText(cmd({ op: "close", code: 4009, reason: "server" }));
            raw.sendClose(4010, "client");
          },
          4009,
          "server",
        ],
        [
          "server shutdown",
          "shutdown5",
          async () => {
            const response = await ctx.http("main", "/__control/close/shutdown5?timeout=2000", { method: "POST" });
            assert.equal(response.status, 200);
          },
          1001,
          "",
        ],
      ];
      await Promise.all(
        scenarios.map(async ([what, profile, end, code, reason]) => {
          const closes = await closeEvents(ctx, profile, end);
          assert.equal(closes.length, 1, `${what}: the close hook ran ${closes.length} times`);
          assert.equal(closes[0]?.code, code, `${what}: close code`);
          assert.equal(closes[0]?.reason, reason, `${what}: close reason`);
        }),
      );
    },
  },
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
      client.send(cmd({ op: "close", code: 4001, reason: "bye" }));
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
    title: "terminate() ends the connection without a close frame: readyState is 3 at once, the close hook gets 1006",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id);
      await raw.nextFrame();
      raw.sendText(cmd({ op: "terminate" }));
      const end = await raw.waitEnd();
      assert.equal(end.closeFrame, undefined, "terminate() must not send a close frame");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
      const after = await ctx.waitEvent(id, (e) => e.type === "terminated", "the state right after terminate()");
      assert.equal(after.readyState, 3, "readyState is CLOSED (3) right after terminate(), on every engine");
      assert.equal(after.send, "dropped", "a send after terminate() is dropped");
    },
  },

  {
    id: "close.default-code",
    title: "close() without arguments sends 1000 and the close hook gets 1000",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      raw.sendText(cmd({ op: "close" }));
      const frame = await raw.nextFrame((f) => f.opcode === Opcode.CLOSE);
      assert.equal(frame.payload.readUInt16BE(0), 1000);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 1000);
      assert.equal(hook.reason, "");
    },
  },
  {
    id: "close.invalid-codes",
    title:
      "close() with a code that may not be sent throws a RangeError, with a reason that is not a string a TypeError, and leaves the socket open",
    category,
    async run(ctx) {
      const client = await ctx.open("main", ctx.id(), { query: "silent=1" });
      client.send(cmd({ op: "close-invalid", codes: [0, 999, 1004, 1005, 1006, 1015, 2999, 5000], badReason: 42 }));
      const { reason, ...outcomes } = JSON.parse((await client.message(0)).text) as Record<string, string>;
      assert.equal(Object.keys(outcomes).length, 8);
      for (const [code, outcome] of Object.entries(outcomes))
        assert.match(outcome, /^RangeError: /, `close(${code}): ${outcome}`);
      assert.match(String(reason), /^TypeError: /, `close(1000, 42): ${reason}`);
      client.send("still open");
      assert.equal((await client.message(1)).text, "still open");
    },
  },
  {
    id: "close.long-reason",
    title:
      "a reason over 123 bytes is cut at a character boundary (a leading U+FEFF kept); the hook sees exactly what went on the wire",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      raw.sendText(cmd({ op: "close", code: 4005, reason: "é".repeat(70) }));
      const frame = await raw.nextFrame((f) => f.opcode === Opcode.CLOSE);
      const wireReason = frame.payload.subarray(2).toString("utf8");
      assert.equal(wireReason, "é".repeat(61), `wire reason has ${frame.payload.length - 2} bytes`);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 4005);
      assert.equal(hook.reason, wireReason);
      // A reason that starts with U+FEFF keeps it through the cut (a decoder that strips a BOM would not).
      const bomId = ctx.id();
      const bomRaw = await ctx.raw("main", bomId, { query: "silent=1" });
      bomRaw.sendText(cmd({ op: "close", code: 4005, reason: `\uFEFF${"é".repeat(70)}` }));
      const bomFrame = await bomRaw.nextFrame((f) => f.opcode === Opcode.CLOSE);
      const bomWire = bomFrame.payload.subarray(2);
      assert.equal(bomWire.subarray(0, 3).toString("hex"), "efbbbf", "the reason's leading U+FEFF must stay on the wire");
      assert.equal(bomWire.toString("utf8"), `\uFEFF${"é".repeat(60)}`, `wire reason has ${bomWire.length} bytes`);
      const bomHook = await ctx.waitEvent(bomId, (e) => e.type === "close", "the close hook");
      assert.equal(bomHook.reason, `\uFEFF${"é".repeat(60)}`, "the close hook sees the reason as it went on the wire");
    },
  },
  {
    id: "close.hook-immediate-once",
    title:
      "a server close runs the close hook at once (before the client answers) and exactly once; what the client sends before answering never reaches the message hook",
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      const sent = Date.now();
      raw.sendText(cmd({ op: "close", code: 4003, reason: "now" }));
      const frame = await raw.nextFrame((f) => f.opcode === Opcode.CLOSE);
      assert.equal(frame.payload.readUInt16BE(0), 4003);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook", 3000);
      const hookLate = await starvation(ctx, sent);
      assert.ok(
        (hook.at as number) - sent < 1000 + hookLate,
        `the close hook ran ${(hook.at as number) - sent} ms after the command: it must not wait for the client's answer (timers ran up to ${hookLate} ms late)`,
      );
      assert.equal(hook.code, 4003);
      // A message the client sends before answering the close is not the application's any more.
      raw.sendText("late-after-the-close");
      raw.sendClose(4003, "now");
      await raw.waitEnd(7000);
      await new Promise((r) => setTimeout(r, 100));
      const closes = (await ctx.events(id)).filter((e) => e.type === "close");
      assert.equal(closes.length, 1, "the close hook must run exactly once");
      const late = (await ctx.events(id)).filter((e) => e.type === "message" && e.length === "late-after-the-close".length);
      assert.equal(late.length, 0, "a message after the server's close must not reach the message hook");
    },
  },
  {
    id: "close.client-registered-codes",
    title: "client close codes 3001 and 1012 reach the close hook",
    category,
    async run(ctx) {
      const observed: string[] = [];
      for (const code of [3001, 1012]) {
        const id = ctx.id();
        const client = await ctx.open("main", id, { query: "silent=1" });
        client.close(code, "x");
        const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
        observed.push(`${code} → ${String(hook.code)}${hook.code === code ? "" : ` ${String(hook.reason)}`}`);
      }
      if (observed.every((line) => /^(\d+) → \1$/.test(line))) return;
      return deviationOrFail(
        ctx.adapter,
        "close.client-registered-codes",
        observed.join("; "),
        "the hook must get the client's code",
      );
    },
  },
];
