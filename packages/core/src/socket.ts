/**
 * The socket handed to every hook: one stable object per connection.
 *
 * `ServerSocket` holds all behaviour the contract promises (send results, close validation,
 * exactly-once close hook, ordered message handling, error routing); the adapter only supplies
 * a {@link SocketDriver} that moves bytes and reports engine events through the `engine*` methods.
 */

import { SUBPROTOCOL } from "@verb/protocol";
import type { SocketDriver } from "./adapter.js";
import { assertSendableCloseCode, CloseCode, CloseReason, truncateCloseReason } from "./close.js";
import { asError, isThenable } from "./guards.js";
import type { HookResult, Message, SocketEvent, SocketEventMap, WebSocketHandlers } from "./handlers.js";
import type { TokenBucket } from "./rate-limit.js";
import type { ServerRuntime } from "./runtime.js";
import { forSession, SessionRequest, type SocketSession, sequencedTopic } from "./session.js";
import { since } from "./time.js";
import { assertTopic } from "./topics.js";
import type { UpgradeRequest } from "./upgrade-request.js";

/** What happened to a send: written to the socket, queued behind backpressure, or discarded. */
export type SendStatus = "sent" | "buffered" | "dropped";

/** Data `send` accepts: a string goes as a text frame, anything binary as a binary frame. */
export type SendData = string | ArrayBuffer | ArrayBufferView;

/** Options of a single send. */
export interface SendOptions {
  /**
   * Compress this message (when permessage-deflate was negotiated). Default: compress when
   * compression is enabled and the message is at least `compressionThreshold` bytes.
   */
  compress?: boolean;
  /** Force the frame type: `true` binary, `false` text. Default: inferred from the data's type. */
  binary?: boolean;
}

/** WebSocket ready states (same numbers as the browser's `WebSocket`). */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** Ready state of a socket. */
export type ReadyStateValue = (typeof ReadyState)[keyof typeof ReadyState];

/** The socket your hooks receive. */
export interface VerbSocket<Data = Record<string, unknown>> {
  /** Per-connection data: set by the upgrade hook or `res.upgrade(data)`; an empty object otherwise. */
  data: Data;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: ReadyStateValue;
  /** The client's IP address. */
  readonly remoteAddress: string;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** The `Sec-WebSocket-Extensions` answer of the 101 response, exactly (e.g. `permessage-deflate; client_no_context_takeover; server_no_context_takeover`), or `""`. */
  readonly extensions: string;
  /** Bytes waiting in the send buffer. */
  readonly bufferedAmount: number;
  /** The upgrade request: URL, path, query, headers, cookies, remote address. */
  readonly request: UpgradeRequest;
  /**
   * Sends a message. Returns `"sent"`, `"buffered"` (queued behind backpressure; `drain` follows)
   * or `"dropped"` (over `maxBackpressure`, or the socket is closing or closed). Never throws for
   * a closed socket.
   */
  send(data: SendData, options?: SendOptions): SendStatus;
  /** Closes with a close frame. `code` defaults to 1000; throws a RangeError for codes that may not be sent. Reasons are cut to 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void;
  /** Ends the connection at once, without a close frame. The close hook gets 1006. */
  terminate(): void;
  /** Sends a ping (payload up to 125 bytes). */
  ping(data?: SendData): SendStatus;
  /** Runs `fn` with writes batched into one; returns what `fn` returns. */
  cork<R>(fn: () => R): R;
  /** Subscribes to a topic (exact names; no wildcards). */
  subscribe(topic: string): void;
  /** Leaves a topic. */
  unsubscribe(topic: string): void;
  /** Whether the socket subscribes to `topic`. */
  isSubscribed(topic: string): boolean;
  /** The topics the socket subscribes to (empty once it closed). */
  readonly topics: string[];
  /**
   * Sends to every subscriber of `topic` except this socket, each under its own backpressure
   * limit; compressed by the same rule as `send`. Returns whether anyone else subscribes.
   */
  publish(topic: string, data: SendData, options?: SendOptions): boolean;
  /** Adds a per-socket listener; runs after the matching hook of `websocket: {...}`. */
  on<E extends SocketEvent>(event: E, listener: SocketEventMap[E]): this;
  /** Removes a listener added with `on`. */
  off<E extends SocketEvent>(event: E, listener: SocketEventMap[E]): this;
}

type ListenerTable = { [E in SocketEvent]?: SocketEventMap[E][] };

/** What happens when the engine opens a socket, before any hook. */
type OpenNotice =
  | { refuse: true; message: string | undefined; code: number; reason: string }
  | { refuse: false; message: string };

