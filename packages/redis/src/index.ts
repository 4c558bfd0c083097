/**
 * @verb/redis: a Redis pub/sub backplane for Verb (topics, rooms, per-user delivery and `sendTo`
 * across instances) and a Redis store for the offline queue (a client can resume on another
 * instance). Built on ioredis.
 *
 * Delivery across instances is at-most-once and ordered per publishing instance: Redis pub/sub
 * keeps no history, so a publish made while Redis is unreachable (or before another instance
 * subscribed) is lost; it is counted in `app.metrics().backplane.lost`. Local delivery never waits
 * for Redis.
 */

import { randomUUID } from "node:crypto";
import type { Backplane, BackplaneMessage, BackplaneSink, OfflineStore, QueueBounds, QueuedMessage } from "@verb/core";
import { Redis, type RedisOptions } from "ioredis";

/** Options of {@link redisBackplane}. */
export interface RedisBackplaneOptions {
  /** Redis URL. Default: `REDIS_URL`, else `redis://127.0.0.1:6379`. */
  url?: string;
  /** Extra ioredis options (both connections). */
  redis?: RedisOptions;
  /** Channel prefix, so several applications can share one Redis. Default `"verb:"`. */
  prefix?: string;
  /**
   * `true` (default): `listen()` fails with a clear error when Redis cannot be reached.
   * `false`: start local-only and keep trying in the background.
   */
  required?: boolean;
  /** How long `listen()` waits for Redis. Default 5000 ms. */
  connectTimeout?: number;
}

const VERSION = 1;
const BINARY = 1;
const COMPRESS = 2;

/** Packs a message: version, flags, origin, then the raw payload (no JSON, no base64). */
function encode(message: BackplaneMessage, origin: Buffer): Buffer {
  const data = message.data;
  const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  const frame = Buffer.allocUnsafe(3 + origin.length + size);
  frame[0] = VERSION;
  frame[1] = (message.binary ? BINARY : 0) | (message.compress ? COMPRESS : 0);
  frame[2] = origin.length;
  origin.copy(frame, 3);
  if (typeof data === "string") frame.write(data, 3 + origin.length);
  else frame.set(data, 3 + origin.length);
  return frame;
}

function decode(frame: Buffer): BackplaneMessage | undefined {
  if (frame.length < 3 || frame[0] !== VERSION) return undefined;
  const flags = frame[1] as number;
  const originEnd = 3 + (frame[2] as number);
  const origin = frame.toString("utf8", 3, originEnd);
  const binary = (flags & BINARY) !== 0;
  const payload = frame.subarray(originEnd);
  // ioredis hands over a fresh buffer per message: a view of it is safe to keep.
  return { origin, binary, compress: (flags & COMPRESS) !== 0, data: binary ? payload : payload.toString("utf8") };
}

function defaultUrl(): string {
  return process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
}

function waitReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
    };
    client.once("ready", onReady);
    client.once("error", onError);
  });
}

class RedisBackplane implements Backplane {
  readonly instanceId = randomUUID();
  readonly #origin = Buffer.from(this.instanceId);
  readonly #url: string;
  readonly #prefix: string;
  readonly #required: boolean;
  readonly #timeout: number;
  readonly #options: RedisOptions;
  #pub: Redis | undefined;
  #sub: Redis | undefined;
  #sink: BackplaneSink | undefined;
  /** Topics this instance receives. */
  readonly #topics = new Set<string>();

  constructor(options: RedisBackplaneOptions) {
    this.#url = options.url ?? defaultUrl();
    this.#prefix = options.prefix ?? "verb:";
    this.#required = options.required ?? true;
    this.#timeout = options.connectTimeout ?? 5000;
    this.#options = options.redis ?? {};
  }

  get connected(): boolean {
    return this.#pub?.status === "ready" && this.#sub?.status === "ready";
  }

