/**
 * For adapters whose engine keeps each queued message as its own objects (ws, Deno): the messages
 * of one socket still queued, so that `maxBackpressure` can count what each one costs beyond its
 * bytes, without a callback per send.
 */

/**
 * The messages of one socket still queued, oldest first, as byte sizes: reconciled against the
 * engine's `bufferedAmount` (which shrinks from the oldest), so the count stays exact. Create it on
 * the first send that stays queued.
 */
export class QueuedSends {
  sizes: number[] = [];
  head = 0;
  bytes = 0;

  /** Messages still queued. */
  get count(): number {
    return this.sizes.length - this.head;
  }

  /** Records a send that added `size` bytes to the engine's buffer. */
  push(size: number): void {
    this.sizes.push(size);
    this.bytes += size;
  }

  /** Forgets the messages that were written: the oldest, as long as the rest still add up to `buffered`. */
  settle(buffered: number): void {
    const sizes = this.sizes;
    while (this.head < sizes.length && this.bytes - (sizes[this.head] as number) >= buffered) {
      this.bytes -= sizes[this.head++] as number;
    }
    if (this.head === sizes.length) {
      sizes.length = 0;
      this.head = 0;
      this.bytes = 0;
    } else if (this.head > 1024 && this.head * 2 > sizes.length) {
      this.sizes = sizes.slice(this.head);
      this.head = 0;
    }
  }
}
