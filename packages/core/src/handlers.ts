/**
 * The hooks of `websocket: {...}` and of `app.ws(path, handlers)`.
 */

import type { AuthOptions } from "./auth.js";
import type { VerbSocket } from "./socket.js";
import type { UpgradeRequest } from "./upgrade-request.js";

/**
 * What a hook may return. Anything but a promise is ignored (so `(ws) => ws.send("hi")` is fine);
 * a promise is awaited, and its rejection goes to `error`.
 */
export type HookResult = unknown;

/** Payload of a message: text frames as `string`, binary frames as a `Buffer` the handler may keep. */
export type Message = string | Buffer;

/**
 * A request from a session client (`client.request()` of @verb/client): the message hook gets it
 * as its third argument. The hook's return value (or what its promise resolves to) is the reply,
 * unless the hook answers itself; a hook that throws or rejects answers an error. A request the
 * client repeats after a reconnect is answered from a cache, never handled twice.
 */
export interface IncomingRequest {
  /** The request's number in its session. */
  readonly id: number;
  /** Whether it was answered already. */
  readonly answered: boolean;
  /** Answers with `data` (any JSON value). */
  reply(data: unknown): void;
  /** Answers with an error. */
  fail(error: string | { message: string; issues?: { path: string; message: string }[]; retryAfterMs?: number }): void;
}

/**
 * Lifecycle hooks. Every hook receives the same socket object for a given connection.
 * A hook that throws or rejects is reported to `error`; the connection and the server keep running.
 */
export interface WebSocketHandlers<Data = Record<string, unknown>> {
  /** The connection is open. Messages that arrive while an async `open` runs are held and delivered after it. */
  open?: (ws: VerbSocket<Data>) => HookResult;
  /**
   * A message arrived. For one connection, messages are handled one at a time in arrival order:
   * when this hook returns a promise, the next message waits for it.
   */
  message?: (ws: VerbSocket<Data>, message: Message, request?: IncomingRequest) => HookResult;
  /**
   * The connection closed. Runs exactly once per connection: right away for a close the server
   * started (with the code and reason it sent), otherwise when the engine reports the end
   * (peer's code, 1005 without one, 1006 without a close frame, 1009 message too big,
   * 1007 invalid UTF-8, 1002 other protocol errors).
   */
  close?: (ws: VerbSocket<Data>, code: number, reason: string) => HookResult;
  /** A hook or listener of this connection threw or rejected. */
  error?: (ws: VerbSocket<Data>, error: Error) => HookResult;
  /** The client sent a ping (already answered with a pong). */
  ping?: (ws: VerbSocket<Data>, data: Buffer) => HookResult;
  /** The client answered a ping. */
  pong?: (ws: VerbSocket<Data>, data: Buffer) => HookResult;
  /** The send buffer shrank after a send returned `"buffered"` or `"dropped"`; may fire several times. */
  drain?: (ws: VerbSocket<Data>) => HookResult;
}

/** Per-socket listeners of `ws.on(event, listener)`. */
export interface SocketEventMap {
  message: (message: Message) => HookResult;
  close: (code: number, reason: string) => HookResult;
  ping: (data: Buffer) => HookResult;
  pong: (data: Buffer) => HookResult;
  drain: () => HookResult;
  error: (error: Error) => HookResult;
}

/** Names of the per-socket events. */
export type SocketEvent = keyof SocketEventMap;

/** Accept an upgrade, optionally with per-connection data, extra 101 headers and a subprotocol. */
export interface UpgradeAccept<Data> {
  /** Becomes `ws.data`. */
  data?: Data;
  /** Extra headers on the 101 response (e.g. `Set-Cookie`); `undefined` values are skipped. */
  headers?: Record<string, string | undefined> | [string, string][];
  /** The subprotocol to answer; must be one the client offered. */
  protocol?: string;
}

/** Refuse an upgrade with this HTTP answer (sent before any 101). */
export interface UpgradeReject {
  /** HTTP status, e.g. 401. */
  status: number;
  headers?: Record<string, string | undefined>;
  body?: string;
}

/** What an upgrade hook returns: nothing (accept), an accept object, a reject object, or a web `Response` (reject). */
export type UpgradeHookResult<Data> = void | UpgradeAccept<Data> | UpgradeReject | Response;

/** Which page origins may open WebSockets: exact origins, or a predicate. Requests without `Origin` (non-browser clients) pass. */
export type OriginPolicy = readonly string[] | ((origin: string, request: UpgradeRequest) => boolean);

/** Decisions taken before the 101. */
export interface UpgradePolicy<Data = Record<string, unknown>> {
  /**
   * Decides the upgrade. Gets a snapshot of the request that stays valid after `await` (method,
   * url, path, query, lower-cased headers, cookies, remote address, offered subprotocols). A hook
   * that throws answers 500.
   */
  upgrade?: (request: UpgradeRequest) => UpgradeHookResult<Data> | Promise<UpgradeHookResult<Data>>;
  /**
   * Subprotocols the server speaks. The first one the client offered (in the client's order) is
   * answered; none when nothing matches. Without this list (and without a hook choosing one) no
   * subprotocol is answered, whatever the client offers.
   */
  protocols?: readonly string[];
  /** Refuse (403) upgrades whose `Origin` is not allowed: stops cross-site WebSocket hijacking. */
  allowedOrigins?: OriginPolicy;
  /**
   * Authenticate before the upgrade hook: the verified user becomes `ws.data.user` (typed from
   * your `Data`'s `user` field) and is bound to `app.users` when it has an `id`.
   */
  auth?: AuthOptions<AuthUser<Data>>;
}

/** The user type of a socket's data (`Data["user"]`), for `auth`. */
export type AuthUser<Data> = Data extends { user?: infer User } ? Exclude<User, undefined> : unknown;

/** Hooks and upgrade policy of a WebSocket route (`app.ws(path, route)`). */
export interface WebSocketRoute<Data = Record<string, unknown>> extends WebSocketHandlers<Data>, UpgradePolicy<Data> {}
