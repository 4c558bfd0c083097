/**
 * The state of one listening server: its sockets (pending and open), the shared watchdog that
 * enforces idle timeout, max lifetime, heartbeats and health checks on every adapter, admission
 * control, rate limits, error routing, and counters.
 */

import type { SocketDriver } from "./adapter.js";
import type { Backplane, BackplaneMessage, DurableLog, SequencedMessage } from "./backplane.js";
import { CloseCode, CloseReason } from "./close.js";
import { asError, isThenable } from "./guards.js";
import type { WebSocketHandlers } from "./handlers.js";
import { type Logger, log, quietLogger } from "./logger.js";
import { Counters, type Metrics } from "./metrics.js";
import type { ResolvedResilience, ResolvedWebSocketLimits } from "./options.js";
import { TokenBucket } from "./rate-limit.js";
import { SessionHub, type SessionRequest, sequencedTopic } from "./session.js";
import { payloadOf, type SendData, type SendOptions, type ServerSocket } from "./socket.js";
import { StagedSet } from "./staged-set.js";
import { StreamTable, skipFrame } from "./streams.js";
import { since, toStamp } from "./time.js";
import { TopicHub } from "./topics.js";
import type { UpgradeRequest } from "./upgrade-request.js";

/** How often the watchdog runs; idle closes land between `idleTimeout` and `idleTimeout + 2 × tick`. */
export const WATCHDOG_TICK_MS = 500;
/** An accepted upgrade the engine never opened (client gone) stops counting after this long. */
const PENDING_EXPIRY_MS = 10_000;

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

/** Why an upgrade is over a connection limit, if it is. */
export type Overload = "total" | "ip" | undefined;

interface PublishFrame {
  payload: string | ArrayBuffer | Uint8Array;
  isBinary: boolean;
  compress: boolean;
}

/** @internal */
export class ServerRuntime {
  readonly #scratchFrame: PublishFrame = { payload: "", isBinary: false, compress: false };
  readonly limits: ResolvedWebSocketLimits;
  readonly resilience: ResolvedResilience;
  readonly counters = new Counters();
  readonly logger: Logger;
  /** Bytes from which sends are compressed by default; -1 when compression is disabled. */
  readonly compressionThreshold: number;
  /** Message hooks allowed in flight per connection. */
  readonly concurrency: number;
  /** A client message that answers the application heartbeat (swallowed), if any. */
  readonly heartbeatReply: string | undefined;
  /** Whether messages are screened (heartbeat replies, rate limits) before the hooks. */
  readonly screensMessages: boolean;
  /** When the server started (ms since the epoch); socket times are relative to it. */
  readonly epoch = Date.now();
  /** Coarse clock (a stamp, see time.ts), advanced by the watchdog; cheap to read on every frame. */
  readonly clock = { now: 0 };
  /** The adapter's socket driver (one per server), set when the engine opens the first socket. */
  driver: SocketDriver<unknown> | undefined = undefined;
  /** Sockets the engine holds open (from engineOpen to engineClose). */
  readonly sockets = new Set<AnySocket>();
  /** Accepted upgrades the engine has not opened yet. */
  readonly pending = new StagedSet<AnySocket>();
  /** Upgrades being decided (async hooks, authentication): they hold a connection slot meanwhile. */
  readonly #deciding = new StagedSet<UpgradeRequest>();
  /** Topic subscriptions: the engine's, or emulated. */
  readonly topics = new TopicHub();
  /** Streams session clients follow (sequence numbers and history). */
  readonly streams: StreamTable;
  /** Verb protocol sessions; undefined with `resume: false`. */
  readonly sessions: SessionHub | undefined;
  readonly #perIp = new Map<string, number>();
  readonly #ipBuckets = new Map<string, TokenBucket>();
  readonly #fallbackHandlers: WebSocketHandlers<unknown>;
  readonly #onEnded: (socket: AnySocket) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #released: (() => void) | undefined;
  #nextHeartbeat = 0;
  #nextHealthPing = 0;
  #lastHealthPing = 0;
  #healthChecked = true;
  #nextSweep = 0;
  /** Sweeps the offline queue (set by the app when it has one). */
  sweep: ((now: number) => void) | undefined;
  /** Offline messages waiting (set by the app when it has a queue). */
  queueDepth: () => number = () => 0;
  /** Carries publishes to the other instances, when configured. */
  backplane: Backplane | undefined;
  /** With a backplane: local subscribers per topic (the instance subscribes to a topic once). */
  readonly #topicRefs = new Map<string, number>();

