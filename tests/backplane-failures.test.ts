/**
 * Redis unreachable at start: a clear error from listen() (the port is never bound), or, when
 * asked, a local-only start that keeps serving and reports the backplane as disconnected.
 */

import { createServer } from "@verb/core";
import { redisBackplane } from "@verb/redis";
import { describe, expect, it } from "vitest";
import { TestClient } from "../packages/conformance/src/clients/ws-client.js";
import { freePort } from "./helpers/runtimes.js";

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
