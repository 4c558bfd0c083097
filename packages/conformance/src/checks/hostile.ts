/**
 * Hostile and slow clients meet the same deadlines and limits on every engine: upgrade decisions
 * that never settle, slots held while deciding, request heads that trickle or overflow, messages
 * in a flood of fragments, ping floods from a client that does not read, what a stalled reader costs.
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { Opcode, RawClient } from "../clients/raw.js";
import { deviationOrFail } from "../deviations.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, metricsOf, starvation, waitFor } from "./helpers.js";

/** The head deadline (10 s from the first byte), and how late each engine's timer may fire (Bun and uWS tick every 4 s). */
const HEAD_DEADLINE_MS = 10_000;
const HEAD_DEADLINE_LATE_MS = 5000;
/** uWS counts its timeouts in 4 s ticks: a 10 s one fires on the third tick, 8 to 12 s after it was set. */
const HEAD_DEADLINE_EARLY_MS = 2000;

/**
 * A connection that sends `head` one byte per second and never finishes it (or nothing at all).
 * Resolves with when it was closed and what it received.
 */
function trickle(port: number, head: string): Promise<{ closedAfter: number; received: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const started = Date.now();
    let received = 0;
    let sent = 0;
    const timer = setInterval(() => {
      if (head.length > 0 && sent < head.length) socket.write(head[sent++] as string);
    }, 1000);
    const giveUp = setTimeout(
      () => {
        socket.destroy();
        reject(new Error(`still open after ${HEAD_DEADLINE_MS + HEAD_DEADLINE_LATE_MS + 5000} ms`));
      },
      HEAD_DEADLINE_MS + HEAD_DEADLINE_LATE_MS + 5000,
    );
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfter: Date.now() - started, received });
    });
  });
}

/** Sends a raw request head and reads the status line of the answer. */
function rawHead(port: number, head: string): Promise<{ status: number; connectionClose: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer within 5 s"));
    }, 5000);
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      const end = answer.indexOf("\r\n\r\n");
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      const lines = answer.slice(0, end).split("\r\n");
      resolve({
        status: Number((lines[0] ?? "").split(" ")[1]),
        connectionClose: lines.some((line) => /^connection:\s*close$/i.test(line)),
      });
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("connect", () => socket.write(head));
  });
}

function upgradeHead(port: number, path: string, extra: string[]): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
    "",
    "",
  ].join("\r\n");
}

function getHead(port: number, path: string, extra: string[]): string {
  return [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extra, "", ""].join("\r\n");
}

/** `count` header fields in `bytes` bytes (names distinct). */
function fields(count: number, bytes = 10): string[] {
  return Array.from({ length: count }, (_, i) => `x-field-${i}: ${"v".repeat(bytes)}`);
}

/** One text message of `count` fragments of one byte each, masked, in one buffer. */
function fragmented(count: number): Buffer {
  const frame = (opcode: number, fin: boolean, byte: number) => Buffer.from([(fin ? 0x80 : 0) | opcode, 0x81, 0, 0, 0, 0, byte]);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++)
    parts.push(frame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, i === count - 1, 0x61 + (i % 26)));
  return Buffer.concat(parts);
}

function expectedText(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += String.fromCharCode(0x61 + (i % 26));
  return text;
}

const category = "hostile";

/** Starts an upgrade on a slow-decision profile; resolves with the handshake answer. */
function upgrade(ctx: CheckContext, profile: "deciding" | "deadline", id: string, query: string): Promise<RawClient> {
  return RawClient.connect(ctx.port(profile), { path: `/?id=${id}&silent=1${query}`, timeoutMs: 8000 }).then((client) => {
    ctx.defer(() => client.destroy());
    return client;
  });
}

