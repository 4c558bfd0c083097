/**
 * Requests in flight: each is a numbered client message (`<n>r`) waiting for its `verb:res`. Every
 * one settles exactly once: with the reply, or with a typed error when its timeout passes, its
 * signal aborts, the outbox drops it or the client closes. None hangs.
 */

import { AbortError, TimeoutError, type VerbClientError } from "./errors.js";
import type { OutboxEntry } from "./outbox.js";

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply, from the call (queued time included). Default: the client's `requestTimeout` (10 000). */
  timeout?: number;
  /** Aborts the request: it rejects with an `AbortError`, and is not sent if it was still queued. */
  signal?: AbortSignal;
  /** Drop it if it could not be sent within this many ms (it then rejects with `DroppedError`). */
  expiresIn?: number;
}

/** One request in flight. */
export class PendingRequest {
  readonly type: string;
  /** Its place in the outbox (set once held). */
  entry: OutboxEntry<PendingRequest> | undefined = undefined;
  /** The number it was last sent with (0: not yet). */
  n = 0;
  settled = false;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: VerbClientError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(type: string, resolve: (value: unknown) => void, reject: (error: VerbClientError) => void) {
    this.type = type;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Arms the timeout and the signal; `giveUp` runs (once) when either fires. */
  arm(timeout: number, signal: AbortSignal | undefined, giveUp: (request: PendingRequest, error: VerbClientError) => void): void {
    if (Number.isFinite(timeout)) {
      this.#timer = setTimeout(
        () => giveUp(this, new TimeoutError(`No reply to "${this.type}" within ${timeout} ms`, timeout)),
        timeout,
      );
    }
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => giveUp(this, new AbortError(`The "${this.type}" request was aborted`, { cause: signal.reason }));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  resolve(value: unknown): void {
    if (this.#finish()) this.#resolve(value);
  }

  reject(error: VerbClientError): void {
    if (this.#finish()) this.#reject(error);
  }

  #finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#timer = undefined;
    this.#signal = undefined;
    this.#onAbort = undefined;
    return true;
  }
}

/** The requests of one client, by the number they were sent with. */
export class RequestTable {
  readonly #byNumber = new Map<number, PendingRequest>();
  readonly #all = new Set<PendingRequest>();

  get size(): number {
    return this.#all.size;
  }

  add(request: PendingRequest): void {
    this.#all.add(request);
  }

  /** The request went out as number `n`. */
  sent(request: PendingRequest, n: number): void {
    if (request.n !== 0 && this.#byNumber.get(request.n) === request) this.#byNumber.delete(request.n);
    request.n = n;
    this.#byNumber.set(n, request);
  }

  /** The request answered by reply number `n`, taken out of the table. */
  take(n: number): PendingRequest | undefined {
    const request = this.#byNumber.get(n);
    if (request === undefined) return undefined;
    this.#byNumber.delete(n);
    this.#all.delete(request);
    return request;
  }

  /** Takes a request out (settled some other way). */
  remove(request: PendingRequest): void {
    this.#all.delete(request);
    if (request.n !== 0 && this.#byNumber.get(request.n) === request) this.#byNumber.delete(request.n);
  }

  /** A new session: old numbers mean nothing any more (requests still held get new ones when re-sent). */
  forgetNumbers(): void {
    this.#byNumber.clear();
    for (const request of this.#all) request.n = 0;
  }

  /** Rejects every request (the client closed). */
  rejectAll(error: () => VerbClientError): void {
    const all = [...this.#all];
    this.#all.clear();
    this.#byNumber.clear();
    for (const request of all) request.reject(error());
  }
}
