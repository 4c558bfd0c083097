/**
 * The outbox: every numbered message from the moment it is sent (or queued) until the server
 * acknowledges it (`welcome.received`, `pong.received`, a reply). It keeps their order, gives them
 * their numbers when they first go out on a connection of the session, writes each once per
 * connection, and is bounded by count and bytes with a drop policy.
 */

import type { DropReason } from "./errors.js";
import { numberOption } from "./options.js";

/** What the outbox does when a new message would exceed its bounds. */
export type DropPolicy = "drop-oldest" | "drop-newest" | "reject";

/** Bounds of the outbox (what is queued and what was sent but not acknowledged yet). */
export interface OutboxOptions {
  /** Messages held at most. Default 1000. */
  maxMessages?: number;
  /** Bytes held at most (UTF-16 code units for text). Default 1 MiB. */
  maxBytes?: number;
  /**
   * Over a bound: `"drop-oldest"` (default) lets go of the oldest held messages (a message never
   * sent is dropped, one already sent is only no longer kept for a re-send); `"drop-newest"`
   * drops the new message (`send` returns `"dropped"`); `"reject"` refuses it with a
   * `DroppedError` (thrown by `send`, rejected by `request`).
   */
  policy?: DropPolicy;
}

/** One held message. */
export interface OutboxEntry<Owner> {
  /** The application message (JSON text, text, or bytes), without its envelope. */
  readonly data: string | Uint8Array;
  readonly size: number;
  /** Its number in the session; 0 until it first goes out. */
  n: number;
  /** A request (`<n>r` envelope). */
  readonly request: boolean;
  /** Drop it if not sent by then (ms since the epoch); 0 = never. */
  readonly expires: number;
  /** The pending request it belongs to, if any. */
  readonly owner: Owner | undefined;
  /** False once removed (acknowledged, dropped, cancelled). */
  live: boolean;
  /** Connections lost right after it went out, in a row, without the server taking it. */
  strikes?: number;
}

/** Outcome of {@link Outbox.add}. */
export type AddResult = "held" | "dropped" | "rejected";

export interface OutboxHooks<Owner> {
  /** A message never sent left the outbox unsent. */
  dropped(entry: OutboxEntry<Owner>, reason: DropReason): void;
  /** A message already sent was let go before its acknowledgement (drop-oldest): it will not be re-sent. */
  released(entry: OutboxEntry<Owner>): void;
}

export class Outbox<Owner> {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly policy: DropPolicy;
  readonly #hooks: OutboxHooks<Owner>;
  /** `entries[head..]`, oldest first; removed entries stay as tombstones until they reach the head. */
  #entries: OutboxEntry<Owner>[] = [];
  #head = 0;
  /** Index of the first entry not yet written on the current connection. */
  #cursor = 0;
  #count = 0;
  #bytes = 0;
  /** The number the next message gets. */
  #next = 1;
  /** Messages written again on a later connection. */
  resent = 0;

  constructor(options: OutboxOptions | undefined, hooks: OutboxHooks<Owner>) {
    this.maxMessages = numberOption("outbox.maxMessages", options?.maxMessages, 1000, 1);
    this.maxBytes = numberOption("outbox.maxBytes", options?.maxBytes, 1024 * 1024, 1);
    this.policy = options?.policy ?? "drop-oldest";
    if (!["drop-oldest", "drop-newest", "reject"].includes(this.policy)) {
      throw new RangeError(`createClient: outbox.policy must be drop-oldest, drop-newest or reject`);
    }
    this.#hooks = hooks;
  }

  /** Messages held (queued or unacknowledged). */
  get count(): number {
    return this.#count;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Held messages that were never sent. */
  get queued(): number {
    let queued = 0;
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (entry.live && entry.n === 0) queued++;
    }
    return queued;
  }

  /** The number the next message gets. */
  get next(): number {
    return this.#next;
  }