export const hostileChecks: Check[] = [
  {
    id: "hostile.slow-head",
    title:
      "slow clients: a request head trickled one byte a second (GET and upgrade), or nothing at all, is closed 10 s after it started (engine timers: up to 5 s late), without an answer",
    category,
    slow: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const port = ctx.port("main");
      const outcomes = await Promise.all([
        trickle(port, getHead(port, "/hello", fields(5))),
        trickle(port, upgradeHead(port, "/?silent=1", fields(5))),
        trickle(port, ""),
      ]);
      for (const [i, what] of ["a slow GET head", "a slow upgrade head", "a silent connection"].entries()) {
        const { closedAfter, received } = outcomes[i] as { closedAfter: number; received: number };
        assert.ok(
          closedAfter >= HEAD_DEADLINE_MS - HEAD_DEADLINE_EARLY_MS && closedAfter <= HEAD_DEADLINE_MS + HEAD_DEADLINE_LATE_MS,
          `${what}: closed after ${closedAfter} ms, deadline ${HEAD_DEADLINE_MS} ms`,
        );
        assert.equal(received, 0, `${what}: closed without an answer`);
      }
    },
  },
  {
    id: "hostile.head-too-large",
    title:
      "request heads: 15 KB of headers or 98 fields are served; a 20 KB header or 150 fields get 431 with Connection: close (GET and upgrade), the same on every engine",
    category,
    async run(ctx) {
      const port = ctx.port("main");
      for (const [name, build] of [
        ["GET", getHead],
        ["upgrade", upgradeHead],
      ] as const) {
        const path = name === "GET" ? "/__probe/events?id=none" : "/?silent=1";
        const ok = name === "GET" ? 200 : 101;
        assert.equal(
          (await rawHead(port, build(port, path, [`x-big: ${"b".repeat(15_000)}`]))).status,
          ok,
          `${name}: 15 KB header`,
        );
        // 98 fields in all: the upgrade's own five, or Host, and the rest.
        const fill = name === "GET" ? 97 : 93;
        assert.equal((await rawHead(port, build(port, path, fields(fill)))).status, ok, `${name}: 98 fields`);
        for (const [what, extra] of [
          ["a 20 KB header", [`x-big: ${"b".repeat(20_000)}`]],
          ["150 fields", fields(150)],
        ] as const) {
          const answer = await rawHead(port, build(port, path, [...extra]));
          assert.equal(answer.status, 431, `${name} with ${what}`);
          assert.equal(answer.connectionClose, true, `${name} with ${what}: Connection: close`);
        }
      }
    },
  },
  {
    id: "hostile.many-fragments",
    title:
      "a legal message in 200,000 one-byte fragments is echoed intact (fragments are bounded by the payload limit, not counted)",
    category,
    exclusive: true,
    async run(ctx) {
      const raw = await ctx.raw("fragments", ctx.id(), { query: "silent=1" });
      raw.socket.write(fragmented(200_000));
      const echo = await raw.nextFrame((f) => f.opcode === Opcode.TEXT, 10_000);
      assert.equal(echo.payload.toString(), expectedText(200_000));
    },
  },
  {
    id: "hostile.fragments-over-cap",
    title:
      "a message in more than maxPayloadLength/64 fragments (262,145 here): echoed, except on Node + ws, which holds each fragment as a buffer and closes 1008 (documented)",
    category,
    exclusive: true,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("fragments", id, { query: "silent=1" });
      const count = (16 * 1024 * 1024) / 64 + 1;
      raw.socket.write(fragmented(count));
      const closeHook = () => ctx.waitEvent(id, (e) => e.type === "close", "the close hook", 15_000).then((e) => ({ close: e }));
      const outcome = await Promise.race([
        raw.nextFrame((f) => f.opcode === Opcode.TEXT, 15_000).then((f) => ({ echo: f.payload.length }), closeHook),
        closeHook(),
      ]);
      if ("echo" in outcome) {
        assert.equal(outcome.echo, count, "the whole message");
        return;
      }
      return deviationOrFail(
        ctx.adapter,
        "hostile.fragments-over-cap",
        `closed ${String(outcome.close.code)} ${String(outcome.close.reason)}`,
        "the message must be delivered",
      );
    },
  },
  {
    id: "hostile.ping-flood",
    title:
      "a ping flood from a client that does not read: pongs obey maxBackpressure (the rest are dropped and counted), the socket stays open and answers once it reads",
    category,
    exclusive: true,
    timeoutMs: 40_000,
    async run(ctx) {
      const before = await metricsOf(ctx, "pingflood");
      const raw = await ctx.raw("pingflood", ctx.id(), { query: "silent=1" });
      raw.pause();
      // More pongs than the kernel's socket buffers hold on loopback, so that the server's own buffer fills.
      const pings = 100_000;
      const payload = Buffer.alloc(125, 0x70);
      const frames: Buffer[] = [];
      for (let i = 0; i < pings; i++) {
        const frame = Buffer.alloc(2 + 4 + 125);
        frame[0] = 0x89;
        frame[1] = 0x80 | 125;
        payload.copy(frame, 6);
        frames.push(frame);
      }
      raw.socket.write(Buffer.concat(frames));
      raw.sendText("after the flood");
      // The text after the pings counts as received once the server went through every ping.
      await waitFor(
        async () => (await metricsOf(ctx, "pingflood")).messages.in > before.messages.in,
        "the server through the flood",
        20_000,
      );
      raw.resume();
      // Echoes are dropped too while the buffer is over the limit: ask until one comes back. It comes
      // after everything the server kept.
      const isEcho = (f: { opcode: number; payload: Buffer }) =>
        f.opcode === Opcode.TEXT && f.payload.toString() === "still there?";
      for (let attempt = 0; attempt < 100 && !raw.frames.some(isEcho); attempt++) {
        raw.sendText("still there?");
        await raw.nextFrame(isEcho, 200).catch(() => undefined);
      }
      const echo = await raw.nextFrame(isEcho, 1000);
      const pongs = raw.frames.slice(0, raw.frames.indexOf(echo)).filter((f) => f.opcode === Opcode.PONG);
      assert.ok(pongs.length > 0 && pongs.length < pings, `${pongs.length} of ${pings} pongs: some must be dropped at 256 KiB`);
      assert.ok(
        pongs.every((f) => f.payload.equals(payload)),
        "each pong carries its ping's payload",
      );
      assert.equal(raw.isEnded, false);
      const after = await metricsOf(ctx, "pingflood");
      const dropped = after.backpressure.pongsDropped - before.backpressure.pongsDropped;
      assert.ok(
        Math.abs(dropped - (pings - pongs.length)) <= 3,
        `${dropped} pongs counted as dropped, ${pings - pongs.length} missing`,
      );
    },
  },
  {
    id: "hostile.stalled-reader-memory",
    title:
      "a reader that stopped costs about maxBackpressure (8 MiB), message overhead included: 32-byte sends until the first drop grow the server by less than 2 × the limit + 8 MiB",
    category,
    exclusive: true,
    slow: true,
    timeoutMs: 60_000,
    async run(ctx) {
      const memory = async (client: RawClient) => {
        client.sendText(cmd({ op: "memory" }));
        const frame = await client.nextFrame(
          (f) => f.opcode === Opcode.TEXT && f.payload.toString().startsWith('{"rss"'),
          10_000,
        );
        client.frames.length = 0;
        return JSON.parse(frame.payload.toString()) as { rss: number; heapUsed: number };
      };
      const flood = async (id: string) => {
        const reader = await ctx.raw("slowmem", id, { query: "silent=1" });
        reader.pause();
        reader.sendText(cmd({ op: "flood", size: 32 }));
        const flooded = await ctx.waitEvent(id, (e) => e.type === "flooded", "the flood", 30_000);
        return { reader, accepted: flooded.accepted as number };
      };
      const probe = await ctx.raw("slowmem", ctx.id(), { query: "silent=1" });
      // A first flood grows the heap to its working size; the second shows what one stalled reader costs.
      const warm = await flood(ctx.id());
      warm.reader.destroy();
      await waitFor(
        async () => (await metricsOf(ctx, "slowmem")).connections.active === 1,
        "the warm-up reader released",
        10_000,
      );
      const base = await memory(probe);
      const { accepted } = await flood(ctx.id());
      const held = await memory(probe);
      const limit = 8 * 1024 * 1024;
      const grew = held.rss - base.rss;
      assert.ok(accepted > 1000, `only ${accepted} sends accepted before the first drop`);
      assert.ok(
        grew < 2 * limit + 8 * 1024 * 1024,
        `one stalled reader grew the server by ${(grew / 1048576).toFixed(1)} MiB (${accepted} sends accepted) with maxBackpressure 8 MiB`,
      );
    },
  },
  {
    id: "hostile.upgrade-deadline",
    title:
      "an upgrade hook or verifyToken that outlasts upgradeTimeout (1 s) gets 503 after 1 s; the late acceptance never opens a socket",
    category,
    async run(ctx) {
      const before = await metricsOf(ctx, "deadline");
      const hookId = ctx.id();
      const authId = ctx.id();
      const started = Date.now();
      const [slowHook, slowAuth] = await Promise.all([
        upgrade(ctx, "deadline", hookId, "&hang=2000"),
        upgrade(ctx, "deadline", authId, "&token=2000"),
      ]);
      const took = Date.now() - started;
      for (const [what, client] of [
        ["slow upgrade hook", slowHook],
        ["slow verifyToken", slowAuth],
      ] as const) {
        assert.equal(client.response.status, 503, what);
        assert.equal(client.response.body, "Upgrade timed out", what);
        assert.equal(client.response.headers.connection, "close", what);
        await client.waitEnd(2000);
      }
      const late = await starvation(ctx, started);
      assert.ok(
        took >= 950 && took < 1700 + late,
        `answered after ${took} ms (upgradeTimeout is 1 s; timers ran up to ${late} ms late)`,
      );
      // Both decisions do settle later (accepting): neither may open a socket.
      await ctx.waitEvent(hookId, (e) => e.type === "upgrade-settled", "the slow hook settling", 4000);
      await ctx.waitEvent(authId, (e) => e.type === "verified", "the slow verifyToken settling", 4000);
      for (const id of [hookId, authId]) {
        const opened = (await ctx.events(id)).filter((e) => e.type === "open");
        assert.equal(opened.length, 0, "a decision that came after the deadline must not open a socket");
      }
      const after = await metricsOf(ctx, "deadline");
      assert.equal(after.connections.upgradeTimeouts - before.connections.upgradeTimeouts, 2, "both timeouts counted");
    },
  },
  {
    id: "hostile.deciding-holds-slots",
    title:
      "upgrades being decided count against maxConnectionsPerIp (4) from arrival: the 5th is refused at once, metrics show them pending, the slots come back",
    category,
    async run(ctx) {
      const ids = [0, 1, 2, 3].map(() => ctx.id());
      const slow = ids.map((id) => upgrade(ctx, "deciding", id, "&hang=1500"));
      await waitFor(
        async () => (await metricsOf(ctx, "deciding")).connections.pending === 4,
        "4 upgrades pending in metrics",
        3000,
      );
      const started = Date.now();
      const fifth = await upgrade(ctx, "deciding", ctx.id(), "");
      assert.equal(fifth.response.status, 503, "a 5th upgrade from the same address while 4 are being decided");
      assert.equal(fifth.response.body, "Server overloaded");
      const refusedAfter = Date.now() - started;
      const late = await starvation(ctx, started);
      assert.ok(
        refusedAfter < 500 + late,
        `refused after ${refusedAfter} ms, not at once (timers ran up to ${late} ms late): it waited for the others' deadline`,
      );
      for (const client of await Promise.all(slow)) assert.equal(client.response.status, 503);
      await waitFor(async () => (await metricsOf(ctx, "deciding")).connections.pending === 0, "pending back to 0", 3000);
      const again = await upgrade(ctx, "deciding", ctx.id(), "");
      assert.equal(again.response.status, 101, "the slots are free once the decisions ended");
    },
  },
];
