/**
 * Cluster-wide presence on Redis: each instance writes what it holds (`u:<user>`, `c:<client>`,
 * `r:<room>` → count) into its own hash and keeps itself in a sorted set of live instances with a
 * heartbeat; the hash expires with the instance. A dead instance's users, clients and room members
 * are gone within `expiryMs` (10 s by default), without any instance having to clean up after it.
 */

import type { Presence } from "@verb/core";
import type { Redis } from "ioredis";

/** How often an instance says it is alive, and after how long silence it counts as gone. */
export const PRESENCE_HEARTBEAT_MS = 2000;
export const PRESENCE_EXPIRY_MS = 10_000;

export class RedisPresence implements Presence {
  readonly #redis: Redis;
  readonly #instances: string;
  readonly #mine: string;
  readonly #instanceId: string;
  readonly #keyPrefix: string;
  /** What this instance holds: rewritten whole after Redis comes back. */
  readonly #held = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #onReady = () => this.#rewrite();

  constructor(redis: Redis, prefix: string, instanceId: string) {
    this.#redis = redis;
    this.#instanceId = instanceId;
    this.#keyPrefix = `${prefix}presence:`;
    this.#instances = `${prefix}instances`;
    this.#mine = `${this.#keyPrefix}${instanceId}`;
  }

  start(): void {
    this.#redis.on("ready", this.#onReady);
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), PRESENCE_HEARTBEAT_MS);
    this.#timer.unref?.();
  }

  set(key: string, count: number): void {
    if (count > 0) this.#held.set(key, count);
    else this.#held.delete(key);
    if (this.#redis.status !== "ready") return;
    const write = count > 0 ? this.#redis.hset(this.#mine, key, count) : this.#redis.hdel(this.#mine, key);
    // A write lost to an outage is made good by the rewrite when Redis is back.
    write.catch(() => {});
  }

  async total(key: string): Promise<number> {
    const redis = this.#redis;
    const live = await redis.zrangebyscore(this.#instances, Date.now() - PRESENCE_EXPIRY_MS, "+inf");
    if (live.length === 0) return this.#held.get(key) ?? 0;
    const pipeline = redis.pipeline();
    for (const instance of live) pipeline.hget(`${this.#keyPrefix}${instance}`, key);
    const answers = (await pipeline.exec()) ?? [];
    let total = 0;
    for (const [error, value] of answers) if (error === null && value !== null) total += Number(value);
    return total;
  }

  #beat(): void {
    if (this.#redis.status !== "ready") return;
    const now = Date.now();
    this.#redis
      .multi()
      .zadd(this.#instances, now, this.#instanceId)
      .zremrangebyscore(this.#instances, "-inf", now - PRESENCE_EXPIRY_MS)
      .pexpire(this.#mine, PRESENCE_EXPIRY_MS)
      .exec()
      .catch(() => {});
  }

  #rewrite(): void {
    const multi = this.#redis.multi().del(this.#mine);
    if (this.#held.size > 0) multi.hset(this.#mine, Object.fromEntries(this.#held));
    multi
      .pexpire(this.#mine, PRESENCE_EXPIRY_MS)
      .zadd(this.#instances, Date.now(), this.#instanceId)
      .exec()
      .catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#redis.off("ready", this.#onReady);
    if (this.#redis.status !== "ready") return;
    await this.#redis
      .multi()
      .del(this.#mine)
      .zrem(this.#instances, this.#instanceId)
      .exec()
      .catch(() => {});
  }
}