  /** The oldest message held. */
  oldest(): OutboxEntry<Owner> | undefined {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) if ((entries[i] as OutboxEntry<Owner>).live) return entries[i];
    return undefined;
  }

  /** Holds a new message at the end, making room by the policy. */
  add(entry: OutboxEntry<Owner>, now: number): AddResult {
    if (this.#count + 1 > this.maxMessages || this.#bytes + entry.size > this.maxBytes) {
      this.expire(now);
      if (!this.#makeRoom(entry.size)) return this.policy === "reject" ? "rejected" : "dropped";
    }
    this.#entries.push(entry);
    this.#count++;
    this.#bytes += entry.size;
    return "held";
  }

  #makeRoom(size: number): boolean {
    const fits = () => this.#count + 1 <= this.maxMessages && this.#bytes + size <= this.maxBytes;
    if (fits()) return true;
    if (this.policy !== "drop-oldest" || size > this.maxBytes) return false;
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length && !fits(); i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (!entry.live) continue;
      this.#take(entry);
      if (entry.n === 0) this.#hooks.dropped(entry, "full");
      else this.#hooks.released(entry);
    }
    this.#compact();
    return fits();
  }

  /** Removes a message (a request that timed out or was aborted): it will not be sent or re-sent. */
  remove(entry: OutboxEntry<Owner>): void {
    if (!entry.live) return;
    this.#take(entry);
    this.#compact();
  }

  /** Drops messages never sent whose expiry passed. */
  expire(now: number): void {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (entry.live && entry.n === 0 && entry.expires !== 0 && entry.expires <= now) {
        this.#take(entry);
        this.#hooks.dropped(entry, "expired");
      }
    }
    this.#compact();
  }

  /** The server received everything up to `received`: forget it (requests wait for their reply). */
  acknowledge(received: number): void {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (!entry.live) continue;
      if (entry.n === 0 || entry.n > received) break;
      // A request stays until its reply (the owner removes it): a reply made while the client was
      // away reaches it only when it asks again (the server answers a repeat from its cache).
      if (!entry.request) this.#take(entry);
    }
    this.#compact();
    if (this.#next <= received) this.#next = received + 1;
  }

  /** A new session (`resumed: false`): numbering starts again, what was not acknowledged gets new numbers. */
  restart(): void {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) (entries[i] as OutboxEntry<Owner>).n = 0;
    this.#next = 1;
  }

  /** The connection ended: on the next one, everything held goes out again. */
  rewind(): void {
    this.#cursor = this.#head;
  }

  /**
   * Writes, in order, every held message not written on this connection yet, numbering those
   * that never went out. Messages never sent whose expiry passed are dropped instead.
   */
  flush(now: number, write: (entry: OutboxEntry<Owner>) => void): void {
    const entries = this.#entries;
    let i = this.#cursor;
    for (; i < entries.length; i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (!entry.live) continue;
      if (entry.n === 0) {
        if (entry.expires !== 0 && entry.expires <= now) {
          this.#take(entry);
          this.#hooks.dropped(entry, "expired");
          continue;
        }
        entry.n = this.#next++;
      } else this.resent++;
      this.#cursor = i + 1;
      write(entry);
    }
    this.#cursor = i;
  }

  /** Drops every message never sent (the client closed); returns them. */
  clear(): OutboxEntry<Owner>[] {
    const left: OutboxEntry<Owner>[] = [];
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as OutboxEntry<Owner>;
      if (entry.live) {
        entry.live = false;
        left.push(entry);
      }
    }
    this.#entries = [];
    this.#head = 0;
    this.#cursor = 0;
    this.#count = 0;
    this.#bytes = 0;
    return left;
  }

  #take(entry: OutboxEntry<Owner>): void {
    entry.live = false;
    this.#count--;
    this.#bytes -= entry.size;
  }

  /** Moves the head past tombstones; copies the array down when the dead prefix is large. */
  #compact(): void {
    const entries = this.#entries;
    let head = this.#head;
    while (head < entries.length && !(entries[head] as OutboxEntry<Owner>).live) head++;
    this.#head = head;
    if (this.#cursor < head) this.#cursor = head;
    if (head === entries.length) {
      this.#entries = [];
      this.#head = 0;
      this.#cursor = 0;
    } else if (head >= 256 && head * 2 >= entries.length) {
      this.#entries = entries.slice(head);
      this.#cursor -= head;
      this.#head = 0;
    }
  }
}
