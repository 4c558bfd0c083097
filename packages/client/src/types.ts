/** The client's public types: options, events, states, what it sends and receives. */

import type { ClientPayload, ClientType, Cursor, InferOutput, MessageDefinitions, ReplyOf } from "@verb/protocol";
import type { BackoffOptions } from "./backoff.js";
import type { DropReason, Issue, VerbClientError } from "./errors.js";
import type { HeartbeatOptions } from "./heartbeat.js";
import type { OutboxOptions } from "./outbox.js";
import type { CloseAction, CloseReason } from "./policy.js";
import type { RequestOptions } from "./requests.js";
import type { ClientStorage } from "./storage.js";
import type { Discontinuity, StreamOptions } from "./streams.js";

/** `"connecting"` (first connect), `"open"` (after the welcome), `"reconnecting"` (waiting or connecting again), `"closed"` (stopped for good). */
export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

/** Why the state changed. */
export interface StateInfo {
  /** The close code of the connection that ended (1006 when it failed or was given up); 0 when none ended. */
  code: number;
  /** The policy's reading of it; `undefined` for `"open"`. */
  reason: CloseReason | undefined;
  /** The close reason text the server sent, if any. */
  message: string;
  /** Reconnect attempts in a row (1 = the first retry); for `"open"`, the attempts it took. */
  attempt: number;
  /** Milliseconds until the next attempt (`"reconnecting"`), else 0. */
  delay: number;
}

/** What `shouldReconnect` is asked about. */
export interface CloseInfo {
  code: number;
  reason: CloseReason;
  message: string;
  /** The attempt a reconnect would be (1 = the first retry). */
  attempt: number;
}

/** Every welcome: a new or a resumed session. */
export interface OpenInfo {
  /** The server found the session presented: nothing the client sent was lost, streams continue from the cursors. */
  resumed: boolean;
  session: string;
  /** Reconnect attempts it took (0: the first try). */
  attempt: number;
}

/** A message the outbox dropped before sending it. */
export interface DropInfo {
  reason: DropReason;
  /** The message as it would have gone out (JSON text, text or bytes). */
  data: string | Uint8Array;
  /** It was a request (which rejected with a `DroppedError`). */
  request: boolean;
}

/** The server's shutdown notice (`app.close({ notify, retryWindow })`). */
export interface ShutdownNotice {
  type?: string;
  message?: string;
  timestamp?: string;
  /** The window over which this client spreads its reconnect, in ms. */
  retryWindowMs?: number;
  [field: string]: unknown;
}

/** A JSON object as received. */
export type JsonObject = { [key: string]: unknown };

/** Messages the server itself sends (authentication, router errors): delivered whether or not they are declared. */
export type ServerNotice =
  | { type: "auth"; status: "success" | "error"; message?: string; user?: unknown }
  | { type: "error"; message: string; issues?: Issue[]; retryAfterMs?: number };

type Declared<T> = string extends keyof T ? false : true;

/** An object type written out flat (what editors show instead of an intersection). */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** A declared server message, as listeners get it: `{ type, ...the schema's output }`. */
export type ReceivedMessage<D extends MessageDefinitions> = {
  [Type in keyof NonNullable<D["server"]> & string]: Flat<{ type: Type } & InferOutput<NonNullable<D["server"]>[Type]>>;
}[keyof NonNullable<D["server"]> & string];

/**
 * What `message` listeners get: with `messages.server` declared, the declared messages (validated),
 * the server's own notices, and text or bytes that are not JSON; otherwise any parsed JSON, text
 * or bytes.
 */
export type IncomingMessage<D extends MessageDefinitions> =
  Declared<NonNullable<D["server"]>> extends true
    ? ReceivedMessage<D> | ServerNotice | string | Uint8Array
    : JsonObject | unknown[] | string | Uint8Array;

/** A JSON message `send` takes: with `messages.client` declared, one of them (`{ type, ...payload }`). */
export type OutgoingMessage<D extends MessageDefinitions> =
  string extends ClientType<D>
    ? JsonObject | unknown[]
    : { [Type in ClientType<D>]: { type: Type } & ClientPayload<D, Type> }[ClientType<D>];

/** What `send` takes: a JSON message (serialised), text, or bytes. */
export type SendData<D extends MessageDefinitions> = OutgoingMessage<D> | string | ArrayBuffer | ArrayBufferView;

