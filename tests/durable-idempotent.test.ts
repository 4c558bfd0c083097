/**
 * Durable appends are idempotent: an append Redis stored but whose reply never reached the
 * instance (the connection died between Redis's write and its answer) is sent again by ioredis on
 * reconnect, and must be answered with the number it already has, never stored a second time.
 * A loopback proxy between the instance and a real redis-server swallows exactly that reply.
 */

import { createServer as createTcpServer, type Server, Socket } from "node:net";
import { createServer } from "@verb/core";
import { redisBackplane } from "@verb/redis";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, redisUnavailable, startRedis } from "./helpers/redis.js";

const skip = redisUnavailable();

/** Forwards to Redis; when armed, the reply to the next script call is dropped and that connection cut. */
class ReplyEater {
  armed = false;
  eaten = 0;
  readonly server: Server;

  constructor(target: number) {
    this.server = createTcpServer((client) => {
      const upstream = new Socket();
      let swallowing = false;
      upstream.connect(target, "127.0.0.1");
      client.on("data", (chunk) => {
        // ioredis calls a defined command with EVALSHA (EVAL after NOSCRIPT).
        if (this.armed && /EVAL/i.test(chunk.toString("latin1"))) {
          this.armed = false;
          swallowing = true;
        }
        upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        if (!swallowing) {
          client.write(chunk);
          return;
        }
        // Redis has run the script and answered: the instance never hears it.
        this.eaten++;
        client.destroy();
        upstream.destroy();
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        const address = this.server.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
  }
}

describe.skipIf(skip !== undefined)(`durable appends are idempotent${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let redis: RedisServer;
  let eater: ReplyEater;
  let proxyPort: number;

  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
    eater = new ReplyEater(redis.port);
    proxyPort = await eater.listen();
  });

  afterAll(async () => {
    eater?.server.close();
    await redis?.process.stop();
  });

  it("an append stored without a reply reaching the instance is stored once, under one number", async () => {
    const app = createServer().withOptions({
      adapter: "node",
      backplane: redisBackplane({ url: `redis://127.0.0.1:${proxyPort}`, delivery: "durable", prefix: "idem:" }),
    });
    const handle = await app.listen(0, "127.0.0.1");
    try {
      const first = await app.deliver("orders", "one");
      eater.armed = true;
      const second = await app.deliver("orders", "two");
      expect(eater.eaten, "the proxy swallowed the reply to the second append").toBe(1);
      const third = await app.deliver("orders", "three");
      expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);

      const direct = new Redis(redis.url);
      try {
        const history = (await direct.xrange("idem:h:orders", "-", "+")) as [string, string[]][];
        const bodies = history.map(([, fields]) => fields[fields.indexOf("d") + 1]);
        expect(bodies, "each message once in the topic's history, in order").toEqual(["one", "two", "three"]);
        expect(history.map(([id]) => id)).toEqual(["1-0", "2-0", "3-0"]);
      } finally {
        direct.disconnect();
      }
    } finally {
      await handle.close({ timeout: 500 });
    }
  });
});
