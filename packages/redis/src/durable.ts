/**
 * The durable backplane: every publish is appended to Redis Streams, numbered once at the append
 * (per topic, atomically, in a Lua script), kept in a bounded history per topic, and written to
 * one log every instance reads with a single blocking reader. Every instance delivers from the
 * log, its own publishes included, so every instance and every client sees one order per topic;
 * a client resumes on any instance from the topic's history.
 *
 * Keys (prefix `verb:` by default): `<prefix>log` (the log: one stream, all topics),
 * `<prefix>h:<topic>` (a topic's history, entry ids `<seq>-0`), `<prefix>seq` and `<prefix>epoch`
 * (hashes: a topic's last number, and the epoch of its numbering).
 */

import { randomUUID } from "node:crypto";
import type { Backplane, BackplaneMessage, BackplaneSink, DurableLog, LogRange, SequencedMessage } from "@verb/core";
import { Redis, type RedisOptions } from "ioredis";
import { defaultUrl, waitReady } from "./connection.js";
import { RedisPresence } from "./presence.js";

/** Options of the durable mode. */
export interface DurableOptions {
  /** Messages kept per topic (approximately: trimmed with `MAXLEN ~`). Default 10,000. */
  maxMessages?: number;
  /** Seconds a topic's history is kept after its last message. Default 3600. */
  ttl?: number;
  /** Entries kept in the log every instance reads (an instance further behind than this loses them, counted). Default 100,000. */
  logMaxLen?: number;
  /** Milliseconds an append keeps trying while Redis is away before it is reported failed. Default 10,000. */
  appendTimeout?: number;
  /** Entries read from the log per call. Default 512. */
  readBatch?: number;
}

const BINARY = 1;
const COMPRESS = 2;

// Numbers the message, records its epoch (created on first use), appends it to the topic's
// history and to the log, atomically.
const APPEND = `
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local epoch = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'd', ARGV[4], 'f', ARGV[5], 'x', ARGV[6], 'o', ARGV[9])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 't', ARGV[1], 's', seq, 'e', epoch, 'd', ARGV[4], 'f', ARGV[5], 'x', ARGV[6], 'o', ARGV[9])
return {seq, epoch}
`;

// A topic's epoch (created on first use), last number, oldest number held, and entries after ARGV[3].
const RANGE = `
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local epoch = redis.call('HGET', KEYS[2], ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local oldest = last + 1
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
local entries = {}
local after = tonumber(ARGV[3])
if tonumber(ARGV[4]) > 0 and after < last then
  entries = redis.call('XRANGE', KEYS[3], '(' .. string.format('%d', after) .. '-0', '+', 'COUNT', ARGV[4])
end
return {epoch, tostring(last), tostring(oldest), entries}
`;

type Fields = Buffer[];
type StreamEntry = [Buffer, Fields];

interface Scripts {
  verbAppend(...args: (string | Buffer | number)[]): Promise<[number, string]>;
  verbRangeBuffer(...args: (string | Buffer | number)[]): Promise<[Buffer, Buffer, Buffer, StreamEntry[]]>;
}

function field(fields: Fields, name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if ((fields[i] as Buffer).toString() === name) return fields[i + 1];
  return undefined;
}

