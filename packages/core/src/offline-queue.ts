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

/** The in-memory store. */
export class MemoryOfflineStore implements OfflineStore {
  readonly #queues = new Map<string, QueuedMessage[]>();
  readonly #tokens = new Map<string, { clientId: string; expires: number }>();
  #total = 0;

  enqueue(clientId: string, message: QueuedMessage, bounds: QueueBounds): number {
    let queue = this.#queues.get(clientId);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(clientId, queue);
    }
    queue.push(message);
    this.#total++;
    const excess = queue.length - bounds.maxMessages;
    if (excess > 0) {
      queue.splice(0, excess);
      this.#total -= excess;
      return excess;
    }
    return 0;
  }

  take(clientId: string, bounds: QueueBounds): QueuedMessage[] {
    const queue = this.#queues.get(clientId);
    if (queue === undefined) return [];
    this.#queues.delete(clientId);
    this.#total -= queue.length;
    const oldest = Date.now() - bounds.ttlMs;
    return queue.filter((message) => message.at >= oldest);
  }

  depth(clientId: string): number {
    return this.#queues.get(clientId)?.length ?? 0;
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
      const first = queue.findIndex((message) => message.at >= oldest);
      const expired = first === -1 ? queue.length : first;
      if (expired > 0) {
        queue.splice(0, expired);
        dropped += expired;
        this.#total -= expired;
      }
      if (queue.length === 0) this.#queues.delete(clientId);
    }
    for (const [token, entry] of this.#tokens) if (entry.expires < now) this.#tokens.delete(token);
    return dropped;
  }
}
