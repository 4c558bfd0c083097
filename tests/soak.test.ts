/**
 * A bounded soak test on every adapter: thousands of connections open, exchange messages and close
 * (cleanly or abruptly) in churn for a fixed time on loopback; afterwards the server holds no
 * connection, client, room or subscription, and its heap is back within a small margin.
 */

import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ADAPTERS, BUN, freePort, ROOT, type Running, runProcess, skipReason } from "./helpers/runtimes.js";

const CHURN_MS = Number(process.env.SOAK_MS ?? 8000);
const PARALLEL = 100;

interface Stats {
  active: number;
  pending: number;
  total: number;
  clients: number;
  rooms: number;
  subscribers: number;
  heapUsed: number;
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function stats(port: number): Promise<Stats> {
  return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Stats;
}

/** One connection's life: open, 5 round trips, then a clean close or an abrupt drop. */
function life(port: number, abrupt: boolean): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 5000);
    let echoes = 0;
    ws.on("open", () => ws.send("m0"));
    ws.on("message", () => {
      echoes++;
      if (echoes < 5) ws.send(`m${echoes}`);
      else if (abrupt) ws.terminate();
      else ws.close(1000);
    });
    ws.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on("error", () => {});
  });
}

async function churn(port: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let lives = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async (_, worker) => {
      while (Date.now() < deadline) {
        await life(port, (lives + worker) % 3 === 0);
        lives++;
      }
    }),
  );
  return lives;
}

async function settled(port: number): Promise<Stats> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const seen = await stats(port);
    if ((seen.active === 0 && seen.pending === 0) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const adapter of ADAPTERS) {
  const skip = skipReason(adapter);
  describe.skipIf(skip !== undefined)(`soak on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it(`churns thousands of connections for ${CHURN_MS} ms and returns to zero`, { timeout: CHURN_MS + 60_000 }, async () => {
      const port = await freePort();
      const script = `${ROOT}tests/fixtures/soak-server.mjs`;
      const server =
        adapter === "bun"
          ? await runProcess(BUN, [script], { PORT: String(port), VERB_ADAPTER: adapter }, /soak server ready/, { adapter })
          : await runProcess(
              process.execPath,
              ["--expose-gc", script],
              { PORT: String(port), VERB_ADAPTER: adapter },
              /soak server ready/,
              { adapter },
            );
      running.push(server);
      await churn(port, 1000);
      const start = await settled(port);
      const lives = await churn(port, CHURN_MS);
      const end = await settled(port);
      const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
      console.log(
        `[soak ${adapter}] ${lives} connections in ${CHURN_MS} ms; heap ${mb(start.heapUsed)} → ${mb(end.heapUsed)} MiB`,
      );
      expect(lives).toBeGreaterThan(1000);
      expect(end.total - start.total).toBeGreaterThanOrEqual(lives * 0.95);
      expect(end).toMatchObject({ active: 0, pending: 0, clients: 0, rooms: 0, subscribers: 0 });
      const margin = Math.max(8 * 1024 * 1024, start.heapUsed * 0.25);
      expect(end.heapUsed, `heap ${start.heapUsed} → ${end.heapUsed} after ${lives} connections`).toBeLessThan(
        start.heapUsed + margin,
      );
    });
  });
}
