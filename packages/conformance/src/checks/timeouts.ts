/**
 * Idle timeout (activity = frames received from the client), automatic pings, max lifetime.
 * Profiles: idle (idleTimeout 2 s), idlenopings (2 s, sendPings false), lifetime (0.05 min = 3 s).
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd, sleep } from "./helpers.js";

const category = "timeouts";
const T = 2000;
/** Documented window: closed between T and T + 1 s after the last frame received; allow scheduling jitter. */
const EARLY_SLACK = 50;
const LATE_SLACK = 1000 + 400;

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
      assert.ok(
        elapsed >= T - EARLY_SLACK && elapsed <= T + LATE_SLACK,
        `closed after ${elapsed} ms, window [${T}, ${T + 1000}]`,
      );
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1006);
      assert.equal(closed.reason, "idle timeout");
    },
  },
  {
    id: "timeouts.idle-pong-keeps-alive",
    title: "idleTimeout with sendPings: a client that answers pings stays open (3 × T)",
    category,
    slow: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("idle", id, { query: "silent=1" });
      await sleep(3 * T);
      assert.equal(client.closeInfo, undefined, `closed: ${JSON.stringify(client.closeInfo)}`);
      assert.ok(client.pings.length >= 2, `expected automatic pings, got ${client.pings.length}`);
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
      for (let i = 0; i < 6; i++) {
        await sleep(600);
        chatty.send("still here");
      }
      const lastSent = Date.now();
      assert.equal(chatty.closeInfo, undefined, "a client sending every 600 ms must stay open with idleTimeout 2");
      assert.equal(quiet.frames.filter((f) => f.opcode === Opcode.PING).length, 0, "sendPings: false must not ping");
      const quietEnd = await quiet.waitEnd(1000);
      const quietElapsed = Date.now() - quietStart;
      assert.ok(
        quietEnd !== undefined && quietElapsed <= T + LATE_SLACK + 3600,
        "server-to-client traffic must not keep a silent client open",
      );
      assert.ok(quiet.frames.filter((f) => f.opcode === Opcode.TEXT && f.payload.toString() === "tick").length >= 3);
      const closed = await chatty.waitClose(T + LATE_SLACK + 500);
      const after = Date.now() - lastSent;
      assert.ok(after >= T - EARLY_SLACK - 100, `closed ${after} ms after its last message`);
      assert.equal(closed.code, 1006);
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
      const opened = Date.now();
      const timer = setInterval(() => client.send("active"), 400);
      try {
        const closed = await client.waitClose(8000);
        const elapsed = Date.now() - opened;
        assert.equal(closed.code, 1000);
        assert.equal(closed.reason, "please reconnect");
        assert.ok(elapsed >= 3000 - EARLY_SLACK && elapsed <= 3000 + LATE_SLACK, `closed after ${elapsed} ms, limit 3000 ms`);
      } finally {
        clearInterval(timer);
      }
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 1000);
      assert.equal(hook.reason, "please reconnect");
    },
  },
];
