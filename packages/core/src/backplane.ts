/**
 * The backplane contract: how instances of one application exchange topic publishes (Redis
 * pub/sub or Redis Streams in `@verb/redis`). Pub/sub delivery across instances is at-most-once: a
 * message published while the broker is unreachable is lost (and counted); local delivery never
 * depends on the broker. With a durable log every publish is numbered at the append and delivered
 * from the log on every instance, the publisher's included.
 */

/** A publish travelling between instances. */
export interface BackplaneMessage {
  /** Instance id of the publisher: an instance ignores its own publishes. */
  origin: string;
  /** Text, or bytes for binary messages. */
  data: string | Uint8Array;
  binary: boolean;
  compress: boolean;
}

/** A message of a durable log: numbered once, at the append, the same for every instance. */
export interface SequencedMessage extends BackplaneMessage {
  topic: string;
  /** Its number in `topic` (1, 2, 3, …). */
  seq: number;
  /** The stream's epoch: changes when the log lost the stream's history. */
  epoch: string;
  /**
   * Who must not get it back: `"s:<session>"` (a session client's own publish: it gets a skip) or
   * `"k:<instance>:<socket>"` (a plain socket's own publish), as given to `append`.
   */
  excluded: string | undefined;
}

/** A stream's messages after a position, as the durable log holds them. */
export interface LogRange {
  /** The stream's epoch; undefined when the log knows nothing of it. */
  epoch: string | undefined;
  /** The oldest number still held (`last + 1` when none is). */
  oldest: number;
  /** The last number given out. */
  last: number;
  /** Held messages after the position asked, oldest first. */
  entries: SequencedMessage[];
}

/**
 * The durable side of a backplane (`delivery: "durable"` of @verb/redis): every publish is
 * appended to a log that numbers it and keeps a bounded history per topic; every instance reads
 * the log (the backplane calls `sink.sequenced` in log order, its own appends included) and
 * delivers from it, so every instance and every client sees one order per topic, and a client
 * resumes on any instance from the history.
 */
export interface DurableLog {
  /** Appends; resolves once stored with its number. Rejects when it could not be stored (after retries). */
  append(topic: string, message: BackplaneMessage, excluded: string | undefined): Promise<{ seq: number; epoch: string }>;
  /** A topic's messages after `after`, at most `limit` of them. */
  range(topic: string, after: number, limit: number): Promise<LogRange>;
}

/**
 * Who is where, across instances: each instance reports how many of a key it holds (`u:<user>`
 * sockets of a user, `c:<client>` a registered client, `r:<room>` members of a room), and any
 * instance can ask the total. A dead instance's share disappears within the driver's expiry.
 */
export interface Presence {
  /** This instance now holds `count` of `key` (0: none). */
  set(key: string, count: number): void;
  /** The sum of `key` over every live instance, this one included. */
  total(key: string): Promise<number>;
}

/** What a backplane reports back to core. */
export interface BackplaneSink {
  /** A publish from another instance for `topic`. */
  deliver(topic: string, message: BackplaneMessage): void;
  /** A message read from the durable log (every instance's, in log order): deliver it here. */
  sequenced(message: SequencedMessage): void;
  /** Something went wrong (`stage`: "connect", "publish", "subscribe", "message", ...). Never fatal. */
  error(error: Error, stage: string): void;
}

/** A backplane driver. */
export interface Backplane {
  /** This instance's id (unique per process). */
  readonly instanceId: string;
  /**
   * Connects. Rejects with a clear error when the broker cannot be reached, unless the driver was
   * configured to start local-only (then it keeps retrying in the background).
   */
  start(sink: BackplaneSink): Promise<void>;
  /** Sends to the other instances. Resolves with how many other instances received it; rejects when it could not be sent. */
  publish(topic: string, message: BackplaneMessage): Promise<number>;
  /** Starts receiving a topic (core calls it once per topic, when the first local socket subscribes). */
  subscribe(topic: string): void;
  /** Stops receiving a topic (when the last local socket left it). */
  unsubscribe(topic: string): void;
  /** Whether the broker is reachable right now. */
  readonly connected: boolean;
  /** Present in durable mode: publishes go through the log, and resume works on any instance. */
  readonly log?: DurableLog;
  /** Cluster-wide presence of users, clients and rooms. */
  readonly presence?: Presence;
  /** Disconnects. */
  close(): Promise<void>;
}
