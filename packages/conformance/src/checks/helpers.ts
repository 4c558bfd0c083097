/**
 * Small pieces the checks share.
 */

import type { Metrics } from "@verb/core";
import type { TestClient, TestClientOptions } from "../clients/ws-client.js";
import { TimerLateness } from "../lateness.js";
import type { CheckContext } from "../types.js";

export { setTimeout as sleep } from "node:timers/promises";

/** A command for the fixture: `cmd:` followed by JSON. */
export const cmd = (command: object): string => `cmd:${JSON.stringify(command)}`;

/** Upgrade headers of a client that offers permessage-deflate. */
export const DEFLATE_OFFER = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" } as const;

/**
 * Opens a client with a fresh id on `profile`, ends it with the check, and waits for the
 * fixture's greeting (message 0).
 */
export async function greeted(
  ctx: CheckContext,
  profile = "main",
  options?: TestClientOptions & { query?: string },
): Promise<{ id: string; client: TestClient }> {
  const id = ctx.id();
  const client = await ctx.open(profile, id, options);
  ctx.defer(() => client.terminate());
  await client.message(0);
  return { id, client };
}

const runnerLateness = new TimerLateness();

/**
 * How late timers ran since `since` (a `Date.now()` value), in the fixture and in this runner
 * together: what a documented deadline may be exceeded by when the machine is too busy to run
 * timers on time. An engine that closes late on an idle machine still fails.
 */
export async function starvation(ctx: CheckContext, since: number): Promise<number> {
  const response = await ctx.http("main", `/__control/lag?since=${since}`);
  const { ms } = (await response.json()) as { ms: number };
  return Math.round(ms + runnerLateness.since(since));
}

/** The fixture's metrics for a profile (`app.metrics()` of that server). */
export async function metricsOf(ctx: CheckContext, profile: string): Promise<Metrics> {
  const response = await ctx.http("main", `/__control/metrics/${profile}`);
  return (await response.json()) as Metrics;
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