/** `"sent"`: written to the socket; `"queued"`: held until the connection is open; `"dropped"`: not sent and not held. */
export type SendResult = "sent" | "queued" | "dropped";

/** Options of one `send`. */
export interface SendOptions {
  /** Never queued: sent if the connection is open, else dropped (and not numbered: at most once). */
  volatile?: boolean;
  /** Drop it if it could not be sent within this many ms. */
  expiresIn?: number;
}

/** The arguments of `request` after the type: the payload is required when its schema has required fields. */
export type RequestArgs<D extends MessageDefinitions, Type extends ClientType<D>> =
  {} extends ClientPayload<D, Type>
    ? [payload?: ClientPayload<D, Type>, options?: RequestOptions]
    : [payload: ClientPayload<D, Type>, options?: RequestOptions];

/** Events and their listeners. */
export type ClientEvents<D extends MessageDefinitions> = {
  /**
   * A message from the server: parsed JSON, text, or bytes; `stream` and `seq` tell where a
   * sequenced one came from (`undefined` and 0 for a direct send).
   */
  message: (message: IncomingMessage<D>, stream: string | undefined, seq: number) => void;
  /** Every state change, and every scheduled retry. */
  state: (state: ClientState, info: StateInfo) => void;
  /** After each welcome. */
  open: (info: OpenInfo) => void;
  /** Invalid messages, storage failures, listeners that threw, a refused re-subscription. Never a crash. */
  error: (error: VerbClientError | Error) => void;
  /** A stream lost messages that cannot be recovered. */
  discontinuity: (gap: Discontinuity) => void;
  /** The outbox dropped a message it never sent. */
  drop: (info: DropInfo) => void;
  /** The server announced a shutdown (its reconnect is spread over `retryWindowMs`). */
  shutdown: (notice: ShutdownNotice) => void;
};

/** Counters (totals since the client was created) and current sizes. */
export interface ClientStats {
  /** Connections that got a welcome. */
  connects: number;
  /** Welcomes that resumed the session. */
  resumed: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** Messages handed to `message` listeners. */
  messagesIn: number;
  /** Application messages written to a socket (re-sends included). */
  messagesOut: number;
  /** Messages written again on a new connection because the server had not acknowledged them. */
  resent: number;
  /** Held now: queued or sent but not acknowledged. */
  outbox: number;
  /** Bytes held now. */
  outboxBytes: number;
  /** Held now and never sent. */
  queued: number;
  /** Messages dropped before they were sent (full, expired, volatile while offline). */
  dropped: number;
  /** Sent messages let go before their acknowledgement (drop-oldest): they will not be re-sent. */
  released: number;
  /** Sequenced messages received again and dropped. */
  duplicates: number;
  /** `verb:replay` requests after gaps in live streams. */
  replays: number;
  /** Discontinuities reported. */
  discontinuities: number;
  /** Received messages or replies that failed validation. */
  invalid: number;
  /** Requests waiting for their reply now. */
  pendingRequests: number;
  /** Errors reported on the `error` event. */
  errors: number;
}

/**
 * The part of a WebSocket the client uses: the platform's (browsers, Bun, Deno, Node ≥ 22) or
 * `ws` on Node 20.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `globalThis.WebSocket`, or `WebSocket` from `ws` (which also takes headers). */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => object;

/** Where to connect: a URL, or a function called before every attempt. */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

