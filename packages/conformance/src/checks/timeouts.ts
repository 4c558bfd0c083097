/**
 * Idle timeout (activity = frames received from the client), automatic pings, max lifetime.
 * Profiles: idle (idleTimeout 2 s), idlenopings (2 s, sendPings false), lifetime (0.05 min = 3 s).
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd, sleep, starvation } from "./helpers.js";

const category = "timeouts";
const T = 2000;
/** Documented window: closed between T and T + 1 s after the last frame received (two 500 ms watchdog ticks). */
const WINDOW = 1000;
/** Timer and loopback jitter on a loaded 2-core machine, both ways. */
const JITTER = 250;

export const timeoutChecks: Check[] = [
  {
    id: "timeouts.idle-silent-client",
    title: 'idleTimeout: a client that never answers is pinged, then cut off between T and T+1 s (1006 "idle timeout")',
    category,
    slow: true,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("idle", id, { query: "silent=1" });
      const opened = Date.now();
      const ping = await raw.nextFrame((f) => f.opcode === Opcode.PING, 4000);
      assert.ok(ping, "the server must ping a silent client before the timeout");
      const end = await raw.waitEnd(6000);
      const elapsed = Date.now() - opened;
      assert.equal(end.closeFrame, undefined, "an idle close is abrupt (no close frame)");
      const late = await starvation(ctx, opened);
      assert.ok(
        elapsed >= T - JITTER && elapsed <= T + WINDOW + JITTER + late,
        `closed after ${elapsed} ms, window [${T}, ${T + WINDOW}] (timers ran up to ${late} ms late)`,
      );
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
      assert.equal(closed.reason, "idle timeout");
    },
  },
  {
    id: "timeouts.idle-pong-keeps-alive",
    title: "idleTimeout with sendPings: a client that answers pings stays open past T (three pings, then an echo)",
    category,
    slow: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("idle", id, { query: "silent=1" });
      const opened = Date.now();
      // Pings come after T/2 of silence; each pong is activity. Three of them outlast T.
      await client.until(() => client.pings.length >= 3, "three automatic pings", 4 * T);
      assert.ok(Date.now() - opened > T, "three pings took longer than the idle timeout");
      assert.equal(client.closeInfo, undefined, `closed: ${JSON.stringify(client.closeInfo)}`);
      client.send("still open?");
      assert.equal((await client.message()).text, "still open?", "the connection still answers");
      client.close(1000);
    },
  },
  {
    id: "timeouts.idle-activity-is-received-frames",
    title: "without pings: client messages keep a connection alive; server sends do not",
    category,
    slow: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const chattyId = ctx.id();
      const chatty = await ctx.open("idlenopings", chattyId, { query: "silent=1" });
      const quietId = ctx.id();
      const quiet = await ctx.raw("idlenopings", quietId, { query: "silent=1" });
      quiet.sendText(cmd({ op: "tick", every: 300 }));
      const quietStart = Date.now();
      let quietEndedAfter = -1;
      void quiet.ended.then(() => {
        quietEndedAfter = Date.now() - quietStart;
      });
      for (let i = 0; i < 6; i++) {
        await sleep(600);
        chatty.send("still here");
      }
      const lastSent = Date.now();
      assert.equal(chatty.closeInfo, undefined, "a client sending every 600 ms must stay open with idleTimeout 2");
      assert.equal(quiet.frames.filter((f) => f.opcode === Opcode.PING).length, 0, "sendPings: false must not ping");
      // The quiet socket's last frame was its command: it must be cut T to T + 1 s after it, ticks notwithstanding.
      const quietEnd = await quiet.waitEnd(1000);
      assert.equal(quietEnd.closeFrame, undefined, "an idle close is abrupt");
      const quietLate = await starvation(ctx, quietStart);
      assert.ok(
        quietEndedAfter >= T - JITTER && quietEndedAfter <= T + WINDOW + JITTER + quietLate,
        `the quiet socket closed ${quietEndedAfter} ms after its last frame, window [${T}, ${T + WINDOW}] (timers ran up to ${quietLate} ms late): server-to-client traffic must not keep it open`,
      );
      const quietHook = await ctx.waitEvent(quietId, (e) => e.type === "close", "the quiet socket's close hook");
      assert.equal(quietHook.code, 1006);
      assert.equal(quietHook.reason, "idle timeout");
      assert.ok(quiet.frames.filter((f) => f.opcode === Opcode.TEXT && f.payload.toString() === "tick").length >= 3);
      const closed = await chatty.waitClose(T + WINDOW + JITTER + 3000);
      const after = Date.now() - lastSent;
      const late = await starvation(ctx, lastSent);
      assert.ok(
        after >= T - JITTER && after <= T + WINDOW + JITTER + late,
        `closed ${after} ms after its last message, window [${T}, ${T + WINDOW}] (timers ran up to ${late} ms late)`,
      );
      assert.equal(closed.code, 1006);
      const chattyHook = await ctx.waitEvent(chattyId, (e) => e.type === "close", "the chatty socket's close hook");
      assert.equal(chattyHook.reason, "idle timeout");
    },
  },
  {
    id: "timeouts.max-lifetime",
    title: 'maxLifetime: an active connection is closed at the limit with 1000 "please reconnect" (wire and hook)',
    category,
    slow: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("lifetime", id, { query: "silent=1" });
      const started = Date.now();
      const timer = setInterval(() => client.send("active"), 400);
      try {
        const closed = await client.waitClose(8000);
        assert.equal(closed.code, 1000);
        assert.equal(closed.reason, "please reconnect");
      } finally {
        clearInterval(timer);
      }
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 1000);
      assert.equal(hook.reason, "please reconnect");
      // Measured by the server's own clock, from its open hook to its close hook. Resolution: half a second.
      const open = await ctx.waitEvent(id, (e) => e.type === "open", "the open hook");
      const lived = (hook.at as number) - (open.at as number);
      const late = await starvation(ctx, started);
      assert.ok(
        lived >= 3000 - JITTER && lived <= 3000 + 500 + JITTER + late,
        `closed after ${lived} ms, limit 3000 ms (timers ran up to ${late} ms late)`,
      );
    },
  },
];
