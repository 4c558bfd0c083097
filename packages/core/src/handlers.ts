/**
 * The hooks of `websocket: {...}` and of `app.ws(path, handlers)`.
 */

import type { VerbSocket } from "./socket.js";

/** What a hook may return: nothing, or a promise (awaited; a rejection goes to `error`). */
export type HookResult = void | Promise<void>;

/** Payload of a message: text frames as `string`, binary frames as a `Buffer` the handler may keep. */
export type Message = string | Buffer;

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
  message?: (ws: VerbSocket<Data>, message: Message) => HookResult;
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
