/**
 * Typed errors: every request settles with a value or one of these, never hangs; subscriptions
 * and validation failures use them too. All extend {@link VerbClientError}; tell them apart with
 * `instanceof` or by `name`.
 */

/** One validation problem of a reply or a server message, or of a request's payload on the server. */
export interface Issue {
  /** `a.b[0]`-style path, `""` for the root. */
  path: string;
  message: string;
}

/** The base class of every error the client reports. */
export class VerbClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request got no reply within its timeout (or a subscription no answer). */
export class TimeoutError extends VerbClientError {
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number;
  constructor(message: string, timeout: number) {
    super(message);
    this.timeout = timeout;
  }
}

/** The request's `AbortSignal` fired. `cause` is the signal's reason. */
export class AbortError extends VerbClientError {}

/** Why the outbox let go of a message the server had not taken. */
export type DropReason = "full" | "expired" | "offline" | "refused";

/**
 * The outbox dropped the message before the server took it: its bound was reached (`"full"`),
 * its expiry passed (`"expired"`), it was volatile while the client was not connected
 * (`"offline"`), or every connection it went out on was lost before the server acknowledged
 * anything, five times in a row (`"refused"`: a message the server cannot take, e.g. over its
 * `maxPayloadLength` on an engine that closes without a 1009).
 */
export class DroppedError extends VerbClientError {
  readonly reason: DropReason;
  constructor(message: string, reason: DropReason) {
    super(message);
    this.reason = reason;
  }
}

/** The client was closed (`client.close()`, or it stopped for good: see the close-code policy). */
export class ClosedError extends VerbClientError {}

/** The server answered the request with `ok: false`. */
export class RequestError extends VerbClientError {
  /** Validation failures reported by the server (which fields, what is wrong). */
  readonly issues: Issue[] | undefined;
  /** Rate limits: when to try again, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, issues?: Issue[], retryAfterMs?: number) {
    super(message);
    this.issues = issues;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Something the client received does not match the message definitions: a reply (the request
 * rejects with it) or a server message (reported on the `error` event, not delivered).
 */
export class ValidationError extends VerbClientError {
  readonly issues: Issue[];
  /** What was received, as parsed. */
  readonly received: unknown;
  constructor(message: string, issues: Issue[], received: unknown) {
    super(message);
    this.issues = issues;
    this.received = received;
  }
}

/** The server refused a subscription (`verb:refused`), or it was cancelled by `unsubscribe()`. */
export class SubscriptionError extends VerbClientError {
  readonly topic: string;
  constructor(message: string, topic: string) {
    super(message);
    this.topic = topic;
  }
}