/** Options of {@link createClient}. Every one has a default. */
export interface ClientOptions<D extends MessageDefinitions = MessageDefinitions> {
  /** Message definitions shared with the server (`defineMessages`): types, and validation of what arrives. */
  messages?: D;
  /** The WebSocket implementation. Default `globalThis.WebSocket`; on Node 20 pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  /** More subprotocols to offer (after `verb.v1`). */
  protocols?: string[];
  /** Called before every attempt; the token goes the way `tokenCarrier` says. `undefined`/`null`: no token. */
  token?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * How the token travels: `"protocol"` (default: subprotocols `[verb.v1, "bearer", token]`, what
   * browsers can do), `"query"` (`?token=`), `"header"` (`Authorization: Bearer`, for
   * constructors that take headers, like `ws`).
   */
  tokenCarrier?: "protocol" | "query" | "header";
  /** The marker before the token in the subprotocols (the server's `auth.protocol`). Default `"bearer"`. */
  authProtocol?: string;
  /** Backoff of reconnects, and how many failures in a row to allow (default unlimited); `false`: never reconnect. */
  reconnect?: false | (BackoffOptions & { maxRetries?: number });
  /** The last word on reconnecting after a close: true, false, or `undefined` to keep the policy's decision. */
  shouldReconnect?: (info: CloseInfo) => boolean | undefined;
  /** What to do on application close codes (3000–4999): `"reconnect"`, `"stop"`, or `"auth"` (once more with a fresh token). */
  closeCodes?: Record<number, CloseAction>;
  /** Milliseconds an attempt may take, from the providers to the welcome. Default 10 000. */
  connectTimeout?: number;
  /** Default timeout of requests, in ms. Default 10 000. */
  requestTimeout?: number;
  /** Milliseconds `subscribe()` waits for the server's answer. Default 10 000. */
  subscribeTimeout?: number;
  /** Liveness; `false` turns pings and the dead-connection check off (heartbeats are still answered). */
  heartbeat?: HeartbeatOptions | false;
  /** Bounds and drop policy of the outbox. */
  outbox?: OutboxOptions;
  /**
   * Resume (default on): the session and the cursors are presented on every connection, so the
   * server re-sends exactly what was missed. `false`: every connection starts a new session from
   * the streams' current positions. An object tunes the gap handling.
   */
  resume?: boolean | StreamOptions;
  /** Where the session and cursors survive a reload (`webStorage()`, `fileStorage()` of `@verb/client/node`). Default: memory. */
  storage?: ClientStorage;
  /** Milliseconds between a cursor change and its save. Default 1000. */
  saveDelay?: number;
}

/** A Verb client: see {@link createClient}. */
export interface VerbClient<D extends MessageDefinitions = MessageDefinitions> {
  /** The connection state. */
  readonly state: ClientState;
  /** The session id of the last welcome (`null` before the first). */
  readonly session: string | null;
  /** Topics subscribed or being subscribed: restored after every reconnect. */
  readonly topics: string[];
  /** Counters and current sizes. */
  readonly stats: ClientStats;
  /** The position in every stream (what the next hello presents). */
  cursors(): Record<string, Cursor>;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof ClientEvents<D>>(event: E, listener: ClientEvents<D>[E]): () => void;
  off<E extends keyof ClientEvents<D>>(event: E, listener: ClientEvents<D>[E]): void;
  /**
   * Sends a message (an object is sent as JSON), numbered: delivered exactly once within the
   * session. Open: `"sent"`; otherwise queued for the next connection (`"queued"`) or dropped by
   * the outbox policy (`"dropped"`; with `policy: "reject"` it throws a `DroppedError`).
   */
  send(data: SendData<D>, options?: SendOptions): SendResult;
  /**
   * Sends `{ type, ...payload }` as a request and resolves with the server's reply (validated by
   * the reply schema). Rejects with `TimeoutError`, `AbortError`, `DroppedError`, `ClosedError`,
   * `RequestError` (the server's `ok: false`) or `ValidationError`; never hangs.
   */
  request<Type extends ClientType<D>>(type: Type, ...args: RequestArgs<D, Type>): Promise<ReplyOf<D, Type>>;
  /**
   * Subscribes to a topic (restored after every reconnect while accepted). Resolves on
   * `verb:subscribed`; rejects with `SubscriptionError` when refused (the topic is then dropped
   * from the restore set), `TimeoutError` after `subscribeTimeout` (the topic stays, still asked
   * for on every connection), or `ClosedError`. Never throws; ignoring the promise is safe.
   */
  subscribe(topic: string, options?: { timeout?: number }): Promise<void>;
  /** Leaves a topic (a pending `subscribe` rejects with `SubscriptionError`); its cursor is forgotten. */
  unsubscribe(topic: string): void;
  /** Reconnects now: skips the wait of a scheduled retry, or replaces the current connection. */
  reconnect(): void;
  /**
   * Stops for good: pending requests and subscriptions reject with `ClosedError`, queued messages
   * are discarded, every timer and listener is removed. Resolves once the socket closed (at most
   * 1 s) and the cursors were saved.
   */
  close(code?: number, reason?: string): Promise<void>;
}