interface RareState {
  /** Sends made before the engine opened the socket (res.upgrade() routes). */
  early: [SendData, SendOptions | undefined][] | null;
  /** Close requested before the engine opened the socket. */
  closeOnOpen: [number, string] | null;
  /** Bytes held for a listener that is not there yet. */
  held: number;
  openNotice: OpenNotice | undefined;
  bucket: TokenBucket | undefined;
  /** The socket's side of its Verb protocol session (clients that offered `verb.v1`). */
  session: SocketSession | undefined;
}

// State bits of a socket.
/** An async open hook is pending. */
const OPENING = 1;
/** Refused at open (auth failure, overload): the application's hooks never see this socket. */
const SILENT = 2;
/** The close hook ran (or is running). */
const ENDED = 4;
/** A send met backpressure: the next drain is the application's. */
const WANT_DRAIN = 8;
/** Hold messages until a `message` listener exists (sockets from `res.upgrade()`, which have no hook). */
const AWAIT_LISTENER = 16;
/** The subscriptions were handed to the engine (and counted for the backplane). */
const JOINED = 32;
/** A close at the backpressure limit is scheduled. */
const CLOSE_SCHEDULED = 64;
/** The client offered the Verb protocol and has not said hello yet: subscriptions are held. */
const SESSION_OFFERED = 128;
/** A Verb protocol session: messages numbered, streams sequenced. */
const SESSION = 256;
const SESSION_ANY = SESSION_OFFERED | SESSION;
/** The watchdog pinged this idle socket; cleared by any frame from the client. */
const PINGED = 512;
/** The ready state (0-3) lives in these two bits. */
const STATE_SHIFT = 10;
const STATE_MASK = 3 << STATE_SHIFT;

const SENT: SendStatus = "sent";
const DROPPED: SendStatus = "dropped";
const EMPTY = new Uint8Array(0);

