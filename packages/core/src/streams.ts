/**
 * Streams: a topic (and so a user, a room, a registered client) that session clients follow gets
 * a sequence number per message and a bounded history, so a client that reconnects gets exactly
 * what it missed, in order, before anything new. Only streams a session socket attached to are
 * recorded: applications without session clients pay nothing.
 */

import { encodeSequenced, type Payload, sequenceHeader } from "@verb/protocol";

/** Bounds of every stream's history. */
export interface StreamBounds {
  /** Messages kept per stream; the oldest go first. */
  maxMessages: number;
  /** Milliseconds a message is kept; and how long a stream nobody follows is kept for clients that come back. */
  ttlMs: number;
}

/** One message of a stream's history, as it goes on the wire. */
export interface StreamEntry {
  seq: number;
  /** The sequenced frame (envelope and payload). */
  frame: Payload;
  /** When it was published (ms since the epoch). */
  at: number;
  /** The session a socket publish excluded (it gets a skip instead), if any. */
  excluded: string | undefined;
}

/** A stream: its position, its history, and who follows it. */
export class Stream {
  readonly name: string;
  /** The last sequence number given out. */
  seq = 0;
  /**
   * The epoch of its numbering: the server's (memory), or the durable log's (`""` until the log
   * told it). The history held here is then a cache of the log's.
   */
  epoch: string;
  /** `entries[head..]`, oldest first. */
  #entries: StreamEntry[] = [];
  #head = 0;
  /** Session sockets attached right now. */
  followers = 0;
  /** With no followers: when the stream may be forgotten (ms since the epoch). */
  idleSince = 0;

  constructor(name: string, epoch: string) {
    this.name = name;
    this.epoch = epoch;
  }

  /**
   * Records a message the durable log numbered. The cache holds one unbroken run: a new epoch or
   * a hole (messages this instance never read) starts it again. Undefined for one already held.
   */
  record(
    seq: number,
    epoch: string,
    payload: Payload,
    excluded: string | undefined,
    bounds: StreamBounds,
    now: number,
  ): StreamEntry | undefined {
    if (epoch === this.epoch && seq <= this.seq) return undefined;
    if (epoch !== this.epoch || seq !== this.seq + 1) {
      this.#entries = [];
      this.#head = 0;
      this.epoch = epoch;
    }
    this.seq = seq;
    const entry: StreamEntry = { seq, frame: encodeSequenced(this.name, seq, payload), at: now, excluded };
    this.#entries.push(entry);
    if (this.#entries.length - this.#head > bounds.maxMessages) this.#drop(1);
    return entry;
  }

  /** Records a message; returns its sequenced frame. */
  append(payload: Payload, excluded: string | undefined, bounds: StreamBounds, now: number): StreamEntry {
    const seq = ++this.seq;
    const entry: StreamEntry = { seq, frame: encodeSequenced(this.name, seq, payload), at: now, excluded };
    this.#entries.push(entry);
    if (this.#entries.length - this.#head > bounds.maxMessages) this.#drop(1);
    return entry;
  }

  /** The oldest sequence number still held (seq + 1 when the history is empty). */
  get oldest(): number {
    const first = this.#entries[this.#head];
    return first === undefined ? this.seq + 1 : first.seq;
  }

  /** Messages held after `seq`, oldest first. */
  after(seq: number): StreamEntry[] {
    const entries = this.#entries;
    let i = this.#head;
    // Sequence numbers are consecutive from the oldest held one: jump straight to seq + 1.
    const first = entries[i];
    if (first !== undefined && seq >= first.seq) i += seq - first.seq + 1;
    return entries.slice(Math.min(i, entries.length));
  }

  /** Forgets messages older than the TTL. Returns how many. */
  expire(oldestAllowed: number): number {
    let count = 0;
    while (this.#head + count < this.#entries.length && (this.#entries[this.#head + count] as StreamEntry).at < oldestAllowed) {
      count++;
    }
    if (count > 0) this.#drop(count);
    return count;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  #drop(count: number): void {
    this.#head += count;
    if (this.#head >= 64 && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * What the publisher of a socket publish gets instead of its own message: the sequence number,
 * without the message, so its cursor stays whole.
 */
export function skipFrame(stream: string, seq: number): string {
  return `\u001e${sequenceHeader(stream, seq)},s\n`;
}

/** The streams of one server. */
export class StreamTable {
  readonly #streams = new Map<string, Stream>();
  readonly bounds: StreamBounds;
  /** Changes with every server start: cursors from an earlier run are recognised as such. */
  readonly epoch: string;
  /** With a durable log: numbers and epochs come from it; the histories here are caches. */
  durable = false;
  /** Streams created so far: each gets an epoch of its own (see `open`). */
  #created = 0;

  constructor(bounds: StreamBounds, epoch: string) {
    this.bounds = bounds;
    this.epoch = epoch;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** The stream of `topic`, if session sockets follow it (or did, within the TTL). */
  get(topic: string): Stream | undefined {
    return this.#streams.size === 0 ? undefined : this.#streams.get(topic);
  }

  /** The stream of `topic`, created when needed (in durable mode with an epoch still unknown). */
  open(topic: string): Stream {
    let stream = this.#streams.get(topic);
    if (stream === undefined) {
      // A stream forgotten after its TTL and made again restarts at 0: in an epoch of its own, so
      // a cursor from before reads as an epoch gap, never as numbers already seen.
      stream = new Stream(topic, this.durable ? "" : `${this.epoch}.${(++this.#created).toString(36)}`);
      this.#streams.set(topic, stream);
    }
    return stream;
  }

  /** Messages held in all streams. */
  get retained(): number {
    let total = 0;
    for (const stream of this.#streams.values()) total += stream.size;
    return total;
  }

  /** Forgets expired messages, and streams nobody followed for the TTL. Returns the messages dropped. */
  sweep(now: number): number {
    const oldest = now - this.bounds.ttlMs;
    let dropped = 0;
    for (const [topic, stream] of this.#streams) {
      dropped += stream.expire(oldest);
      if (stream.followers === 0 && stream.idleSince < oldest) this.#streams.delete(topic);
    }
    return dropped;
  }
}
