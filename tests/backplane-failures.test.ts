/**
 * Redis unreachable at start: a clear error from listen() (the port is never bound), or, when
 * asked, a local-only start that keeps serving and reports the backplane as disconnected.
 * The offline-queue store on a real redis-server: calls reject promptly while Redis is down or
 * hung, work again once it is back, and a malformed entry does not lose the rest of a queue.
 */

import { createServer, type QueuedMessage } from "@verb/core";
import { RedisOfflineStore, redisBackplane } from "@verb/redis";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { TestClient } from "../packages/conformance/src/clients/ws-client.js";
import { redisUnavailable, startRedis } from "./helpers/redis.js";
import { eventually, freePort } from "./helpers/runtimes.js";

describe("Redis backplane faults at start", () => {
  it("fails listen() with a clear error when Redis cannot be reached", async () => {
    const deadPort = await freePort();
    const app = createServer().withOptions({
      adapter: "node",
      backplane: redisBackplane({ url: `redis://127.0.0.1:${deadPort}`, connectTimeout: 500 }),
      websocket: { open: (ws) => ws.send("hi") },
    });
    await expect(app.listen(0, "127.0.0.1")).rejects.toThrow(
      new RegExp(
        `^Redis backplane: cannot connect to redis://127.0.0.1:${deadPort} \\(.+\\)\\. Start Redis, or pass required: false`,
      ),
    );
    expect(app.server).toBeUndefined();
  });

  it("starts local-only with required: false, delivers locally, and reports it", async () => {
    const deadPort = await freePort();
    const warnings: string[] = [];
    const app = createServer().withOptions({
      adapter: "node",
      logger: { warn: (_fields, message) => warnings.push(message) },
      backplane: redisBackplane({ url: `redis://127.0.0.1:${deadPort}`, connectTimeout: 300, required: false }),
      websocket: {
        open: (ws) => ws.subscribe("room"),
        message: (ws, message) => {
          ws.publish("room", message);
        },
      },
    });
    const server = await app.listen(0, "127.0.0.1");
    try {
      const a = await TestClient.open(`ws://127.0.0.1:${server.port}/`);
      const b = await TestClient.open(`ws://127.0.0.1:${server.port}/`);
      a.send("local only");
      expect((await b.message()).text).toBe("local only");
      const metrics = app.metrics();
      expect(metrics.backplane?.connected).toBe(false);
      expect(metrics.backplane?.lost).toBeGreaterThanOrEqual(1);
      expect(warnings.some((w) => w.startsWith("backplane connect failed"))).toBe(true);
      a.terminate();
      b.terminate();
    } finally {
      await server.close({ timeout: 500 });
    }
  });
});

const redisSkip = redisUnavailable();
const bounds = { maxMessages: 10, ttlMs: 60_000 };
const queued = (data: string): QueuedMessage => ({ data, binary: false, at: Date.now() });

/** How long a promise takes to settle, and whether it rejected. */
async function settle(promise: Promise<unknown>): Promise<{ ms: number; rejected: boolean }> {
  const started = Date.now();
  const rejected = await promise.then(
    () => false,
    () => true,
  );
  return { ms: Date.now() - started, rejected };
}

describe.skipIf(redisSkip !== undefined)(
  `RedisOfflineStore on a real Redis${redisSkip ? ` (skipped: ${redisSkip})` : ""}`,
  () => {
    it("rejects every call promptly while Redis is down, and works again once it is back", async () => {
      let redis = await startRedis();
      const store = new RedisOfflineStore({ url: redis.url, prefix: "down:" });
      try {
        // Called right away: waits for the first connection instead of failing.
        expect(await store.enqueue("c1", queued("before"), bounds)).toBe(0);
        expect(store.totalDepth()).toBe(1);
        await redis.process.stop();
        const calls: Promise<unknown>[] = [
          store.take("c1", bounds),
          store.enqueue("c1", queued("during"), bounds),
          store.depth("c1"),
          store.issueToken("c1", 1000),
          store.resolveToken("nope"),
        ];
        for (const outcome of await Promise.all(calls.map(settle))) {
          expect(outcome.rejected).toBe(true);
          expect(outcome.ms).toBeLessThan(1000);
        }
        redis = await startRedis(redis.port);
        // Reconnects by itself: the queue written before the outage is gone with the server
        // (no persistence), new calls succeed.
        await eventually(() => store.enqueue("c1", queued("after"), bounds));
        expect((await store.take("c1", bounds)).map((m) => m.data)).toEqual(["after"]);
        expect(store.totalDepth()).toBe(0);
      } finally {
        await store.close();
        await redis.process.stop();
      }
    });

    it("rejects after commandTimeout when Redis hangs (connected but not answering)", async () => {
      const redis = await startRedis();
      const store = new RedisOfflineStore({ url: redis.url, prefix: "hung:", commandTimeout: 300 });
      const pid = redis.process.child.pid as number;
      try {
        await store.enqueue("c1", queued("kept"), bounds);
        process.kill(pid, "SIGSTOP");
        const outcome = await settle(store.take("c1", bounds));
        expect(outcome.rejected).toBe(true);
        expect(outcome.ms).toBeLessThan(1500);
      } finally {
        process.kill(pid, "SIGCONT");
        await store.close();
        await redis.process.stop();
      }
    });

    it("take skips a malformed entry, reports it, and returns the rest in order", async () => {
      const redis = await startRedis();
      const errors: Error[] = [];
      const store = new RedisOfflineStore({ url: redis.url, prefix: "bad:", onError: (error) => errors.push(error) });
      const probe = new Redis(redis.url);
      try {
        await store.enqueue("c1", queued("one"), bounds);
        await probe.rpush("bad:q:c1", "{not json", JSON.stringify({ data: 5 }));
        await store.enqueue("c1", queued("two"), bounds);
        expect(store.totalDepth()).toBe(2);
        expect((await store.take("c1", bounds)).map((m) => m.data)).toEqual(["one", "two"]);
        expect(store.malformed).toBe(2);
        expect(errors.map((e) => e.message)).toEqual(["Redis offline store: skipped 2 malformed entries in bad:q:c1"]);
        expect(await probe.exists("bad:q:c1")).toBe(0);
        expect(store.totalDepth()).toBe(0);
      } finally {
        probe.disconnect();
        await store.close();
        await redis.process.stop();
      }
    });

    it("the depth gauge comes down when Redis expires a list", async () => {
      const redis = await startRedis();
      const store = new RedisOfflineStore({ url: redis.url, prefix: "ttl:" });
      try {
        const short = { maxMessages: 2, ttlMs: 200 };
        for (const data of ["a", "b", "c"]) await store.enqueue("c1", queued(data), short);
        expect(store.totalDepth()).toBe(2);
        expect(store.sweep(Date.now())).toBe(0);
        expect(store.totalDepth()).toBe(2);
        await new Promise((resolve) => setTimeout(resolve, 300));
        store.sweep(Date.now());
        expect(store.totalDepth()).toBe(0);
        expect(await store.depth("c1")).toBe(0);
      } finally {
        await store.close();
        await redis.process.stop();
      }
    });
  },
);