/** @internal The bytes or text of a message, without copying. */
export function payloadOf(data: SendData): string | ArrayBuffer | Uint8Array {
  if (typeof data === "string" || data instanceof Uint8Array || data instanceof ArrayBuffer) return data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The connection object. Adapters create it through the upgrade decision and report engine
 * events through the `engine*` methods; applications only see {@link VerbSocket}.
 */
export class ServerSocket<Data = Record<string, unknown>, Raw = unknown> implements VerbSocket<Data> {
  /** @internal */ raw: Raw | undefined = undefined;
  /** @internal */ readonly runtime: ServerRuntime;
  /** @internal */ readonly handlers: WebSocketHandlers<Data>;
  readonly request: UpgradeRequest;
  readonly protocol: string;
  extensions = "";
  // Times are stamps (see time.ts): 32-bit integers V8 keeps unboxed, where a float in a field
  // would cost a heap number per socket.
  /** @internal Coarse stamp of the last frame received. */ lastActivity = 0;
  /** @internal Stamp of the opening (precise; the creation time until it opens). */ openedAt: number;
  /** @internal Stamp of the last pong. */ pongedAt = 0;
  #data: Data | undefined;
  #listeners: ListenerTable | null = null;
  /** Messages waiting: an async open or the concurrency limit holds them; null when none wait. */
  #inbox: (Message | SessionRequest)[] | null = null;
  /** Message hooks in flight. */
  #running = 0;
  /** State bits: see the flag constants. */
  #flags = 0;
  /** Topics subscribed; null until the first subscription. */
  #topics: Set<string> | null = null;
  /** State few sockets ever need, allocated on first use (keeps the common socket small). */
  #rare: RareState | null = null;

  constructor(
    runtime: ServerRuntime,
    handlers: WebSocketHandlers<Data>,
    request: UpgradeRequest,
    protocol: string,
    data: Data | undefined,
    awaitListener = false,
  ) {
    this.runtime = runtime;
    this.handlers = handlers;
    this.request = request;
    this.protocol = protocol;
    this.#data = data;
    if (awaitListener) this.#flags = AWAIT_LISTENER;
    if (runtime.sessions !== undefined && request.protocols.includes(SUBPROTOCOL)) {
      this.#flags |= SESSION_OFFERED;
      this.#rareState().session = { record: undefined, cursors: {}, held: new Map(), clientTopics: new Set() };
    }
    this.openedAt = runtime.stamp();
    runtime.socketCreated(this as ServerSocket<unknown, unknown>);
  }

  get readyState(): ReadyStateValue {
    return ((this.#flags & STATE_MASK) >> STATE_SHIFT) as ReadyStateValue;
  }

  #setState(state: ReadyStateValue): void {
    this.#flags = (this.#flags & ~STATE_MASK) | (state << STATE_SHIFT);
  }

  /**
   * @internal The watchdog pings an idle socket once: true the first time it asks since the
   * client's last frame.
   */
  claimIdlePing(): boolean {
    if ((this.#flags & PINGED) !== 0) return false;
    this.#flags |= PINGED;
    return true;
  }

  #rareState(): RareState {
    if (this.#rare === null) {
      this.#rare = { early: null, closeOnOpen: null, held: 0, openNotice: undefined, bucket: undefined, session: undefined };
    }
    return this.#rare;
  }

  /**
   * @internal What happens when the engine opens the socket, before any hook: refuse it (failed
   * authentication, overload: the hooks never see it) or announce something (authentication).
   */
  get openNotice(): OpenNotice | undefined {
    return this.#rare?.openNotice;
  }
  set openNotice(notice: OpenNotice | undefined) {
    this.#rareState().openNotice = notice;
  }

  /** @internal The socket's session state (sockets that offered the Verb protocol). */
  get session(): SocketSession | undefined {
    return this.#rare?.session;
  }

  /** @internal Rate-limit bucket of this connection, once it sent a message. */
  get bucket(): TokenBucket | undefined {
    return this.#rare?.bucket;
  }
  set bucket(bucket: TokenBucket | undefined) {
    this.#rareState().bucket = bucket;
  }

  /** @internal When the last frame arrived, as a time since the epoch (ms). */
  get lastActivityTime(): number {
    return Date.now() - since(this.runtime.stamp(), this.lastActivity);
  }

  get data(): Data {
    if (this.#data === undefined) this.#data = {} as Data;
    return this.#data;
  }
  set data(value: Data) {
    this.#data = value;
  }

  get remoteAddress(): string {
    return this.request.remoteAddress;
  }

  get bufferedAmount(): number {
    return this.readyState === 1 ? (this.runtime.driver as SocketDriver<Raw>).bufferedAmount(this.raw as Raw) : 0;
  }

  send(data: SendData, options?: SendOptions): SendStatus {
    if (this.readyState !== 1) {
      if (this.readyState === 0) return this.#sendEarly(data, options);
      return DROPPED;
    }
    const runtime = this.runtime;
    let payload: string | ArrayBuffer | Uint8Array;
    let isBinary: boolean;
    let size: number;
    if (typeof data === "string") {
      payload = data;
      isBinary = false;
      size = data.length;
    } else {
      const bytes = payloadOf(data) as ArrayBuffer | Uint8Array;
      payload = bytes;
      isBinary = true;
      size = bytes.byteLength;
    }
    let compress: boolean | undefined;
    if (options !== undefined) {
      if (options.binary !== undefined) isBinary = options.binary;
      compress = options.compress;
    }
    // Without compression there is nothing to decide per message.
    if (compress === undefined) compress = runtime.compressionThreshold >= 0 && runtime.shouldCompress(payload);
    // A plain message that would read as an envelope is escaped for a session client.
    if ((this.#flags & SESSION) !== 0) payload = forSession(payload instanceof ArrayBuffer ? new Uint8Array(payload) : payload);
    const status = (this.runtime.driver as SocketDriver<Raw>).send(this.raw as Raw, payload, isBinary, compress);
    const counters = runtime.counters;
    counters.messagesOut++;
    counters.bytesOut += size;
    if (status !== SENT) this.#backpressured(status);
    return status;
  }

  /** @internal Sends a protocol frame (control message or sequenced envelope) as it is. */
  sendFrame(frame: string | Uint8Array): SendStatus {
    return this.deliver(frame, typeof frame !== "string", this.runtime.shouldCompress(frame));
  }

  /**
   * @internal One delivery of an emulated topic fan-out (or a protocol frame): the bytes as they
   * are, under the same backpressure rule as `send`.
   */
  deliver(data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): SendStatus {
    if (this.readyState !== 1) return DROPPED;
    const runtime = this.runtime;
    const status = (this.runtime.driver as SocketDriver<Raw>).send(this.raw as Raw, data, isBinary, compress);
    runtime.counters.messagesOut++;
    runtime.counters.bytesOut += typeof data === "string" ? data.length : data.byteLength;
    if (status !== SENT) this.#backpressured(status);
    return status;
  }

  #backpressured(status: SendStatus): void {
    this.#flags |= WANT_DRAIN;
    if (status !== DROPPED) {
      this.runtime.counters.sendsBuffered++;
    } else {
      this.runtime.counters.sendsDropped++;
      if (this.runtime.limits.closeOnBackpressureLimit && this.readyState === 1) {
        this.terminateWith(CloseCode.ABNORMAL, CloseReason.BACKPRESSURE_LIMIT);
      }
    }
  }

  #sendEarly(data: SendData, options: SendOptions | undefined): SendStatus {
    // A socket from res.upgrade() can be written to before the engine opens it: keep the order.
    const rare = this.#rareState();
    if (rare.early === null) rare.early = [];
    rare.early.push([data, options]);
    return "buffered";
  }

  ping(data?: SendData): SendStatus {
    let payload: Uint8Array | undefined;
    if (data !== undefined) {
      const bytes = typeof data === "string" ? Buffer.from(data) : payloadOf(data);
      payload = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : (bytes as Uint8Array);
      if (payload.byteLength > 125) throw new RangeError("A ping payload must not be longer than 125 bytes");
    }
    if (this.readyState !== 1) return DROPPED;
    return (this.runtime.driver as SocketDriver<Raw>).ping(this.raw as Raw, payload ?? EMPTY);
  }

  cork<R>(fn: () => R): R {
    if (this.readyState !== 1) return fn();
    return (this.runtime.driver as SocketDriver<Raw>).cork(this.raw as Raw, fn);
  }

  close(code: number = CloseCode.NORMAL, reason = ""): void {
    assertSendableCloseCode(code);
    if (typeof reason !== "string") throw new TypeError("The close reason must be a string");
    const wireReason = truncateCloseReason(reason);
    if ((this.#flags & ENDED) !== 0) return;
    this.#flags |= ENDED;
    if (this.readyState === 1) {
      this.#setState(2);
      (this.runtime.driver as SocketDriver<Raw>).close(this.raw as Raw, code, wireReason);
    } else {
      // Not open yet: the close frame goes out as soon as the engine opens the socket.
      this.#setState(2);
      this.#rareState().closeOnOpen = [code, wireReason];
    }
    this.#finish(code, wireReason);
  }

  terminate(): void {
    this.terminateWith(CloseCode.ABNORMAL, "");
  }

  /** @internal Abrupt close with the code and reason the close hook should see (idle timeout, backpressure). */
  terminateWith(code: number, reason: string): void {
    if ((this.#flags & ENDED) !== 0) return;
    this.#flags |= ENDED;
    if (this.readyState === 1) {
      // No close handshake to wait for: closed at once, on every engine.
      this.#setState(3);
      (this.runtime.driver as SocketDriver<Raw>).terminate(this.raw as Raw);
    } else {
      // Not open yet: the engine's socket is cut as soon as it opens.
      this.#setState(2);
    }
    this.#finish(code, reason);
  }

  subscribe(topic: string): void {
    assertTopic(topic);
    if (this.readyState >= 2) return;
    if (this.#topics === null) this.#topics = new Set();
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    // Before the engine opens the socket, subscriptions wait in #topics.
    if (this.readyState === 1) this.#engineSubscribe(topic);
  }

  unsubscribe(topic: string): void {
    assertTopic(topic);
    if (this.#topics === null || !this.#topics.delete(topic)) return;
    if (this.readyState !== 1) return;
    const flags = this.#flags;
    const sessions = this.runtime.sessions;
    if ((flags & SESSION) !== 0 && sessions !== undefined) sessions.detach(this as ServerSocket<unknown, unknown>, topic);
    else if ((flags & SESSION_OFFERED) !== 0 && sessions !== undefined)
      sessions.release(this as ServerSocket<unknown, unknown>, topic);
    else this.#engineUnsubscribe(topic);
    this.runtime.topicLeft(topic);
  }

  #engineUnsubscribe(engineTopic: string): void {
    const driver = this.runtime.driver as SocketDriver<Raw>;
    if (this.runtime.topics.isNative && driver.unsubscribe !== undefined) driver.unsubscribe(this.raw as Raw, engineTopic);
    else this.runtime.topics.remove(engineTopic, this);
  }

  isSubscribed(topic: string): boolean {
    return this.#topics?.has(topic) === true;
  }

  get topics(): string[] {
    return this.#topics === null ? [] : [...this.#topics];
  }

  /** @internal Number of topics, without copying them. */
  get topicCount(): number {
    return this.#topics === null ? 0 : this.#topics.size;
  }

  publish(topic: string, data: SendData, options?: SendOptions): boolean {
    assertTopic(topic);
    return this.runtime.publish(topic, data, options, this as ServerSocket<unknown, unknown>) > 0;
  }

  #engineSubscribe(topic: string): void {
    this.runtime.topicJoined(topic);
    this.#attach(topic);
  }

  /** Hands a subscription to the engine: plainly, through the sequenced twin (a session), or held until the hello. */
  #attach(topic: string): void {
    const flags = this.#flags;
    const sessions = this.runtime.sessions;
    if ((flags & SESSION) !== 0 && sessions !== undefined) sessions.attach(this as ServerSocket<unknown, unknown>, topic);
    else if ((flags & SESSION_OFFERED) !== 0 && sessions !== undefined)
      sessions.hold(this as ServerSocket<unknown, unknown>, topic);
    else this.#engineAdd(topic);
  }

  #engineAdd(engineTopic: string): void {
    const driver = this.runtime.driver as SocketDriver<Raw>;
    if (this.runtime.topics.isNative && driver.subscribe !== undefined) driver.subscribe(this.raw as Raw, engineTopic);
    else this.runtime.topics.add(engineTopic, this);
  }

  /** @internal A session socket starts receiving a topic's sequenced twin. */
  engineSubscribeTwin(topic: string): void {
    this.#engineAdd(sequencedTopic(topic));
  }

  /** @internal A session socket stops receiving a topic's sequenced twin. */
  engineUnsubscribeTwin(topic: string): void {
    this.#engineUnsubscribe(sequencedTopic(topic));
  }

  /** @internal The client said hello: its held subscriptions attach to their streams (replayed from its cursors). */
  sessionStarted(): void {
    this.#flags = (this.#flags & ~SESSION_OFFERED) | SESSION;
    if (this.#topics !== null && (this.#flags & JOINED) !== 0) for (const topic of this.#topics) this.#attach(topic);
  }

  /** @internal The client never said hello: served as a plain socket from now on. */
  sessionDeclined(): void {
    if ((this.#flags & SESSION_OFFERED) === 0) return;
    this.#flags &= ~SESSION_OFFERED;
    const sessions = this.runtime.sessions;
    if (this.#topics === null || (this.#flags & JOINED) === 0) return;
    for (const topic of this.#topics) {
      sessions?.release(this as ServerSocket<unknown, unknown>, topic);
      this.#engineAdd(topic);
    }
  }

  /** @internal Engine publish from this socket (native topics only). */
  enginePublish(topic: string, data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): void {
    (this.runtime.driver as SocketDriver<Raw>).publish?.(this.raw as Raw, topic, data, isBinary, compress);
  }

  on<E extends SocketEvent>(event: E, listener: SocketEventMap[E]): this {
    if (typeof listener !== "function") throw new TypeError(`The "${event}" listener must be a function`);
    if (this.#listeners === null) this.#listeners = {};
    const table = this.#listeners as Record<SocketEvent, unknown[] | undefined>;
    // Copy on write: dispatch iterates the array it read, so no copy per message.
    table[event] = [...(table[event] ?? []), listener];
    if (event === "message" && (this.#flags & AWAIT_LISTENER) !== 0) {
      this.#flags &= ~AWAIT_LISTENER;
      // Deliver what arrived before the listener, after the caller finished attaching listeners.
      if (this.#inbox !== null) queueMicrotask(() => this.#drain());
    }
    return this;
  }

  off<E extends SocketEvent>(event: E, listener: SocketEventMap[E]): this {
    const table = this.#listeners as Record<SocketEvent, unknown[] | undefined> | null;
    const list = table?.[event];
    if (table !== null && list !== undefined) {
      const i = list.indexOf(listener);
      if (i !== -1) table[event] = list.filter((_, j) => j !== i);
    }
    return this;
  }

  // ---- Engine events: called by adapters -------------------------------------------------

  /** The engine opened the connection. Runs the open hook; messages arriving while it is pending are held. */
  engineOpen(raw: Raw, driver: SocketDriver<Raw>): void {
    if (this.readyState === 3) {
      // Abandoned while the engine finished the handshake (the decision came too late): never open it.
      driver.terminate(raw);
      return;
    }
    this.raw = raw;
    // One driver per adapter server: the runtime holds it, not each socket.
    this.runtime.driver = driver as SocketDriver<unknown>;
    if (this.readyState === 2) {
      // Closed by the application before the engine opened it.
      this.runtime.socketOpened(this as ServerSocket<unknown, unknown>);
      const pendingClose = this.#rare?.closeOnOpen ?? null;
      if (pendingClose === null) driver.terminate(raw);
      else driver.close(raw, pendingClose[0], pendingClose[1]);
      return;
    }
    this.#setState(1);
    this.lastActivity = this.runtime.clock.now;
    this.#flags &= ~PINGED;
    // Precise: max lifetime is measured from here, and must never end a connection early.
    this.openedAt = this.runtime.stamp();
    this.runtime.socketOpened(this as ServerSocket<unknown, unknown>);
    this.#flags |= JOINED;
    if ((this.#flags & SESSION_OFFERED) !== 0) this.runtime.sessions?.opened(this as ServerSocket<unknown, unknown>);
    if (this.#topics !== null) for (const topic of this.#topics) this.#engineSubscribe(topic);
    const notice = this.openNotice;
    if (notice !== undefined) {
      this.openNotice = undefined;
      if (notice.refuse) {
        this.#flags |= SILENT;
        if (notice.message !== undefined) this.send(notice.message);
        this.close(notice.code, notice.reason);
        return;
      }
      this.send(notice.message);
    }
    const hook = this.handlers.open;
    if (hook !== undefined) {
      let result: HookResult = undefined;
      try {
        result = hook(this);
      } catch (error) {
        this.reportError(error);
      }
      if (isThenable(result)) {
        // Messages that arrive while an async open runs wait for it.
        this.#flags |= OPENING;
        if (this.#inbox === null) this.#inbox = [];
        result.then(
          () => this.#opened(),
          (error: unknown) => {
            this.reportError(error);
            this.#opened();
          },
        );
      }
    }
    const early = this.#rare?.early ?? null;
    if (early !== null) {
      (this.#rare as RareState).early = null;
      for (const [data, options] of early) this.send(data, options);
    }
  }

  /** A complete message arrived: text as a string, binary as a Buffer the application may keep. */
  engineMessage(message: Message): void {
    const runtime = this.runtime;
    this.lastActivity = runtime.clock.now;
    this.#flags &= ~PINGED;
    // After a server-side close (e.g. failed authentication) late messages are not the application's.
    if ((this.#flags & ENDED) !== 0) return;
    const counters = runtime.counters;
    counters.messagesIn++;
    counters.bytesIn += message.length;
    if ((this.#flags & SESSION_ANY) !== 0) {
      this.#sessionMessage(message);
      return;
    }
    if (runtime.screensMessages && runtime.screen(this as never, message)) return;
    if (this.#inbox !== null) {
      this.#inbox.push(message);
      if ((this.#flags & AWAIT_LISTENER) !== 0) this.#holdBytes(message);
      return;
    }
    if ((this.#flags & AWAIT_LISTENER) !== 0) {
      this.#inbox = [message];
      this.#holdBytes(message);
      return;
    }
    // The common case inline: one hook, no listeners, synchronous.
    const hook = this.handlers.message;
    if (hook !== undefined && this.#listeners === null) {
      let result: unknown;
      try {
        result = hook(this, message);
      } catch (error) {
        this.reportError(error);
        return;
      }
      if (isThenable(result)) this.#track(result);
      return;
    }
    this.#start(message);
  }

  /** A message from a client that offered the protocol: control messages stop here, the rest go on (numbered ones unwrapped). */
  #sessionMessage(message: Message): void {
    const runtime = this.runtime;
    const item = (runtime.sessions as NonNullable<ServerRuntime["sessions"]>).receive(
      this as ServerSocket<unknown, unknown>,
      message,
    );
    if (item === undefined || (this.#flags & ENDED) !== 0) return;
    const request = item instanceof SessionRequest ? item : undefined;
    if (
      runtime.screensMessages &&
      runtime.screen(this as never, request === undefined ? (item as Message) : request.message, request)
    ) {
      return;
    }
    if (this.#inbox !== null) {
      this.#inbox.push(item);
      if ((this.#flags & AWAIT_LISTENER) !== 0) this.#holdBytes(request === undefined ? (item as Message) : request.message);
      return;
    }
    this.#start(item);
  }

  /**
   * The client sent a ping; the engine answered it unless the send buffer was over the limit.
   * `pongDropped` says which when the adapter knows; otherwise core tells from the buffer: over
   * `maxBackpressure` after the engine's answer means dropped (off by one pong, the one that
   * crossed the limit).
   */
  enginePing(data: Buffer, pongDropped?: boolean): void {
    const runtime = this.runtime;
    this.lastActivity = runtime.clock.now;
    this.#flags &= ~PINGED;
    const dropped = pongDropped ?? this.bufferedAmount > runtime.limits.maxBackpressure;
    if (dropped) runtime.counters.pongsDropped++;
    this.#emit("ping", this.handlers.ping, data);
  }

  /** The client answered a ping. */
  enginePong(data: Buffer): void {
    this.lastActivity = this.runtime.clock.now;
    this.#flags &= ~PINGED;
    this.pongedAt = this.runtime.stamp();
    this.#emit("pong", this.handlers.pong, data);
  }

  /**
   * The engine dropped a message for this socket outside `send` (a publish over the socket's
   * backpressure limit). Core counts it and applies `closeOnBackpressureLimit`.
   */
  engineDropped(): void {
    if (this.readyState !== 1) return;
    this.#flags |= WANT_DRAIN;
    this.runtime.counters.sendsDropped++;
    if (this.runtime.limits.closeOnBackpressureLimit && (this.#flags & CLOSE_SCHEDULED) === 0) {
      this.#flags |= CLOSE_SCHEDULED;
      // The engine is in the middle of a fan-out: close after it returns, never inside it.
      setImmediate(() => this.terminateWith(CloseCode.ABNORMAL, CloseReason.BACKPRESSURE_LIMIT));
    }
  }

  /** The send buffer shrank. */
  engineDrain(): void {
    if ((this.#flags & WANT_DRAIN) === 0 || this.readyState !== 1) return;
    if ((this.runtime.driver as SocketDriver<Raw>).bufferedAmount(this.raw as Raw) === 0) this.#flags &= ~WANT_DRAIN;
    this.#emit("drain", this.handlers.drain, undefined);
  }

  /**
   * The connection is over. `code` and `reason` are in contract terms (the adapter maps engine
   * specifics: 1009 message too big, 1007 invalid UTF-8, 1002 protocol error, 1006 abrupt end).
   * After this call the adapter must not be asked to do anything with `raw`.
   */
  engineClose(code: number, reason: string): void {
    this.#setState(3);
    if ((this.#flags & ENDED) !== 0) {
      this.runtime.socketReleased(this as ServerSocket<unknown, unknown>);
      return;
    }
    this.#flags |= ENDED;
    this.#finish(code, reason);
    this.runtime.socketReleased(this as ServerSocket<unknown, unknown>);
  }

  // ---- Internals -----------------------------------------------------------------------

  /** @internal Listeners registered with `on(event)`. */
  listenersFor<E extends SocketEvent>(event: E): SocketEventMap[E][] | undefined {
    return this.#listeners?.[event] as SocketEventMap[E][] | undefined;
  }

  /** @internal Cuts off a socket the engine still holds (a close handshake that never finished). */
  destroy(): void {
    if (this.readyState !== 3 && this.raw !== undefined) (this.runtime.driver as SocketDriver<Raw>).terminate(this.raw);
  }

  /** @internal Routes an error from a hook or listener of this socket to `error`. */
  reportError(error: unknown): void {
    this.runtime.reportSocketError(this as ServerSocket<unknown, unknown>, asError(error));
  }

  #finish(code: number, reason: string): void {
    if (this.#rare !== null) this.#rare.early = null;
    const topics = this.#topics;
    const session = (this.#flags & SESSION) !== 0;
    if (topics !== null) {
      // Engines drop a closed socket's subscriptions themselves; the emulation must be told.
      if (!this.runtime.topics.isNative) {
        for (const topic of topics) this.runtime.topics.remove(session ? sequencedTopic(topic) : topic, this);
      }
      if ((this.#flags & JOINED) !== 0) for (const topic of topics) this.runtime.topicLeft(topic);
    }
    if (this.#rare?.session !== undefined) {
      this.runtime.sessions?.closed(
        this as ServerSocket<unknown, unknown>,
        topics ?? [],
        session && (this.#flags & JOINED) !== 0,
      );
    }
    this.#topics = null;
    this.runtime.socketEnded(this as ServerSocket<unknown, unknown>);
    if ((this.#flags & SILENT) !== 0) return;
    const hook = this.handlers.close;
    if (hook !== undefined) {
      try {
        const result = hook(this, code, reason);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.reportError(error));
      } catch (error) {
        this.reportError(error);
      }
    }
    const listeners = this.#listeners?.close;
    if (listeners !== undefined) {
      for (const listener of listeners) {
        try {
          const result = listener(code, reason);
          if (isThenable(result)) result.then(undefined, (error: unknown) => this.reportError(error));
        } catch (error) {
          this.reportError(error);
        }
      }
    }
  }

  /** Runs the message hook and listeners; returns a promise to wait for when any of them is async. */
  #dispatch(item: Message | SessionRequest): PromiseLike<unknown> | undefined {
    let pending: PromiseLike<unknown> | undefined;
    const hook = this.handlers.message;
    const request = item instanceof SessionRequest ? item : undefined;
    const message = request === undefined ? (item as Message) : request.message;
    if (hook !== undefined) {
      try {
        const result = request === undefined ? hook(this, message) : hook(this, message, request);
        if (isThenable(result)) pending = result;
        request?.settle(result, false);
      } catch (error) {
        this.reportError(error);
        request?.settle(undefined, true);
      }
    } else request?.fail("This server does not answer requests here");
    const listeners = this.#listeners === null ? undefined : this.#listeners.message;
    if (listeners !== undefined && listeners.length > 0) {
      for (const listener of listeners) {
        try {
          const result = listener(message);
          if (isThenable(result)) pending = pending === undefined ? result : Promise.all([pending, result]);
        } catch (error) {
          this.reportError(error);
        }
      }
    }
    return pending;
  }

  /** Messages waiting for a listener are bounded: a route that never listens cannot make us hoard. */
  #holdBytes(message: Message): void {
    const rare = this.#rareState();
    rare.held += message.length;
    if (rare.held > this.runtime.limits.maxBackpressure) {
      this.#inbox = null;
      this.close(CloseCode.POLICY_VIOLATION, "no message listener");
    }
  }

  /** @internal The route that created this socket finished without listening: stop holding messages. */
  listenerless(): void {
    if ((this.#flags & AWAIT_LISTENER) === 0) return;
    this.#flags &= ~AWAIT_LISTENER;
    this.#inbox = null;
  }

  /**
   * @internal The engine will never open this socket (the client left during the upgrade, or the
   * engine refused the handshake): forget it everywhere, without running hooks.
   */
  abandon(): void {
    if (this.raw !== undefined) return;
    if ((this.#flags & ENDED) === 0) {
      this.#flags |= SILENT;
      this.#flags |= ENDED;
      this.#finish(CloseCode.ABNORMAL, "");
    }
    this.#setState(3);
    this.runtime.socketAbandoned(this as ServerSocket<unknown, unknown>);
  }

  /** Runs the message hook; counts it in flight while its promise is pending. */
  #start(message: Message | SessionRequest): void {
    const pending = this.#dispatch(message);
    if (pending !== undefined) this.#track(pending);
  }

  /** Counts a pending message hook in flight; later messages wait when the concurrency limit is reached. */
  #track(pending: PromiseLike<unknown>): void {
    this.#running++;
    if (this.#running >= this.runtime.concurrency && this.#inbox === null) this.#inbox = [];
    pending.then(
      () => this.#settled(),
      (error: unknown) => {
        this.reportError(error);
        this.#settled();
      },
    );
  }

  #settled(): void {
    this.#running--;
    this.#drain();
  }

  #opened(): void {
    this.#flags &= ~OPENING;
    this.#drain();
  }

  /** Starts waiting messages while the concurrency limit allows; in arrival order. */
  #drain(): void {
    const inbox = this.#inbox;
    if (inbox === null) return;
    if ((this.#flags & ENDED) !== 0) {
      // The close hook ran: what was still waiting is not the application's any more.
      this.#inbox = null;
      return;
    }
    if ((this.#flags & OPENING) !== 0 || (this.#flags & AWAIT_LISTENER) !== 0) return;
    const limit = this.runtime.concurrency;
    while (inbox.length > 0 && this.#running < limit) this.#start(inbox.shift() as Message | SessionRequest);
    if (inbox.length === 0 && this.#running < limit && this.#inbox === inbox) this.#inbox = null;
  }

  #emit<E extends "ping" | "pong" | "drain">(
    event: E,
    hook: ((ws: VerbSocket<Data>, data: Buffer) => HookResult) | ((ws: VerbSocket<Data>) => HookResult) | undefined,
    data: Buffer | undefined,
  ): void {
    if (hook !== undefined) {
      try {
        const result = (hook as (ws: VerbSocket<Data>, data: Buffer | undefined) => HookResult)(this, data);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.reportError(error));
      } catch (error) {
        this.reportError(error);
      }
    }
    const listeners = this.#listeners?.[event] as ((data?: Buffer) => HookResult)[] | undefined;
    if (listeners !== undefined) {
      for (const listener of listeners) {
        try {
          const result = listener(data);
          if (isThenable(result)) result.then(undefined, (error: unknown) => this.reportError(error));
        } catch (error) {
          this.reportError(error);
        }
      }
    }
  }
}
