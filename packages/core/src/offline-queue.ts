/**
 * Offline queue: messages for a client id that is not connected wait (bounded, oldest dropped
 * first, with a TTL) and are delivered once, in order, when the client comes back. Storage sits
 * behind a small interface: in memory here; `@verb/redis` stores it in Redis so a client can
 * resume on another instance.
 */

import { randomUUID } from "node:crypto";

/** A queued message. Binary payloads are kept as base64 so any store can hold them. */
export interface QueuedMessage {
  data: string;
  binary: boolean;
  /** When it was queued (ms since the epoch). */
  at: number;
}

/** Bounds of a client's queue. */
export interface QueueBounds {
  maxMessages: number;
  ttlMs: number;
}

/** Where queued messages and resume tokens live. Methods may be sync or async. */
export interface OfflineStore {
  /** Appends a message; drops the oldest beyond `maxMessages`. Returns how many were dropped. */
  enqueue(clientId: string, message: QueuedMessage, bounds: QueueBounds): number | Promise<number>;
  /** Removes and returns the client's messages younger than the TTL, oldest first (atomically: never twice). */
  take(clientId: string, bounds: QueueBounds): QueuedMessage[] | Promise<QueuedMessage[]>;
  /** Messages waiting for a client. */
  depth(clientId: string): number | Promise<number>;
  /** Issues a resume token for a client id (valid for the TTL). */
  issueToken(clientId: string, ttlMs: number): string | Promise<string>;
  /** The client id a resume token stands for. */
  resolveToken(token: string): string | undefined | Promise<string | undefined>;
  /** Messages waiting for all clients (for metrics; may be approximate). */
  totalDepth(): number;
  /** Forgets expired messages and tokens. */
  sweep?(now: number, bounds: QueueBounds): number;
}

/**
 * One client's messages: `items[head..]`, oldest first. Dropping the oldest moves `head` (no
 * shifting per message); the array is compacted once most of it is dropped.
 */
interface Queue {
  items: QueuedMessage[];
  head: number;
}

function dropOldest(queue: Queue, count: number): void {
  queue.head += count;
  if (queue.head >= 64 && queue.head * 2 >= queue.items.length) {
    queue.items = queue.items.slice(queue.head);
    queue.head = 0;
  }
}

/** The in-memory store. */
export class MemoryOfflineStore implements OfflineStore {
  readonly #queues = new Map<string, Queue>();
  readonly #tokens = new Map<string, { clientId: string; expires: number }>();
  #total = 0;

  enqueue(clientId: string, message: QueuedMessage, bounds: QueueBounds): number {
    let queue = this.#queues.get(clientId);
    if (queue === undefined) {
      queue = { items: [], head: 0 };
      this.#queues.set(clientId, queue);
    }
    queue.items.push(message);
    this.#total++;
    const excess = queue.items.length - queue.head - bounds.maxMessages;
    if (excess > 0) {
      dropOldest(queue, excess);
      this.#total -= excess;
      return excess;
    }
    return 0;
  }

  take(clientId: string, bounds: QueueBounds): QueuedMessage[] {
    const queue = this.#queues.get(clientId);
    if (queue === undefined) return [];
    this.#queues.delete(clientId);
    this.#total -= queue.items.length - queue.head;
    const oldest = Date.now() - bounds.ttlMs;
    const taken: QueuedMessage[] = [];
    for (let i = queue.head; i < queue.items.length; i++) {
      const message = queue.items[i] as QueuedMessage;
      if (message.at >= oldest) taken.push(message);
    }
    return taken;
  }

  depth(clientId: string): number {
    const queue = this.#queues.get(clientId);
    return queue === undefined ? 0 : queue.items.length - queue.head;
  }

  issueToken(clientId: string, ttlMs: number): string {
    const token = randomUUID();
    this.#tokens.set(token, { clientId, expires: Date.now() + ttlMs });
    return token;
  }

  resolveToken(token: string): string | undefined {
    const entry = this.#tokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expires < Date.now()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return entry.clientId;
  }

  totalDepth(): number {
    return this.#total;
  }

  sweep(now: number, bounds: QueueBounds): number {
    let dropped = 0;
    const oldest = now - bounds.ttlMs;
    for (const [clientId, queue] of this.#queues) {
      let expired = 0;
      while (queue.head + expired < queue.items.length && (queue.items[queue.head + expired] as QueuedMessage).at < oldest) {
        expired++;
      }
      if (expired > 0) {
        dropOldest(queue, expired);
        dropped += expired;
        this.#total -= expired;
      }
      if (queue.head === queue.items.length) this.#queues.delete(clientId);
    }
    for (const [token, entry] of this.#tokens) if (entry.expires < now) this.#tokens.delete(token);
    return dropped;
  }
}
