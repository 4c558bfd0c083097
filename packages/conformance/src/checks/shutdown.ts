/**
 * Closing the server: every client gets 1001, every close hook runs, the port is freed.
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
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
];