function payload(data: Buffer, flags: number): string | Buffer {
  return (flags & BINARY) !== 0 ? data : data.toString("utf8");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An append waiting to be retried. */
interface PendingAppend {
  topic: string;
  send: () => Promise<{ seq: number; epoch: string }>;
  deadline: number;
  /** The last failure, reported as the cause if it is given up. */
  error: unknown;
  resolve: (stored: { seq: number; epoch: string }) => void;
  reject: (error: Error) => void;
}

/** The durable Redis backplane (`redisBackplane({ delivery: "durable" })`). */
export class DurableRedisBackplane implements Backplane, DurableLog {
  readonly instanceId = randomUUID();
  readonly log: DurableLog = this;
  readonly #url: string;
  readonly #prefix: string;
  readonly #required: boolean;
  readonly #timeout: number;
  readonly #options: RedisOptions;
  readonly #maxMessages: number;
  readonly #ttlMs: number;
  readonly #logMaxLen: number;
  readonly #appendTimeout: number;
  readonly #readBatch: number;
  #commands: (Redis & Scripts) | undefined;
  #reader: Redis | undefined;
  #presence: RedisPresence | undefined;
  #running = false;
  #reading: Promise<void> | undefined;
  /** The id of the last log entry read. */
  #lastId = "$";

  constructor(options: {
    url?: string;
    prefix?: string;
    required?: boolean;
    connectTimeout?: number;
    redis?: RedisOptions;
    durable?: DurableOptions;
  }) {
    this.#url = options.url ?? defaultUrl();
    this.#prefix = options.prefix ?? "verb:";
    this.#required = options.required ?? true;
    this.#timeout = options.connectTimeout ?? 5000;
    this.#options = options.redis ?? {};
    const durable = options.durable ?? {};
    this.#maxMessages = durable.maxMessages ?? 10_000;
    this.#ttlMs = (durable.ttl ?? 3600) * 1000;
    this.#logMaxLen = durable.logMaxLen ?? 100_000;
    this.#appendTimeout = durable.appendTimeout ?? 10_000;
    this.#readBatch = durable.readBatch ?? 512;
  }

  get connected(): boolean {
    return this.#commands?.status === "ready" && this.#reader?.status === "ready";
  }

  /** Users, clients and rooms across instances (a dead instance's share expires within 10 s). */
  get presence(): RedisPresence | undefined {
    return this.#presence;
  }

  async start(sink: BackplaneSink): Promise<void> {
    const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: null, ...this.#options };
    // Commands fail at once while Redis is away: appends retry on their own schedule, with a deadline.
    const commands = new Redis(this.#url, { ...common, enableOfflineQueue: false }) as Redis & Scripts;
    commands.defineCommand("verbAppend", { numberOfKeys: 4, lua: APPEND });
    commands.defineCommand("verbRange", { numberOfKeys: 3, lua: RANGE });
    const reader = new Redis(this.#url, common);
    this.#commands = commands;
    this.#reader = reader;
    this.#presence = new RedisPresence(commands, this.#prefix, this.instanceId);
    let reported = false;
    for (const client of [commands, reader]) {
      client.on("error", (error: Error) => {
        if (!reported) sink.error(error, "connection");
        reported = true;
      });
      client.on("ready", () => {
        reported = false;
      });
    }
    try {
      await Promise.all([commands.connect(), reader.connect()]);
      await Promise.all([waitReady(commands, this.#timeout), waitReady(reader, this.#timeout)]);
      // Read what is appended from now on (its id, so a reconnect goes on where it stopped).
      const last = (await commands.xrevrange(this.#key("log"), "+", "-", "COUNT", 1)) as [string, string[]][];
      this.#lastId = last[0]?.[0] ?? "0-0";
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (this.#required) {
        commands.disconnect();
        reader.disconnect();
        throw new Error(
          `Redis backplane (durable): cannot connect to ${this.#url} (${reason}). Start Redis, or pass required: false.`,
          {
            cause: error,
          },
        );
      }
      sink.error(new Error(`Redis backplane (durable): ${this.#url} unreachable (${reason}); retrying`), "connect");
      this.#lastId = "$";
    }
    this.#running = true;
    this.#reading = this.#read(reader, sink);
    this.#presence.start();
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  /** One reader per instance: the whole log, in order, handed to core. */
  async #read(reader: Redis, sink: BackplaneSink): Promise<void> {
    while (this.#running) {
      let batch: [Buffer, StreamEntry[]][] | null;
      try {
        batch = (await reader.xreadBuffer("COUNT", this.#readBatch, "BLOCK", 1000, "STREAMS", this.#key("log"), this.#lastId)) as
          | [Buffer, StreamEntry[]][]
          | null;
      } catch (error) {
        if (!this.#running) return;
        sink.error(error instanceof Error ? error : new Error(String(error)), "read");
        await sleep(200);
        continue;
      }
      if (batch === null) continue;
      for (const [, entries] of batch) {
        for (const [id, fields] of entries) {
          this.#lastId = id.toString();
          const message = this.#decode(fields);
          if (message === undefined) sink.error(new Error("a log entry in an unknown format was skipped"), "message");
          else sink.sequenced(message);
        }
      }
    }
  }

  #decode(fields: Fields): SequencedMessage | undefined {
    const topic = field(fields, "t");
    const seq = Number(field(fields, "s")?.toString());
    const epoch = field(fields, "e");
    const data = field(fields, "d");
    const flags = Number(field(fields, "f")?.toString() ?? "0");
    if (topic === undefined || epoch === undefined || data === undefined || !Number.isSafeInteger(seq)) return undefined;
    const excluded = field(fields, "x")?.toString();
    return {
      topic: topic.toString(),
      seq,
      epoch: epoch.toString(),
      origin: field(fields, "o")?.toString() ?? "",
      data: payload(data, flags),
      binary: (flags & BINARY) !== 0,
      compress: (flags & COMPRESS) !== 0,
      excluded: excluded === "" ? undefined : excluded,
    };
  }

  append(topic: string, message: BackplaneMessage, excluded: string | undefined): Promise<{ seq: number; epoch: string }> {
    const commands = this.#commands;
    if (commands === undefined) return Promise.reject(new Error("Redis backplane (durable) is not started"));
    const data = typeof message.data === "string" ? Buffer.from(message.data) : Buffer.from(message.data);
    const flags = (message.binary ? BINARY : 0) | (message.compress ? COMPRESS : 0);
    const send = () =>
      commands
        .verbAppend(
          this.#key("seq"),
          this.#key("epoch"),
          this.#key(`h:${topic}`),
          this.#key("log"),
          topic,
          randomUUID(),
          this.#maxMessages,
          data,
          flags,
          excluded ?? "",
          this.#ttlMs,
          this.#logMaxLen,
          message.origin,
        )
        .then(([seq, epoch]) => ({ seq: Number(seq), epoch: String(epoch) }));
    const deadline = Date.now() + this.#appendTimeout;
    // While earlier appends wait to be retried, this one waits behind them: retries never reorder
    // one instance's publishes.
    if (this.#retries.length > 0) return this.#enqueueRetry(topic, send, deadline, undefined);
    return send().catch((error: unknown) => this.#enqueueRetry(topic, send, deadline, error));
  }

  /** Appends that failed, oldest first, retried one at a time by {@link #retry}. */
  readonly #retries: PendingAppend[] = [];

  #enqueueRetry(
    topic: string,
    send: () => Promise<{ seq: number; epoch: string }>,
    deadline: number,
    error: unknown,
  ): Promise<{ seq: number; epoch: string }> {
    return new Promise((resolve, reject) => {
      this.#retries.push({ topic, send, deadline, error, resolve, reject });
      if (this.#retries.length === 1) void this.#retry();
    });
  }

  /** Redis away: tries the oldest failed append until it is stored or its deadline passed, then the next (an append is never dropped silently). */
  async #retry(): Promise<void> {
    // The first in line has just failed: wait before trying again. After a success, go on at once.
    let attempt = 1;
    while (this.#retries.length > 0) {
      const head = this.#retries[0] as PendingAppend;
      if (Date.now() + 100 >= head.deadline || !this.#running) {
        this.#retries.shift();
        head.reject(
          new Error(`Redis backplane (durable): the publish to "${head.topic}" could not be stored`, { cause: head.error }),
        );
        continue;
      }
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt, Math.max(0, head.deadline - Date.now() - 100)));
      try {
        const stored = await head.send();
        this.#retries.shift();
        head.resolve(stored);
        attempt = 0;
      } catch (error) {
        head.error = error;
        attempt++;
      }
    }
  }

  async range(topic: string, after: number, limit: number): Promise<LogRange> {
    const commands = this.#commands;
    if (commands === undefined) throw new Error("Redis backplane (durable) is not started");
    const [epoch, last, oldest, entries] = await commands.verbRangeBuffer(
      this.#key("seq"),
      this.#key("epoch"),
      this.#key(`h:${topic}`),
      topic,
      randomUUID(),
      Math.min(after, Number.MAX_SAFE_INTEGER),
      limit,
    );
    const epochText = epoch.toString();
    return {
      epoch: epochText,
      last: Number(last.toString()),
      oldest: Number(oldest.toString()),
      entries: entries.map(([id, fields]) => {
        const flags = Number(field(fields, "f")?.toString() ?? "0");
        const excluded = field(fields, "x")?.toString();
        return {
          topic,
          seq: Number.parseInt(id.toString(), 10),
          epoch: epochText,
          origin: field(fields, "o")?.toString() ?? "",
          data: payload(field(fields, "d") ?? Buffer.alloc(0), flags),
          binary: (flags & BINARY) !== 0,
          compress: (flags & COMPRESS) !== 0,
          excluded: excluded === "" ? undefined : excluded,
        };
      }),
    };
  }

  /** In durable mode everything goes through the log: a plain publish is an append. */
  async publish(topic: string, message: BackplaneMessage): Promise<number> {
    await this.append(topic, message, undefined);
    return 0;
  }

  /** The reader reads every topic: nothing to subscribe. */
  subscribe(): void {}

  unsubscribe(): void {}

  async close(): Promise<void> {
    this.#running = false;
    await this.#presence?.close();
    this.#presence = undefined;
    const clients = [this.#commands, this.#reader].filter((c): c is Redis => c !== undefined);
    this.#commands = undefined;
    this.#reader = undefined;
    for (const client of clients) client.disconnect();
    await this.#reading?.catch(() => {});
  }
}
