/**
 * Closing the server: every client gets 1001, every close hook runs, the port is freed.
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";

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
      const response = await ctx.http("main", "/__control/close/shutdown2?code=4010&reason=maintenance&timeout=1000", {
        method: "POST",
      });
      assert.equal(response.status, 200);
      const took = Date.now() - started;
      const seen = await polite.waitClose();
      assert.equal(seen.code, 4010);
      assert.equal(seen.reason, "maintenance");
      const frame = await stubborn.nextFrame((f) => f.opcode === Opcode.CLOSE);
      assert.equal(frame.payload.readUInt16BE(0), 4010);
      await stubborn.waitEnd(3000);
      assert.ok(took <= 1000 + 1500, `close() resolved after ${took} ms with timeout 1000`);
      for (const id of [politeId, stubbornId]) {
        const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
        assert.equal(hook.code, 4010);
        assert.equal(hook.reason, "maintenance");
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