  constructor(
    limits: ResolvedWebSocketLimits,
    resilience: ResolvedResilience,
    fallbackHandlers: WebSocketHandlers<unknown>,
    onEnded: (socket: AnySocket) => void = () => {},
    logger: Logger = quietLogger,
  ) {
    this.limits = limits;
    this.resilience = resilience;
    this.logger = logger;
    this.#onEnded = onEnded;
    this.compressionThreshold = limits.compression === "disabled" ? -1 : limits.compressionThreshold;
    this.concurrency = resilience.concurrency;
    this.heartbeatReply = resilience.heartbeat?.reply;
    this.screensMessages = this.heartbeatReply !== undefined || resilience.rateLimit !== undefined;
    this.#fallbackHandlers = fallbackHandlers;
    const resume = resilience.resume;
    this.streams = new StreamTable(
      resume ?? { maxMessages: 1, ttlMs: 1 },
      `${this.epoch.toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    );
    this.sessions = resume === undefined ? undefined : new SessionHub(this);
  }

  /** The subscription check for session clients, if the application set one. */
  authorizeSubscribe(_socket: AnySocket): ResolvedResilience["authorizeSubscribe"] {
    return this.resilience.authorizeSubscribe;
  }

  /** Precise ms since `epoch`. */
  elapsed(): number {
    return Date.now() - this.epoch;
  }

  /** Precise stamp of now (see time.ts). */
  stamp(): number {
    return toStamp(Date.now() - this.epoch);
  }

  start(): void {
    const now = this.elapsed();
    if (this.resilience.heartbeat) this.#nextHeartbeat = now + this.resilience.heartbeat.interval * 1000;
    if (this.resilience.healthCheck) this.#nextHealthPing = now + this.resilience.healthCheck.interval * 1000;
    this.#timer = setInterval(() => this.#tick(), WATCHDOG_TICK_MS);
    // The watchdog alone must not keep the process alive.
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether one more connection for `request` is over a limit (its own reserved slot aside). */
  overload(request: UpgradeRequest): Overload {
    const { maxConnections, maxConnectionsPerIp } = this.resilience;
    const own = this.#deciding.has(request) ? 1 : 0;
    if (this.sockets.size + this.pending.size + this.#deciding.size - own >= maxConnections) return "total";
    if ((this.#perIp.get(request.remoteAddress) ?? 0) - own >= maxConnectionsPerIp) return "ip";
    return undefined;
  }

  /** An upgrade is being decided: it counts against the connection limits until released or accepted. */
  reserve(request: UpgradeRequest): void {
    this.#deciding.add(request);
    this.#countIp(request.remoteAddress);
  }

  /** The upgrade was decided: its slot goes (an accepted one's socket took it over already). */
  release(request: UpgradeRequest): void {
    if (this.#deciding.delete(request)) this.#forgetIp(request.remoteAddress);
  }

  /** A socket was created for an accepted upgrade; it takes over the upgrade's reserved slot. */
  socketCreated(socket: AnySocket): void {
    this.pending.add(socket);
    if (!this.#deciding.delete(socket.request)) this.#countIp(socket.remoteAddress);
  }

  #countIp(ip: string): void {
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
  }

  socketOpened(socket: AnySocket): void {
    this.pending.delete(socket);
    this.sockets.add(socket);
    this.counters.connectionsTotal++;
  }

  /** The close hook is about to run: the registry and user directory forget the socket. */
  socketEnded(socket: AnySocket): void {
    this.#onEnded(socket);
  }

  socketReleased(socket: AnySocket): void {
    const token = this.#publisherTokens.get(socket);
    if (token !== undefined) {
      this.#publisherTokens.delete(socket);
      this.#publishers.delete(token);
    }
    // A socket the engine opened after it was abandoned was never counted as open.
    if (this.sockets.delete(socket)) this.#forgetIp(socket.remoteAddress);
    if (this.sockets.size === 0 && this.#released !== undefined) this.#released();
  }

  #forgetIp(ip: string): void {
    const count = (this.#perIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count);
  }

  /** Whether a message stops here: a heartbeat reply, or over the rate limit (then already answered). */
  screen(socket: AnySocket, message: string | Buffer, request?: SessionRequest): boolean {
    return message === this.heartbeatReply || this.rateLimited(socket, request);
  }

  /** Whether a message must be refused by the rate limit (then this already answered or closed). */
  rateLimited(socket: AnySocket, request?: SessionRequest): boolean {
    const limit = this.resilience.rateLimit;
    if (limit === undefined) return false;
    const now = Date.now();
    let bucket: TokenBucket | undefined;
    if (limit.scope === "ip") {
      bucket = this.#ipBuckets.get(socket.remoteAddress);
      if (bucket === undefined) {
        bucket = new TokenBucket(limit.burst, limit.messages / (limit.per * 1000), now);
        this.#ipBuckets.set(socket.remoteAddress, bucket);
      }
    } else {
      bucket = socket.bucket ??= new TokenBucket(limit.burst, limit.messages / (limit.per * 1000), now);
    }
    if (bucket.take(now)) return false;
    this.counters.rateLimited++;
    if (limit.onExceed === "close") {
      socket.close(CloseCode.POLICY_VIOLATION, "Rate limit exceeded");
    } else if (request !== undefined) {
      request.fail({ message: "Rate limit exceeded", retryAfterMs: bucket.waitMs(now) });
    } else {
      socket.send(JSON.stringify({ type: "error", message: "Rate limit exceeded", retryAfterMs: bucket.waitMs(now) }));
    }
    return true;
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
   * Publishes to a topic: to every local subscriber but `from` when given, and, with a backplane,
   * to the other instances (fire and forget). Binary unless a string, compressed by the rule of
   * `send`, unless `options` say otherwise. Returns how many local subscribers it reached.
   */
  publish(topic: string, data: SendData, options: SendOptions | undefined, from?: AnySocket): number {
    const frame = this.#frame(data, options);
    this.counters.published++;
    const log = this.backplane?.log;
    if (log !== undefined) {
      // Durable: delivered from the log, here as everywhere, once it has its number.
      const reach = this.#reach(topic);
      void this.#append(log, topic, frame.payload, frame.isBinary, frame.compress, from).catch(() => {});
      return reach;
    }
    let local = this.#publishLocal(topic, frame.payload, frame.isBinary, frame.compress, from);
    if (this.streams.size > 0) local += this.#publishStream(topic, frame.payload, frame.isBinary, frame.compress, from);
    if (this.backplane !== undefined) void this.#forward(this.backplane, topic, frame.payload, frame.isBinary, frame.compress);
    return local;
  }

  /**
   * A publish to a stream session clients follow: numbered, kept in its history, sent sequenced to
   * its followers (a socket publish's own session gets a skip). Returns the followers reached.
   */
  #publishStream(
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    isBinary: boolean,
    compress: boolean,
    from: AnySocket | undefined,
  ): number {
    const stream = this.streams.get(topic);
    if (stream === undefined) return 0;
    const payload = isBinary
      ? typeof data === "string"
        ? Buffer.from(data)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : data
      : typeof data === "string"
        ? data
        : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString("utf8");
    const publisher = from?.session?.record !== undefined && from.isSubscribed(topic) ? from : undefined;
    const entry = stream.append(payload, publisher?.session?.record?.id, this.streams.bounds, Date.now());
    this.counters.streamMessages++;
    const reached = this.#publishLocal(sequencedTopic(topic), entry.frame, typeof entry.frame !== "string", compress, publisher);
    if (publisher !== undefined) publisher.sendFrame(skipFrame(topic, entry.seq));
    return reached;
  }

  /**
   * Like `publish`, and resolves with how many other instances received it; in durable mode once
   * the log stored it (with its number), and rejects when it could not be stored.
   */
  async deliver(
    topic: string,
    data: SendData,
    options: SendOptions | undefined,
  ): Promise<{ local: number; remote: number; seq?: number }> {
    const { payload, isBinary, compress } = this.#frame(data, options);
    this.counters.published++;
    const log = this.backplane?.log;
    if (log !== undefined) {
      const local = this.#reach(topic);
      const { seq } = await this.#append(log, topic, payload, isBinary, compress, undefined);
      return { local, remote: 0, seq };
    }
    let local = this.#publishLocal(topic, payload, isBinary, compress, undefined);
    if (this.streams.size > 0) local += this.#publishStream(topic, payload, isBinary, compress, undefined);
    const remote = this.backplane === undefined ? 0 : await this.#forward(this.backplane, topic, payload, isBinary, compress);
    return { local, remote };
  }

  /** How a publish goes on the wire (one reused object: nothing allocated per publish). */
  #frame(data: SendData, options: SendOptions | undefined): PublishFrame {
    const frame = this.#scratchFrame;
    const payload = payloadOf(data);
    frame.payload = payload;
    frame.isBinary = options?.binary ?? typeof payload !== "string";
    frame.compress = options?.compress ?? this.shouldCompress(payload);
    return frame;
  }

  #publishLocal(
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    isBinary: boolean,
    compress: boolean,
    from: AnySocket | undefined,
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

  #forward(
    backplane: Backplane,
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    binary: boolean,
    compress: boolean,
  ): Promise<number> {
    this.counters.backplaneOut++;
    const message: BackplaneMessage = {
      origin: backplane.instanceId,
      data: data instanceof ArrayBuffer ? new Uint8Array(data) : data,
      binary,
      compress,
    };
    let sent: Promise<number>;
    try {
      sent = backplane.publish(topic, message);
    } catch (error) {
      // A driver that throws is contained like one that rejects.
      sent = Promise.reject(error);
    }
    return Promise.resolve(sent).catch((error: unknown) => {
      this.counters.backplaneLost++;
      this.backplaneError(asError(error), "publish");
      return 0;
    });
  }

  /** Runs a driver's subscribe/unsubscribe; a throw is reported, never raised into the application. */
  #tell(backplane: Backplane, stage: "subscribe" | "unsubscribe", topic: string): void {
    try {
      const result: unknown = backplane[stage](topic);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.backplaneError(asError(error), stage));
    } catch (error) {
      this.backplaneError(asError(error), stage);
    }
  }

  /** Local subscribers of a topic, plain and session. */
  #reach(topic: string): number {
    const hub = this.topics;
    return hub.count(topic) + (this.streams.size > 0 ? hub.count(sequencedTopic(topic)) : 0);
  }

  /** Publishers of socket publishes in durable mode, by the token their log entries carry. */
  readonly #publishers = new Map<number, AnySocket>();
  readonly #publisherTokens = new Map<AnySocket, number>();
  #nextToken = 0;

  /** Who a socket publish must not reach: its session (a skip), or the socket itself. */
  #exclusion(from: AnySocket | undefined, topic: string): string | undefined {
    if (from === undefined) return undefined;
    const session = from.session?.record;
    if (session !== undefined && from.isSubscribed(topic)) return `s:${session.id}`;
    let token = this.#publisherTokens.get(from);
    if (token === undefined) {
      token = ++this.#nextToken;
      this.#publisherTokens.set(from, token);
      this.#publishers.set(token, from);
    }
    return `k:${(this.backplane as Backplane).instanceId}:${token}`;
  }

  /** Appends to the durable log; a failure is counted and reported (and rejects for `deliver`). */
  #append(
    log: DurableLog,
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    binary: boolean,
    compress: boolean,
    from: AnySocket | undefined,
  ): Promise<{ seq: number; epoch: string }> {
    const backplane = this.backplane as Backplane;
    this.counters.backplaneOut++;
    const message: BackplaneMessage = {
      origin: backplane.instanceId,
      data: data instanceof ArrayBuffer ? new Uint8Array(data) : data,
      binary,
      compress,
    };
    let appended: Promise<{ seq: number; epoch: string }>;
    try {
      appended = log.append(topic, message, this.#exclusion(from, topic));
    } catch (error) {
      appended = Promise.reject(error);
    }
    return Promise.resolve(appended).catch((error: unknown) => {
      this.counters.backplaneLost++;
      this.backplaneError(asError(error), "append");
      throw error;
    });
  }

  /**
   * A message read from the durable log (every instance's, this one's included, in log order):
   * to the plain subscribers (but the publishing socket), and numbered as the log numbered it to
   * the followers of its stream (the publishing session gets a skip).
   */
  sequenced(message: SequencedMessage): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    const own = message.origin === backplane.instanceId;
    if (!own) this.counters.backplaneIn++;
    const excluded = message.excluded;
    let socket: AnySocket | undefined;
    if (own && excluded?.startsWith("k:")) {
      socket = this.#publishers.get(Number(excluded.slice(excluded.lastIndexOf(":") + 1)));
    }
    const topic = message.topic;
    this.#publishLocal(topic, message.data, message.binary, message.compress, socket);
    const stream = this.streams.get(topic);
    if (stream === undefined) return;
    const session = excluded?.startsWith("s:") ? excluded.slice(2) : undefined;
    const data = message.data;
    const payload = message.binary && typeof data === "string" ? Buffer.from(data) : data;
    const entry = stream.record(message.seq, message.epoch, payload, session, this.streams.bounds, Date.now());
    if (entry === undefined) return;
    this.counters.streamMessages++;
    const publisher = session === undefined ? undefined : this.sessions?.socketOf(session);
    const following = publisher?.isSubscribed(topic) ? publisher : undefined;
    this.#publishLocal(sequencedTopic(topic), entry.frame, typeof entry.frame !== "string", message.compress, following);
    if (following !== undefined) following.sendFrame(skipFrame(topic, entry.seq));
  }

  /** A publish from another instance: deliver it to the local subscribers. */
  receive(topic: string, message: BackplaneMessage): void {
    if (this.backplane === undefined || message.origin === this.backplane.instanceId) return;
    this.counters.backplaneIn++;
    this.topics.publish(topic, message.data, message.binary, message.compress, undefined);
    if (this.streams.size > 0) this.#publishStream(topic, message.data, message.binary, message.compress, undefined);
  }

  backplaneError(error: Error, stage: string): void {
    this.counters.backplaneErrors++;
    log(this.logger, "warn", { err: error, stage }, `backplane ${stage} failed`);
  }

  /** A local socket started receiving `topic`. */
  topicJoined(topic: string): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    const refs = this.#topicRefs.get(topic) ?? 0;
    this.#topicRefs.set(topic, refs + 1);
    if (refs === 0) this.#tell(backplane, "subscribe", topic);
  }

  /** A local socket stopped receiving `topic`. */
  topicLeft(topic: string): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    const refs = (this.#topicRefs.get(topic) ?? 1) - 1;
    if (refs > 0) {
      this.#topicRefs.set(topic, refs);
      return;
    }
    this.#topicRefs.delete(topic);
    this.#tell(backplane, "unsubscribe", topic);
  }

  reportSocketError(socket: AnySocket, error: Error): void {
    this.counters.handlerErrors++;
    const hook = socket.handlers.error ?? this.#fallbackHandlers.error;
    if (hook !== undefined) {
      try {
        const result: unknown = hook(socket, error);
        if (isThenable(result)) result.then(undefined, (inner: unknown) => this.logError("the error hook rejected", inner));
      } catch (inner) {
        this.logError("the error hook threw", inner);
      }
    }
    const listeners = socket.listenersFor("error");
    if (listeners !== undefined) {
      // Listener arrays are copy-on-write: iterating this one is safe while listeners change.
      for (const listener of listeners) {
        try {
          const result: unknown = listener(error);
          if (isThenable(result)) result.then(undefined, (inner: unknown) => this.logError("an error listener rejected", inner));
        } catch (inner) {
          this.logError("an error listener threw", inner);
        }
      }
    }
    if (hook === undefined && (listeners === undefined || listeners.length === 0)) {
      this.logError("unhandled error in a WebSocket hook (add websocket.error to handle it)", error);
    }
  }

  /** Logs an error nobody handled: never silent. */
  logError(message: string, error: unknown): void {
    log(this.logger, "error", { err: error }, message);
  }

  /** Metrics of this server. */
  metrics(): Metrics {
    const c = this.counters;
    return {
      connections: {
        active: this.sockets.size,
        pending: this.pending.size + this.#deciding.size,
        total: c.connectionsTotal,
        rejected: c.connectionsRejected,
        upgradeTimeouts: c.upgradesTimedOut,
      },
      messages: { in: c.messagesIn, out: c.messagesOut, published: c.published },
      bytes: { in: c.bytesIn, out: c.bytesOut },
      backpressure: { buffered: c.sendsBuffered, dropped: c.sendsDropped, pongsDropped: c.pongsDropped },
      rateLimited: c.rateLimited,
      handlerErrors: c.handlerErrors,
      heartbeatTimeouts: c.heartbeatTimeouts,
      offlineQueue: {
        queued: c.offlineQueued,
        delivered: c.offlineDelivered,
        dropped: c.offlineDropped,
        depth: this.queueDepth(),
      },
      topics: this.topics.isNative ? -1 : this.topics.localCount,
      sessions: {
        active: this.sessions?.size ?? 0,
        resumed: c.sessionsResumed,
        repeats: c.sessionRepeats,
        streams: this.streams.size,
        sequenced: c.streamMessages,
        retained: this.streams.retained,
        replayed: c.streamReplayed,
        gaps: c.streamGaps,
        expired: c.streamExpired,
      },
      backplane:
        this.backplane === undefined
          ? undefined
          : {
              connected: this.backplane.connected,
              topics: this.#topicRefs.size,
              published: c.backplaneOut,
              received: c.backplaneIn,
              lost: c.backplaneLost,
              errors: c.backplaneErrors,
            },
    };
  }

  /** Resolves once every socket has been released (or at once when none is open). */
  #allReleased(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#released = resolve;
    });
  }

  /** Waits until no socket has bytes waiting to be written, at most `graceMs`. */
  async drainSends(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      let waiting = false;
      for (const socket of this.sockets) {
        if (socket.readyState === 1 && socket.bufferedAmount > 0) {
          waiting = true;
          break;
        }
      }
      if (!waiting || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes every socket with `code`, waits up to `timeout` for the engines to finish, then cuts off the rest. */
  async closeSockets(options: CloseSocketsOptions = {}): Promise<void> {
    const code = options.code ?? CloseCode.GOING_AWAY;
    const reason = options.reason ?? "";
    const timeout = options.timeout ?? 5000;
    for (const socket of this.pending.toArray()) socket.close(code, reason);
    for (const socket of [...this.sockets]) {
      if (socket.readyState <= 1) socket.close(code, reason);
    }
    if (this.sockets.size === 0) return;
    const released = this.#allReleased();
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
    const now = this.elapsed();
    const stamp = toStamp(now);
    this.clock.now = stamp;
    this.#expirePending(stamp);
    this.#heartbeats(now);
    const sweeping = now >= this.#nextSweep;
    if (sweeping) {
      this.#nextSweep = now + 5000;
      this.sweep?.(Date.now());
    }
    this.sessions?.tick(stamp, sweeping);
    for (const [ip, bucket] of this.#ipBuckets) if (bucket.isFull(now)) this.#ipBuckets.delete(ip);
    const { idleTimeout, maxLifetime, sendPings } = this.limits;
    if ((idleTimeout === 0 && maxLifetime === 0) || this.sockets.size === 0) return;
    // lastActivity lags real time by up to one tick, so wait one extra tick: never close early.
    const idleLimit = idleTimeout === 0 ? Number.POSITIVE_INFINITY : idleTimeout * 1000 + WATCHDOG_TICK_MS;
    const pingAfter = sendPings && idleTimeout > 0 ? Math.ceil(idleTimeout / 2) * 1000 : Number.POSITIVE_INFINITY;
    const lifetime = maxLifetime === 0 ? Number.POSITIVE_INFINITY : maxLifetime * 60_000;
    for (const socket of this.sockets) {
      if (socket.readyState !== 1) continue;
      if (since(stamp, socket.openedAt) >= lifetime) {
        socket.close(CloseCode.NORMAL, CloseReason.LIFETIME);
        continue;
      }
      const idle = since(stamp, socket.lastActivity);
      if (idle >= idleLimit) {
        socket.terminateWith(CloseCode.ABNORMAL, CloseReason.IDLE_TIMEOUT);
      } else if (idle >= pingAfter && socket.claimIdlePing()) {
        socket.ping();
      }
    }
  }

  #expirePending(stamp: number): void {
    if (this.pending.size === 0) return;
    for (const socket of this.pending.toArray()) {
      // The engine never opened it (the client left during the upgrade and the adapter missed it).
      if (since(stamp, socket.openedAt) >= PENDING_EXPIRY_MS) socket.abandon();
    }
  }

  /** A pending socket the engine will never open. */
  socketAbandoned(socket: AnySocket): void {
    if (this.pending.delete(socket)) this.#forgetIp(socket.remoteAddress);
  }

  /** Application heartbeats and the ping/pong health check, on one schedule for all sockets. */
  #heartbeats(now: number): void {
    const heartbeat = this.resilience.heartbeat;
    if (heartbeat !== undefined && now >= this.#nextHeartbeat) {
      this.#nextHeartbeat = now + heartbeat.interval * 1000;
      for (const socket of this.sockets) if (socket.readyState === 1) socket.send(heartbeat.message);
    }
    const health = this.resilience.healthCheck;
    if (health === undefined) return;
    if (now >= this.#nextHealthPing) {
      this.#nextHealthPing = now + health.interval * 1000;
      this.#lastHealthPing = now;
      this.#healthChecked = false;
      for (const socket of this.sockets) if (socket.readyState === 1) socket.ping();
    } else if (!this.#healthChecked && now - this.#lastHealthPing >= health.timeout * 1000) {
      this.#healthChecked = true;
      const pinged = toStamp(this.#lastHealthPing);
      for (const socket of this.sockets) {
        // Opened in the ping's millisecond: perhaps after the ping went out, so not pinged; the next round checks it.
        if (socket.readyState !== 1 || since(socket.openedAt, pinged) >= 0 || since(socket.pongedAt, pinged) >= 0) continue;
        this.counters.heartbeatTimeouts++;
        log(this.logger, "info", { ip: socket.remoteAddress }, "closing a client that did not answer the health-check ping");
        socket.close(health.code, health.reason);
      }
    }
  }
}
