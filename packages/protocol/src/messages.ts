/**
 * Control messages: JSON text frames whose `type` starts with `verb:`. They are never numbered
 * nor sequenced; each side may send them at any time after the session started (the client's
 * `verb:hello` starts it).
 */

/** The subprotocol a session client offers (besides any others, e.g. `bearer` and a token). */
export const SUBPROTOCOL = "verb.v1";

/** The protocol version in `verb:hello` and `verb:welcome`. */
export const VERSION = 1;

/**
 * The close code of a connection whose session another connection resumed (another tab sharing
 * the stored session, or the same client back on a new connection): the client stops instead of
 * taking the session back.
 */
export const SESSION_REPLACED_CODE = 3409;

/** The close reason sent with {@link SESSION_REPLACED_CODE}. */
export const SESSION_REPLACED_REASON = "session resumed elsewhere";

/** Where a client stands in a stream: the stream's epoch and the last sequence number it received. */
export interface Cursor {
  /** Changes when the stream's history was lost (the server restarted, the store was reset). */
  epoch: string;
  /** The last sequence number received (0: nothing yet). */
  seq: number;
}

// ---- client → server --------------------------------------------------------------------

/** Starts (or resumes) a session: the first message of every connection. */
export interface Hello {
  type: "verb:hello";
  v: number;
  /** The session to resume, from an earlier `verb:welcome`; `null` for a new one. */
  session: string | null;
  /** The client's position in every stream it received from. */
  cursors: Record<string, Cursor>;
  /** Topics to (re)subscribe, as with `verb:sub`. */
  topics: string[];
}

/** Subscribes to a topic (the server asks `authorizeSubscribe`). */
export interface Subscribe {
  type: "verb:sub";
  topic: string;
}

/** Leaves a topic. */
export interface Unsubscribe {
  type: "verb:unsub";
  topic: string;
}

/** Liveness: the server answers `verb:pong` at once, with what it received. */
export interface Ping {
  type: "verb:ping";
}

/** Asks for messages of a stream again, from `from` (after a gap in a live stream). */
export interface Replay {
  type: "verb:replay";
  stream: string;
  from: number;
}

export type ClientControl = Hello | Subscribe | Unsubscribe | Ping | Replay;

// ---- server → client --------------------------------------------------------------------

/** The answer to `verb:hello`. */
export interface Welcome {
  type: "verb:welcome";
  v: number;
  /** The session id to present on the next connection. */
  session: string;
  /** Whether the session presented in the hello was found (false: a new session). */
  resumed: boolean;
  /** The number of the last client message the server received in this session (0: none). */
  received: number;
}

/**
 * A stream starts on this connection: what follows for it are its messages after `seq` (the
 * client's cursor, or the stream's position when it was attached), replayed from the history
 * first, then live.
 */
export interface StreamStart {
  type: "verb:stream";
  stream: string;
  epoch: string;
  /** Messages after this sequence number follow. */
  seq: number;
}

/** Messages `from` to `to` of a stream are gone (beyond the retention, or `to: null` after an epoch change). */
export interface Gap {
  type: "verb:gap";
  stream: string;
  from: number;
  /** The last missing sequence number; `null` when the history was reset (a new epoch) and the extent is unknown. */
  to: number | null;
  reason: "retention" | "epoch";
}

/** A subscription was accepted. */
export interface Subscribed {
  type: "verb:subscribed";
  topic: string;
}

/** A subscription was refused (no `authorizeSubscribe`, or it said no, or it failed). */
export interface Refused {
  type: "verb:refused";
  topic: string;
  message: string;
}

/** The answer to `verb:ping`. */
export interface Pong {
  type: "verb:pong";
  /** The number of the last client message the server received (acknowledges everything up to it). */
  received: number;
}

/** What a failed request reports. */
export interface ReplyError {
  message: string;
  /** Validation failures: which fields, and what is wrong with them. */
  issues?: { path: string; message: string }[];
  /** Rate limits: when to try again. */
  retryAfterMs?: number;
}

/** The reply to request number `n`. */
export type Reply =
  | { type: "verb:res"; n: number; ok: true; data: unknown }
  | { type: "verb:res"; n: number; ok: false; error: ReplyError };

export type ServerControl = Welcome | StreamStart | Gap | Subscribed | Refused | Pong | Reply;

/**
 * The shutdown notice (`app.close({ notify })`), an application-level message: `retryWindowMs`
 * tells clients to spread their reconnects over that many milliseconds.
 */
export interface ShutdownNotice {
  type: "server_shutdown";
  message: string;
  timestamp: string;
  retryWindowMs?: number;
}

/** Whether a parsed JSON value is a control message of this protocol. */
export function isControl(value: unknown): value is { type: `verb:${string}` } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string" &&
    (value as { type: string }).type.startsWith("verb:")
  );
}
