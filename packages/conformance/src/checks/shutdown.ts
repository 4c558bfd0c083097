/**
 * Closing the server: every client gets 1001, every close hook runs, the port is freed.
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd, starvation } from "./helpers.js";

const category = "shutdown";

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

export const shutdownChecks: Check[] = [
  {
    id: "shutdown.grace-stalled-reader",
    title:
      "graceful close with grace: a client that stalls, then reads again within the grace, gets everything sent before the close, then 1001",
    category,
    timeoutMs: 20_000,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("shutdown4", id, { query: "silent=1" });
      raw.pause();
      raw.sendText(cmd({ op: "send", count: 8, size: 1024 * 1024, binary: true }));
      const sent = await ctx.waitEvent(id, (e) => e.type === "sent", "the sends");
      assert.ok(
        String(sent.statuses).includes("b"),
        `the stalled reader must have data waiting (statuses ${String(sent.statuses)})`,
      );
      const started = Date.now();
      const closing = ctx.http("main", "/__control/close/shutdown4?grace=6000&timeout=3000", { method: "POST" });
      setTimeout(() => raw.resume(), 700);
      const end = await raw.waitEnd(15_000);
      const response = await closing;
      assert.equal(response.status, 200);
      const binary = raw.frames.filter((f) => f.opcode === Opcode.BINARY);
      assert.equal(binary.length, 8, "every message accepted before the close arrives");
      assert.ok(binary.every((f) => f.payload.length === 1024 * 1024));
      assert.equal(end.closeFrame?.code, 1001);
      assert.ok(Date.now() - started >= 600, "the close waited for the stalled reader");
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(hook.code, 1001);
    },
  },
  {
    id: "shutdown.close-all",
    title: "closing the server handle closes every client with 1001 and frees the port",
    category,
    timeoutMs: 20_000,
    async run(ctx) {
      const ids = [ctx.id(), ctx.id(), ctx.id()];
      const clients = await Promise.all(ids.map((id) => ctx.open("shutdown", id)));
      await Promise.all(clients.map((c) => c.message(0)));
      const response = await ctx.http("main", "/__control/close/shutdown", { method: "POST" });
      assert.equal(response.status, 200, "the fixture must close its shutdown server");
      const closes = await Promise.all(clients.map((c) => c.waitClose()));
      for (const close of closes) assert.equal(close.code, 1001, "clients must see 1001");
      for (const id of ids) {
        const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
        assert.equal(hook.code, 1001);
      }
      assert.ok(await portRefuses(ctx.port("shutdown")), "the port must refuse connections after close()");
    },
  },

  {
    id: "shutdown.graceful-options",
    title:
      "server.close({ code, reason, timeout }): clients get the code, a client that never answers is cut off after the timeout",
    category,
    timeoutMs: 20_000,
    async run(ctx) {
      const politeId = ctx.id();
      const stubbornId = ctx.id();
      const polite = await ctx.open("shutdown2", politeId, { query: "silent=1" });
      const stubborn = await ctx.raw("shutdown2", stubbornId, { query: "silent=1" });
      const started = Date.now();
      let stubbornEnded = Number.POSITIVE_INFINITY;
      void stubborn.ended.then(() => {
        stubbornEnded = Date.now() - started;
      });
      const response = await ctx.http("main", "/__control/close/shutdown2?code=4010&reason=maintenance&timeout=1000", {
        method: "POST",
      });
      assert.equal(response.status, 200);
      const took = Date.now() - started;
      const { resolvedAt } = (await response.json()) as { resolvedAt: number };
      const seen = await polite.waitClose();
      assert.equal(seen.code, 4010);
      assert.equal(seen.reason, "maintenance");
      const frame = await stubborn.nextFrame((f) => f.opcode === Opcode.CLOSE);
      assert.equal(frame.payload.readUInt16BE(0), 4010);
      await stubborn.waitEnd(3000);
      // The stubborn client never answers: it is cut off by the timeout at the latest (engines that do
      // not wait for the close handshake end it at once), and close() resolves only once it is gone.
      const late = await starvation(ctx, started);
      assert.ok(
        stubbornEnded <= 1000 + 500 + late,
        `the stubborn client was cut off after ${stubbornEnded} ms with timeout 1000 (timers ran up to ${late} ms late)`,
      );
      assert.ok(
        took <= 1000 + 800 + late,
        `close() resolved after ${took} ms with timeout 1000 (timers ran up to ${late} ms late)`,
      );
      for (const id of [politeId, stubbornId]) {
        const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
        assert.equal(hook.code, 4010);
        assert.equal(hook.reason, "maintenance");
        // By the server's own clock: close() resolves after every close hook ran, not before.
        assert.ok(
          (hook.at as number) <= resolvedAt,
          `close() resolved ${(hook.at as number) - resolvedAt} ms before the close hook of ${id === politeId ? "the polite" : "the stubborn"} client ran`,
        );
      }
      assert.ok(await portRefuses(ctx.port("shutdown2")), "the port must be free after close()");
    },
  },
  {
    id: "shutdown.lifecycle",
    title:
      "two listen() at once: one binds, the other is refused; close() with bad options rejects naming the option and leaves the server up; close frees the port; listen works again; a port in use rejects with EADDRINUSE",
    category,
    async run(ctx) {
      const response = await ctx.http("main", "/__control/lifecycle", { method: "POST" });
      const seen = (await response.json()) as {
        listened: number;
        secondListen: string;
        port: number;
        badClose: string;
        listeningAfterBadClose: boolean;
        listenedAgain: boolean;
        portInUse: string;
      };
      assert.equal(seen.listened, 1, "exactly one of two concurrent listen() calls binds");
      assert.match(seen.secondListen, /already listening/);
      assert.match(seen.badClose, /^close\.code must be a close code that may be sent/);
      assert.equal(seen.listeningAfterBadClose, true, "a refused close() leaves the server running");
      assert.ok(seen.port > 0);
      assert.equal(await portRefuses(seen.port), true, "the port must be free after close()");
      assert.equal(seen.listenedAgain, true, "the app listens again after close()");
      assert.equal(seen.portInUse, "EADDRINUSE", "listen() on a port in use rejects with code EADDRINUSE");
    },
  },
];
