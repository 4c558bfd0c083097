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
import { defaultUrl, waitReady } from "./connection.js";
import { type DurableOptions, DurableRedisBackplane } from "./durable.js";
import { RedisPresence } from "./presence.js";

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
  /**
   * `"pubsub"` (default): Redis pub/sub, at-most-once across instances, cheapest. `"durable"`:
   * Redis Streams: every publish numbered once and kept (bounded), delivered from one log on every
   * instance; session clients resume on any instance, even after their instance died.
   */
  delivery?: "pubsub" | "durable";
  /** Bounds and timings of the durable mode. */
  durable?: DurableOptions;
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

/**
 * Whether a frame is this instance's own publish coming back on its subscriber connection:
 * compares the origin bytes in place, before anything is decoded.
 */
function isOwn(frame: Buffer, origin: Buffer): boolean {
  return (
    frame.length >= 3 + origin.length &&
    frame[2] === origin.length &&
    frame[0] === VERSION &&
    origin.compare(frame, 3, 3 + origin.length) === 0
  );
}

function decode(frame: Buffer): BackplaneMessage | undefined {
  if (frame.length < 3 || frame[0] !== VERSION) return undefined;
  const flags = frame[1] as number;
  const originEnd = 3 + (frame[2] as number);
  if (originEnd > frame.length) return undefined;
  const origin = frame.toString("utf8", 3, originEnd);
  const binary = (flags & BINARY) !== 0;
  const payload = frame.subarray(originEnd);
  // ioredis hands over a fresh buffer per message: a view of it is safe to keep.
  return { origin, binary, compress: (flags & COMPRESS) !== 0, data: binary ? payload : payload.toString("utf8") };
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
  #presence: RedisPresence | undefined;
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

  /** Users, clients and rooms across instances (a dead instance's share expires within 10 s). */
  get presence(): RedisPresence | undefined {
    return this.#presence;
  }

  async start(sink: BackplaneSink): Promise<void> {
    this.#sink = sink;
    const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: null, ...this.#options };
    // Publishes fail at once while Redis is away (counted as lost) instead of piling up.
    const pub = new Redis(this.#url, { ...common, enableOfflineQueue: false });
    const sub = new Redis(this.#url, { ...common, autoResubscribe: true });
    this.#pub = pub;
    this.#sub = sub;
    this.#presence = new RedisPresence(pub, this.#prefix, this.instanceId);
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
    const origin = this.#origin;
    const prefixBytes = Buffer.byteLength(this.#prefix);
    sub.on("messageBuffer", (channel: Buffer, frame: Buffer) => {
      // Every local publish on a subscribed topic comes back here: drop it before decoding.
      if (isOwn(frame, origin)) return;
      const message = decode(frame);
      if (message === undefined) {
        sink.error(new Error("a backplane message in an unknown format was ignored"), "message");
        return;
      }
      sink.deliver(channel.toString("utf8", prefixBytes), message);
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
    this.#presence.start();
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
    await this.#presence?.close();
    this.#presence = undefined;
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

/**
 * A Redis backplane: `app.withOptions({ backplane: redisBackplane({ url }) })`; pub/sub by
 * default, Redis Streams with `delivery: "durable"`. The application code is the same for both.
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): Backplane {
  const delivery = options.delivery ?? "pubsub";
  if (delivery !== "pubsub" && delivery !== "durable") {
    throw new TypeError(`redisBackplane: delivery must be "pubsub" or "durable"; got ${JSON.stringify(delivery)}`);
  }
  return delivery === "durable" ? new DurableRedisBackplane(options) : new RedisBackplane(options);
}

export type { DurableOptions } from "./durable.js";

/** Options of {@link RedisOfflineStore}. */
export interface RedisOfflineStoreOptions {
  /** Redis URL. Default: `REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /**
   * An ioredis client to use instead of opening one. Its options are yours: the store still
   * fails its calls at once while the client is not ready, but commands already written wait
   * as the client's `commandTimeout` / `maxRetriesPerRequest` say.
   */
  client?: Redis;
  /** Key prefix. Default `"verb:queue:"`. */
  prefix?: string;
  /**
   * How long a command may wait for Redis's answer (and how long a call made before the first
   * connection waits for it) before it rejects. Default 2000 ms. A command that timed out on a
   * hung connection may still run once Redis answers again (for `take`: that queue is lost).
   */
  commandTimeout?: number;
  /** Reports problems that do not fail a call, e.g. malformed queue entries skipped by `take`. Default: a process warning. */
  onError?: (error: Error) => void;
}

/** This instance's share of one client's list, for the depth gauge. */
interface Share {
  /** Messages this instance pushed that it believes are still there. */
  count: number;
  /** When Redis expires the list (its TTL is refreshed by every push). */
  expires: number;
}

function isQueuedMessage(value: unknown): value is QueuedMessage {
  if (typeof value !== "object" || value === null) return false;
  const message = value as Record<string, unknown>;
  return typeof message.data === "string" && typeof message.binary === "boolean" && typeof message.at === "number";
}

/**
 * The offline queue in Redis: one list per client id (trimmed to the bound, expiring with the
 * TTL), taken atomically (MULTI: LRANGE + DEL) so no message is delivered twice, and resume tokens
 * as expiring keys. Any instance can resume any client.
 *
 * While Redis is unreachable every call rejects at once (the queue counts such a message as
 * dropped, and a resuming client gets no replay) instead of waiting for Redis to come back; the
 * connection keeps reconnecting in the background. A call made while the store's first connection
 * is still being opened waits for it, up to `commandTimeout`.
 */
export class RedisOfflineStore implements OfflineStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #owned: boolean;
  readonly #timeout: number;
  readonly #onError: (error: Error) => void;
  /** Whether the connection has been ready once: after that, "not ready" means an outage. */
  #wasReady: boolean;
  #firstReady: Promise<void> | undefined;
  /** Per client id, this instance's share of the list (see {@link totalDepth}). */
  readonly #shares = new Map<string, Share>();
  #depth = 0;
  #malformed = 0;

  constructor(options: RedisOfflineStoreOptions = {}) {
    this.#owned = options.client === undefined;
    this.#timeout = options.commandTimeout ?? 2000;
    this.#redis =
      options.client ??
      new Redis(options.url ?? defaultUrl(), {
        // Fail fast while Redis is unreachable: no offline queue (a command issued while
        // disconnected rejects at once), commands in flight when the connection drops reject at
        // the first reconnection attempt and are never re-sent later (a `take` re-sent after its
        // caller gave up would delete a queue nobody receives), and an answer that does not come
        // (a hung server) rejects after `commandTimeout`. ioredis keeps reconnecting (its default
        // retryStrategy, up to 2 s between attempts).
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: this.#timeout,
        connectTimeout: this.#timeout,
      });
    // Connection errors surface as rejected calls (counted by the queue); ioredis retries by itself.
    if (this.#owned) this.#redis.on("error", () => {});
    this.#wasReady = this.#redis.status === "ready";
    this.#redis.on("ready", () => {
      this.#wasReady = true;
    });
    this.#onError = options.onError ?? ((error) => process.emitWarning(error.message, "VerbRedisOfflineStore"));
    this.#prefix = options.prefix ?? "verb:queue:";
  }

  /** Runs a command now if Redis is ready; rejects at once during an outage. */
  #run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = this.#redis;
    if (redis.status === "ready") return command(redis);
    if (this.#wasReady || redis.status === "end") {
      return Promise.reject(new Error(`Redis offline store: Redis is unreachable (connection ${redis.status})`));
    }
    // The first connection is still being opened: wait for it, boundedly.
    if (this.#firstReady === undefined) {
      if (redis.status === "wait") redis.connect().catch(() => {});
      const waiting = waitReady(redis, this.#timeout).catch((error: Error) => {
        this.#firstReady = undefined;
        throw new Error(`Redis offline store: Redis is unreachable (${error.message})`, { cause: error });
      });
      this.#firstReady = waiting;
    }
    return this.#firstReady.then(() => command(redis));
  }

  async enqueue(clientId: string, message: QueuedMessage, bounds: QueueBounds): Promise<number> {
    const key = `${this.#prefix}q:${clientId}`;
    const results = await this.#run((redis) =>
      redis.multi().rpush(key, JSON.stringify(message)).ltrim(key, -bounds.maxMessages, -1).pexpire(key, bounds.ttlMs).exec(),
    );
    const length = Number(results?.[0]?.[1] ?? 0);
    const dropped = Math.max(0, length - bounds.maxMessages);
    let share = this.#shares.get(clientId);
    if (share === undefined) {
      share = { count: 0, expires: 0 };
      this.#shares.set(clientId, share);
    }
    const count = Math.min(share.count + 1, bounds.maxMessages, length);
    this.#depth += count - share.count;
    share.count = count;
    share.expires = Date.now() + bounds.ttlMs;
    return dropped;
  }

  async take(clientId: string, bounds: QueueBounds): Promise<QueuedMessage[]> {
    const key = `${this.#prefix}q:${clientId}`;
    const results = await this.#run((redis) => redis.multi().lrange(key, 0, -1).del(key).exec());
    this.#forget(clientId);
    const [error, raw] = results?.[0] ?? [null, []];
    if (error) throw error;
    const oldest = Date.now() - bounds.ttlMs;
    const messages: QueuedMessage[] = [];
    let malformed = 0;
    // Entry by entry: a malformed entry is skipped, not allowed to lose the whole queue.
    for (const item of (raw as string[] | undefined) ?? []) {
      let message: unknown;
      try {
        message = JSON.parse(item);
      } catch {
        message = undefined;
      }
      if (!isQueuedMessage(message)) malformed++;
      else if (message.at >= oldest) messages.push(message);
    }
    if (malformed > 0) {
      this.#malformed += malformed;
      this.#onError(
        new Error(`Redis offline store: skipped ${malformed} malformed entr${malformed === 1 ? "y" : "ies"} in ${key}`),
      );
    }
    return messages;
  }

  async depth(clientId: string): Promise<number> {
    return this.#run((redis) => redis.llen(`${this.#prefix}q:${clientId}`));
  }

  async issueToken(clientId: string, ttlMs: number): Promise<string> {
    const token = randomUUID();
    await this.#run((redis) => redis.set(`${this.#prefix}t:${token}`, clientId, "PX", ttlMs));
    return token;
  }

  async resolveToken(token: string): Promise<string | undefined> {
    return (await this.#run((redis) => redis.get(`${this.#prefix}t:${token}`))) ?? undefined;
  }

  /**
   * Approximate, without asking Redis: the messages this instance queued that, as far as it
   * knows, are still waiting. A take on this instance removes its share of that client's list,
   * and {@link sweep} removes the shares of lists Redis has expired since. Not seen: messages of
   * other instances, and a take on another instance (that share stays counted until the list's
   * TTL runs out).
   */
  totalDepth(): number {
    return this.#depth;
  }

  /**
   * Forgets this instance's shares of lists that Redis has expired (PEXPIRE), so the depth gauge
   * comes down. Returns 0: whether another instance took those messages first is unknown here.
   */
  sweep(now: number): number {
    for (const [clientId, share] of this.#shares) if (share.expires <= now) this.#forget(clientId);
    return 0;
  }

  /** Malformed queue entries skipped by `take` since the store was created. */
  get malformed(): number {
    return this.#malformed;
  }

  #forget(clientId: string): void {
    const share = this.#shares.get(clientId);
    if (share === undefined) return;
    this.#depth -= share.count;
    this.#shares.delete(clientId);
  }

  /** Closes the connection if the store opened it. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    if (this.#redis.status === "ready") await this.#redis.quit().catch(() => this.#redis.disconnect());
    else this.#redis.disconnect();
  }
}