  async start(sink: BackplaneSink): Promise<void> {
    this.#sink = sink;
    const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: null, ...this.#options };
    // Publishes fail at once while Redis is away (counted as lost) instead of piling up.
    const pub = new Redis(this.#url, { ...common, enableOfflineQueue: false });
    const sub = new Redis(this.#url, { ...common, autoResubscribe: true });
    this.#pub = pub;
    this.#sub = sub;
    let reported = false;
    for (const client of [pub, sub]) {
      client.on("error", (error: Error) => {
        // ioredis retries by itself; report once per outage, not once per attempt.
        if (!reported) sink.error(error, "connection");
        reported = true;
      });
      client.on("ready", () => {
        reported = false;
      });
    }
    sub.on("messageBuffer", (channel: Buffer, frame: Buffer) => {
      const message = decode(frame);
      if (message === undefined) {
        sink.error(new Error("a backplane message in an unknown format was ignored"), "message");
        return;
      }
      sink.deliver(channel.toString("utf8").slice(this.#prefix.length), message);
    });
    const connecting = Promise.all([pub.connect(), sub.connect()]).then(() =>
      Promise.all([waitReady(pub, this.#timeout), waitReady(sub, this.#timeout)]),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeout} ms`)), this.#timeout);
    });
    try {
      await Promise.race([connecting, timeout]);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (this.#required) {
        pub.disconnect();
        sub.disconnect();
        throw new Error(
          `Redis backplane: cannot connect to ${this.#url} (${reason}). Start Redis, or pass required: false to start local-only.`,
          {
            cause: error,
          },
        );
      }
      sink.error(
        new Error(`Redis backplane: ${this.#url} unreachable (${reason}); running local-only until it answers`),
        "connect",
      );
      connecting.catch(() => {});
    } finally {
      clearTimeout(timer);
    }
  }

  async publish(topic: string, message: BackplaneMessage): Promise<number> {
    const pub = this.#pub;
    if (pub === undefined || pub.status !== "ready") throw new Error("Redis backplane is not connected");
    const receivers = await pub.publish(this.#prefix + topic, encode(message, this.#origin));
    // Our own subscriber connection counts among Redis's receivers.
    return Math.max(0, receivers - (this.#topics.has(topic) ? 1 : 0));
  }

  subscribe(topic: string): void {
    this.#topics.add(topic);
    this.#sub?.subscribe(this.#prefix + topic).catch((error: Error) => this.#sink?.error(error, "subscribe"));
  }

  unsubscribe(topic: string): void {
    this.#topics.delete(topic);
    this.#sub?.unsubscribe(this.#prefix + topic).catch((error: Error) => this.#sink?.error(error, "unsubscribe"));
  }

  async close(): Promise<void> {
    const clients = [this.#pub, this.#sub].filter((c): c is Redis => c !== undefined);
    this.#pub = undefined;
    this.#sub = undefined;
    await Promise.all(
      clients.map((client) =>
        client.status === "ready"
          ? client.quit().then(
              () => undefined,
              () => client.disconnect(),
            )
          : client.disconnect(),
      ),
    );
  }
}

/** A Redis pub/sub backplane: `app.withOptions({ backplane: redisBackplane({ url }) })`. */
export function redisBackplane(options: RedisBackplaneOptions = {}): Backplane {
  return new RedisBackplane(options);
}

/** Options of {@link RedisOfflineStore}. */
export interface RedisOfflineStoreOptions {
  /** Redis URL (default: `REDIS_URL`, else `redis://127.0.0.1:6379`), or an ioredis client to use. */
  url?: string;
  client?: Redis;
  /** Key prefix. Default `"verb:queue:"`. */
  prefix?: string;
}

/**
 * The offline queue in Redis: one list per client id (trimmed to the bound, expiring with the
 * TTL), taken atomically (MULTI: LRANGE + DEL) so no message is delivered twice, and resume tokens
 * as expiring keys. Any instance can resume any client.
 */
export class RedisOfflineStore implements OfflineStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #owned: boolean;
  /** Messages this instance queued minus those it took: an approximation for the depth gauge. */
  #depth = 0;

  constructor(options: RedisOfflineStoreOptions = {}) {
    this.#owned = options.client === undefined;
    this.#redis = options.client ?? new Redis(options.url ?? defaultUrl(), { maxRetriesPerRequest: null });
    // Failures surface as rejected commands (counted by the queue); the connection retries by itself.
    if (this.#owned) this.#redis.on("error", () => {});
    this.#prefix = options.prefix ?? "verb:queue:";
  }

  async enqueue(clientId: string, message: QueuedMessage, bounds: QueueBounds): Promise<number> {
    const key = `${this.#prefix}q:${clientId}`;
    const results = await this.#redis
      .multi()
      .rpush(key, JSON.stringify(message))
      .ltrim(key, -bounds.maxMessages, -1)
      .pexpire(key, bounds.ttlMs)
      .exec();
    const length = Number(results?.[0]?.[1] ?? 0);
    const dropped = Math.max(0, length - bounds.maxMessages);
    this.#depth += 1 - dropped;
    return dropped;
  }

  async take(clientId: string, bounds: QueueBounds): Promise<QueuedMessage[]> {
    const key = `${this.#prefix}q:${clientId}`;
    const results = await this.#redis.multi().lrange(key, 0, -1).del(key).exec();
    const raw = (results?.[0]?.[1] as string[] | undefined) ?? [];
    this.#depth = Math.max(0, this.#depth - raw.length);
    const oldest = Date.now() - bounds.ttlMs;
    return raw.map((item) => JSON.parse(item) as QueuedMessage).filter((message) => message.at >= oldest);
  }

  async depth(clientId: string): Promise<number> {
    return this.#redis.llen(`${this.#prefix}q:${clientId}`);
  }

  async issueToken(clientId: string, ttlMs: number): Promise<string> {
    const token = randomUUID();
    await this.#redis.set(`${this.#prefix}t:${token}`, clientId, "PX", ttlMs);
    return token;
  }

  async resolveToken(token: string): Promise<string | undefined> {
    return (await this.#redis.get(`${this.#prefix}t:${token}`)) ?? undefined;
  }

  totalDepth(): number {
    return this.#depth;
  }

  /** Closes the connection if the store opened it. */
  async close(): Promise<void> {
    if (this.#owned) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
