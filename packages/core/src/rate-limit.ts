/**
 * Token buckets for message rate limits.
 */

/** A token bucket: `capacity` tokens, refilled at `ratePerMs`. */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  readonly #capacity: number;
  readonly #ratePerMs: number;

  constructor(capacity: number, ratePerMs: number, now: number) {
    this.#capacity = capacity;
    this.#ratePerMs = ratePerMs;
    this.#tokens = capacity;
    this.#updatedAt = now;
  }

  /** Takes a token if one is left. */
  take(now: number): boolean {
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerMs);
      this.#updatedAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    const missing = 1 - Math.min(this.#capacity, this.#tokens + (now - this.#updatedAt) * this.#ratePerMs);
    return missing <= 0 ? 0 : Math.ceil(missing / this.#ratePerMs);
  }

  /** Whether the bucket is full again (can be forgotten). */
  isFull(now: number): boolean {
    return this.#tokens + (now - this.#updatedAt) * this.#ratePerMs >= this.#capacity;
  }
}
