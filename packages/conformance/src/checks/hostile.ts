/**
 * Hostile and slow clients meet the same deadlines and limits on every engine: upgrade decisions
 * that never settle, slots held while deciding.
 */

import assert from "node:assert/strict";
import { RawClient } from "../clients/raw.js";
import type { Check, CheckContext } from "../types.js";
import { metricsOf, waitFor } from "./helpers.js";

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
      assert.ok(took >= 950 && took < 1700, `answered after ${took} ms (upgradeTimeout is 1 s)`);
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
      assert.ok(Date.now() - started < 500, "refused at once, not after the others' deadline");
      for (const client of await Promise.all(slow)) assert.equal(client.response.status, 503);
      await waitFor(async () => (await metricsOf(ctx, "deciding")).connections.pending === 0, "pending back to 0", 3000);
      const again = await upgrade(ctx, "deciding", ctx.id(), "");
      assert.equal(again.response.status, 101, "the slots are free once the decisions ended");
    },
  },
];
