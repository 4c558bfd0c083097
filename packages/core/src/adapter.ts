/**
 * The adapter contract: what an engine adapter receives from core and what it must report.
 * Read ADAPTERS.md beside this package for the full text; this file is its typed form.
 */

import type { ResolvedWebSocketLimits } from "./options.js";
import type { SendStatus, ServerSocket } from "./socket.js";
import type { UpgradeRequest } from "./upgrade-request.js";

/**
 * Moves bytes for one engine. One driver object serves every socket of a server; `raw` is the
 * engine's own socket. Core never calls a driver method after the adapter reported
 * `engineClose` for that socket, and never calls `send`, `ping`, `close` or `cork` on a socket
 * that is not open.
 */
export interface SocketDriver<Raw> {
  /**
   * Sends one message as a binary frame when `isBinary`, else as a text frame; compressed when
   * `compress` and permessage-deflate was negotiated. Must apply `maxBackpressure` before queueing
   * (drop when the buffered amount already exceeds it) and report `"sent"`, `"buffered"` or
   * `"dropped"`. Must not throw and must not close the socket.
   */
  send(raw: Raw, data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): SendStatus;
  /** Sends a ping with the given payload (at most 125 bytes, already checked). */
  ping(raw: Raw, data: Uint8Array): SendStatus;
  /** Sends a close frame with this code (valid) and reason (at most 123 bytes, already cut). */
  close(raw: Raw, code: number, reason: string): void;
  /** Ends the connection at once, without a close frame. */
  terminate(raw: Raw): void;
  /** Bytes queued for sending and not yet written to the kernel. */
  bufferedAmount(raw: Raw): number;
  /** Runs `fn` with the socket's writes batched; returns `fn`'s result. */
  cork<R>(raw: Raw, fn: () => R): R;
  /**
   * Native topics (optional: without them core emulates topics with per-subscriber sends).
   * An adapter that implements `subscribe` must implement `unsubscribe`, `publish`, and the
   * server's `publish` and `subscriberCount`; the engine must unsubscribe a socket when it closes.
   */
  subscribe?(raw: Raw, topic: string): void;
  unsubscribe?(raw: Raw, topic: string): void;
  /** Sends to every subscriber of `topic` except `raw` (which core guarantees is subscribed to something). */
  publish?(raw: Raw, topic: string, data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): void;
}

/** The adapter accepts the upgrade: it must answer 101 with `protocol` and `headers`, then call `socket.engineOpen`. */
export interface AcceptUpgrade {
  readonly accept: true;
  /** The connection object; the adapter keeps it in the engine's per-connection slot. */
  readonly socket: ServerSocket<unknown, unknown>;
  /** The subprotocol to answer in `Sec-WebSocket-Protocol`, or `""` for none (never echo the client's). */
  readonly protocol: string;
  /** Extra headers for the 101 response (e.g. `Set-Cookie`). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /**
   * The `Sec-WebSocket-Extensions` answer core chose (RFC 7692), or `""` to answer none. The engine
   * must answer exactly this: adapters hand it to the engine in place of the client's offer.
   */
  readonly extensions: string;
}

/** The adapter refuses the upgrade: it must write this response as is and close the connection. */
export interface RejectUpgrade {
  readonly accept: false;
  readonly response: Response;
}

/** Core's answer to an upgrade request. */
export type UpgradeDecision = AcceptUpgrade | RejectUpgrade;

/** What core gives the adapter when the application listens. */
export interface AdapterHost {
  /** Port to bind (0 = any free port). */
  readonly port: number;
  /** Interface to bind. */
  readonly hostname: string;
  /** Validated limits with every default filled in; the adapter configures the engine from them. */
  readonly limits: ResolvedWebSocketLimits;
  /** Answers a plain HTTP request (never an upgrade). Never rejects. */
  fetch(request: Request, remoteAddress: string): Promise<Response>;
  /**
   * Decides an upgrade request (any request with `Upgrade: websocket`). May be async: the adapter
   * must have copied everything it needs from the engine's request before calling this.
   */
  upgrade(request: UpgradeRequest): UpgradeDecision | Promise<UpgradeDecision>;
  /** Reports an engine error that belongs to no socket. */
  reportError(error: unknown): void;
}

/** What the adapter returns once it listens. */
export interface AdapterServer {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** Stops accepting connections; open sockets stay open. Resolves when the listener is closed. */
  stopAccepting(): Promise<void>;
  /** Releases everything the engine still holds (called after every socket closed). */
  dispose?(): Promise<void> | void;
  /** With native topics: sends to every subscriber of `topic`, each under its backpressure limit. */
  publish?(topic: string, data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): void;
  /** With native topics: how many sockets subscribe to `topic`. */
  subscriberCount?(topic: string): number;
  /**
   * With native topics: whether the engine reports each subscriber a publish skips over its
   * backpressure limit (the adapter calls `socket.engineDropped()`). Without it, core emulates
   * topics when `closeOnBackpressureLimit` is on, so that rule holds for publishes too.
   */
  readonly reportsPublishDrops?: boolean;
}

/** An engine adapter: `@verb/bun`, `@verb/node`, `@verb/uws`, or your own. */
export interface VerbAdapter {
  /** Short name shown in reports and on the server handle, e.g. `"uws"`. */
  readonly name: string;
  /** Starts serving `host`. Rejects with a clear error when the engine cannot start (e.g. port in use). */
  listen(host: AdapterHost): Promise<AdapterServer>;
}
