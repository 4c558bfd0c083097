/**
 * The state of one listening server: its open sockets, the shared watchdog that enforces idle
 * timeout and max lifetime on every adapter, error routing, and counters.
 */

import { CloseCode, CloseReason } from "./close.js";
import type { WebSocketHandlers } from "./handlers.js";
import type { ResolvedWebSocketLimits } from "./options.js";
import type { ServerSocket } from "./socket.js";
import { TopicHub } from "./topics.js";

/** How often the watchdog runs; idle closes land between `idleTimeout` and `idleTimeout + 2 × tick`. */
export const WATCHDOG_TICK_MS = 500;

type AnySocket = ServerSocket<unknown, unknown>;

/** Options of a graceful close of all sockets. */
export interface CloseSocketsOptions {
  /** Close code sent to every client. Default 1001. */
  code?: number;
  /** Close reason. Default `""`. */
  reason?: string;
  /** Milliseconds to wait for clients to finish the close handshake before cutting them off. Default 5000. */
  timeout?: number;
}

/** Writes an error that has no handler to stderr, so it is never silent. */
export function logUnhandled(context: string, error: unknown): void {
  console.error(`[verb] ${context}:`, error);
}

/** @internal */
export class ServerRuntime {
  readonly limits: ResolvedWebSocketLimits;
  /** Bytes from which sends are compressed by default; -1 when compression is disabled. */
  readonly compressionThreshold: number;
  /** Coarse clock (ms), advanced by the watchdog; cheap to read on every frame. */
  readonly clock = { now: Date.now() };
  /** Sockets the engine holds open (from engineOpen to engineClose). */
  readonly sockets = new Set<AnySocket>();
  /** Topic subscriptions: the engine's, or emulated. */
  readonly topics = new TopicHub();
  readonly #fallbackHandlers: WebSocketHandlers<unknown>;
  readonly #onEnded: (socket: AnySocket) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #released: (() => void) | undefined;
  droppedSends = 0;

  constructor(
    limits: ResolvedWebSocketLimits,
    fallbackHandlers: WebSocketHandlers<unknown>,
    onEnded: (socket: AnySocket) => void = () => {},
  ) {
    this.limits = limits;
    this.#onEnded = onEnded;
    this.compressionThreshold = limits.compression === "disabled" ? -1 : limits.compressionThreshold;
    this.#fallbackHandlers = fallbackHandlers;
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), WATCHDOG_TICK_MS);
    // The watchdog alone must not keep the process alive.
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  socketOpened(socket: AnySocket): void {
    this.sockets.add(socket);
  }

  /** The close hook is about to run: the registry and user directory forget the socket. */
  socketEnded(socket: AnySocket): void {
    this.#onEnded(socket);
  }

  socketReleased(socket: AnySocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size === 0 && this.#released !== undefined) this.#released();
  }

  countDropped(): void {
    this.droppedSends++;
  }

  /** Whether a message of this size goes compressed by default. */
  shouldCompress(data: string | ArrayBuffer | Uint8Array): boolean {
    const threshold = this.compressionThreshold;
    if (threshold < 0) return false;
    if (typeof data !== "string") return data.byteLength >= threshold;
    // UTF-8 needs at least one byte per UTF-16 unit and at most three.
    if (data.length >= threshold) return true;
    if (data.length * 3 < threshold) return false;
    return Buffer.byteLength(data) >= threshold;
  }

  /**
   * Publishes to a topic: to every subscriber but `from` when given. Returns how many
   * subscribers it reached.
   */
  publish(
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    isBinary: boolean,
    compress: boolean,
    from?: AnySocket,
  ): number {
    const hub = this.topics;
    if (from !== undefined && hub.isNative && from.readyState === 1 && from.topicCount > 0) {
      // Engine publish from the socket excludes it (and needs it to be subscribed to something).
      const count = hub.count(topic) - (from.isSubscribed(topic) ? 1 : 0);
      if (count > 0) from.enginePublish(topic, data, isBinary, compress);
      return count;
    }
    return hub.publish(topic, data, isBinary, compress, from);
  }

  reportSocketError(socket: AnySocket, error: Error): void {
    const hook = socket.handlers.error ?? this.#fallbackHandlers.error;
    if (hook !== undefined) {
      try {
        const result = hook(socket, error);
        if (result !== undefined && typeof (result as Promise<void>).then === "function") {
          (result as Promise<void>).then(undefined, (inner: unknown) => logUnhandled("error hook rejected", inner));
        }
      } catch (inner) {
        logUnhandled("error hook threw", inner);
      }
    }
    const listeners = socket.listenersFor("error");
    if (listeners !== undefined) {
      for (const listener of listeners.slice()) {
        try {
          listener(error);
        } catch (inner) {
          logUnhandled("error listener threw", inner);
        }
      }
    }
    if (hook === undefined && (listeners === undefined || listeners.length === 0)) {
      logUnhandled("unhandled error in a WebSocket hook (add websocket.error to handle it)", error);
    }
  }

  /** Closes every socket with `code`, waits up to `timeout` for the engines to finish, then cuts off the rest. */
  async closeSockets(options: CloseSocketsOptions = {}): Promise<void> {
    const code = options.code ?? CloseCode.GOING_AWAY;
    const reason = options.reason ?? "";
    const timeout = options.timeout ?? 5000;
    for (const socket of [...this.sockets]) {
      if (socket.readyState <= 1) socket.close(code, reason);
    }
    if (this.sockets.size === 0) return;
    const released = new Promise<void>((resolve) => {
      this.#released = resolve;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeout);
    });
    const late = await Promise.race([released.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      for (const socket of [...this.sockets]) socket.destroy();
      if (this.sockets.size > 0) await released;
    }
    this.#released = undefined;
  }

  #tick(): void {
    const now = Date.now();
    this.clock.now = now;
    const { idleTimeout, maxLifetime, sendPings } = this.limits;
    if ((idleTimeout === 0 && maxLifetime === 0) || this.sockets.size === 0) return;
    // lastActivity lags real time by up to one tick, so wait one extra tick: never close early.
    const idleLimit = idleTimeout === 0 ? Number.POSITIVE_INFINITY : idleTimeout * 1000 + WATCHDOG_TICK_MS;
    const pingAfter = sendPings && idleTimeout > 0 ? Math.ceil(idleTimeout / 2) * 1000 : Number.POSITIVE_INFINITY;
    const lifetime = maxLifetime === 0 ? Number.POSITIVE_INFINITY : maxLifetime * 60_000;
    for (const socket of this.sockets) {
      if (socket.readyState !== 1) continue;
      if (now - socket.openedAt >= lifetime) {
        socket.close(CloseCode.NORMAL, CloseReason.LIFETIME);
        continue;
      }
      const idle = now - socket.lastActivity;
      if (idle >= idleLimit) {
        socket.terminateWith(CloseCode.ABNORMAL, CloseReason.IDLE_TIMEOUT);
      } else if (idle >= pingAfter && socket.lastPingAt <= socket.lastActivity) {
        socket.lastPingAt = now;
        socket.ping();
      }
    }
  }
}
