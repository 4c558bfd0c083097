/**
 * The client: one connection at a time to a Verb server, speaking @verb/protocol. It connects at
 * once and reconnects by itself (capped full-jitter backoff, the server's retry window, the
 * close-code policy), starts every connection with the hello/welcome exchange, then re-sends what
 * the server did not acknowledge and flushes the queue in order; it checks every sequenced
 * message against its cursor, answers and watches heartbeats, and settles every request.
 */

import {
  type ClientType,
  type Cursor,
  encodeEscaped,
  encodeNumbered,
  type Gap,
  type Hello,
  issuePath,
  type MessageDefinitions,
  needsEscape,
  openEnvelope,
  type Payload,
  type Reply,
  type ReplyError,
  type ReplyOf,
  readSequenceHeader,
  type SchemaIssue,
  type SchemaResult,
  type StandardSchemaV1,
  type StreamStart,
  SUBPROTOCOL,
  VERSION,
} from "@verb/protocol";
import { type Backoff, backoffDelay, resolveBackoff, spreadDelay } from "./backoff.js";
import { Emitter } from "./emitter.js";
import {
  AbortError,
  ClosedError,
  DroppedError,
  type DropReason,
  type Issue,
  RequestError,
  SubscriptionError,
  TimeoutError,
  ValidationError,
  type VerbClientError,
} from "./errors.js";
import { HEARTBEAT_TEXT, Liveness } from "./heartbeat.js";
import { numberOption } from "./options.js";
import { type AddResult, Outbox, type OutboxEntry } from "./outbox.js";
import { type CloseAction, type CloseReason, classifyClose } from "./policy.js";
import { PendingRequest, type RequestOptions, RequestTable } from "./requests.js";
import type { ClientStorage } from "./storage.js";
import { StreamTracker } from "./streams.js";
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  ClientStats,
  CloseInfo,
  DropInfo,
  IncomingMessage,
  RequestArgs,
  SendData,
  SendOptions,
  SendResult,
  ShutdownNotice,
  StateInfo,
  UrlSource,
  VerbClient,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";

/** A connection open this long resets the backoff. */
const STABLE_MS = 5000;
/** Connections lost in a row right after the oldest held message went out: then it is dropped as refused. */
const STRIKES = 5;
/** Messages received while an async schema validates are held in order, up to this many. */
const MAX_BACKLOG = 10_000;
const CONTROL_PREFIX = '{"type":"verb:';
const PING = '{"type":"verb:ping"}';
/** The server's own messages, delivered even when `messages.server` does not declare them. */
const NOTICES = new Set(["auth", "error"]);

type Subscriber = { resolve: () => void; reject: (error: VerbClientError) => void; timer: ReturnType<typeof setTimeout> };
interface Topic {
  accepted: boolean;
  waiters: Subscriber[];
}

/** A JSON control message as parsed: fields checked where they are used. */
type Control = { type: string } & Record<string, unknown>;

const noop = () => {};

/**
 * Creates a client and connects at once.
 *
 * ```ts
 * const client = createClient("wss://example.com/ws", { messages, token: () => auth.token() });
 * client.on("message", (msg) => render(msg));
 * const user = await client.request("getUser", { id: 7 }, { timeout: 5000 });
 * ```
 *
 * @param url where to connect, or a function called before every attempt.
 * @throws TypeError when there is no WebSocket implementation or the URL is not a ws(s)/http(s) URL.
 */
export function createClient<const D extends MessageDefinitions = MessageDefinitions>(
  url: UrlSource,
  options: ClientOptions<D> = {},
): VerbClient<D> {
  return new Client<D>(url, options);
}

class Client<D extends MessageDefinitions> implements VerbClient<D> {
  readonly #url: UrlSource;
  readonly #options: ClientOptions<D>;
  readonly #WebSocket: WebSocketConstructor;
  readonly #events: Emitter<ClientEvents<D>>;
  readonly #backoff: Backoff | undefined;
  readonly #maxRetries: number;
  readonly #liveness: Liveness;
  readonly #heartbeatMessage: string;
  readonly #heartbeatReply: string;
  readonly #outbox: Outbox<PendingRequest>;
  readonly #ackCount: number;
  readonly #ackBytes: number;
  readonly #requests = new RequestTable();
  readonly #streams: StreamTracker;
  readonly #resume: boolean;
  readonly #topics = new Map<string, Topic>();
  readonly #storage: ClientStorage | undefined;
  readonly #serverSchemas: { readonly [type: string]: StandardSchemaV1 } | undefined;
  readonly #connectTimeout: number;
  readonly #requestTimeout: number;
  readonly #subscribeTimeout: number;
  readonly #saveDelay: number;

  #state: ClientState = "connecting";
  #session: string | null = null;
  #socket: WebSocketLike | undefined;
  /** The current socket got its welcome: sends go straight out. */
  #welcomed = false;
  /** The topics the last hello carried: a subscription made before its welcome was in neither. */
  #helloTopics: ReadonlySet<string> = new Set();
  /** Bumped by every attempt and by close(): a stale attempt sees it and stops. */
  #generation = 0;
  /** Backoff attempts (reset once a connection stayed up for a while). */
  #attempt = 0;
  /** Failed attempts since the last welcome (for `maxRetries`). */
  #failures = 0;
  #openedAt = 0;
  /** An auth-type close already got its one more attempt. */
  #authRetried = false;
  /** This connection's server said authentication failed. */
  #authFailed = false;
  /** The last open connection was lost without a close frame. */
  #lost = false;
  /** This connection's shutdown notice asked to spread reconnects over this many ms. */
  #retryWindow: number | undefined;
  #pingOutstanding = false;
  /** Every message received (the liveness check compares it between ticks). */
  #received = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #loaded: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;
  /** Messages waiting behind an async validation, in order. */
  #backlog: [unknown, string | undefined, number][] | undefined;
  /** Drops noticed inside an outbox operation, reported once it finished. */
  #drops: DropInfo[] = [];
  #counts = { connects: 0, resumed: 0, reconnects: 0, messagesIn: 0, messagesOut: 0, resent: 0 };
  #more = { dropped: 0, released: 0, invalid: 0, errors: 0 };

  constructor(url: UrlSource, options: ClientOptions<D>) {
    if (typeof options !== "object" || options === null) throw new TypeError("createClient: options must be an object");
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof WebSocketImpl !== "function") {
      throw new TypeError("createClient: no WebSocket here; on Node 20 pass { WebSocket } from the ws package");
    }
    if (typeof url !== "function") toSocketUrl(url);
    this.#url = url;
    this.#options = options;
    this.#WebSocket = WebSocketImpl;
    this.#events = new Emitter<ClientEvents<D>>((error, event) => {
      if (event !== "error") this.#report(error);
    });
    this.#backoff = options.reconnect === false ? undefined : resolveBackoff(options.reconnect);
    this.#maxRetries = options.reconnect === false ? 0 : (options.reconnect?.maxRetries ?? Number.POSITIVE_INFINITY);
    this.#liveness = new Liveness(options.heartbeat);
    const heartbeat = options.heartbeat === false ? undefined : options.heartbeat;
    this.#heartbeatMessage = heartbeat?.message ?? HEARTBEAT_TEXT;
    this.#heartbeatReply = heartbeat?.reply ?? HEARTBEAT_TEXT;
    this.#outbox = new Outbox<PendingRequest>(options.outbox, {
      dropped: (entry, reason) => this.#dropped(entry, reason),
      released: () => {
        this.#more.released++;
      },
    });
    this.#ackCount = Math.max(1, Math.floor(this.#outbox.maxMessages / 4));
    this.#ackBytes = this.#outbox.maxBytes / 4;
    this.#resume = options.resume !== false;
    this.#streams = new StreamTracker(typeof options.resume === "object" ? options.resume : undefined, {
      deliver: (payload, stream, seq) => this.#payload(payload, stream, seq),
      replay: (stream, from) => this.#control({ type: "verb:replay", stream, from }),
      discontinuity: (gap) => this.#events.emit("discontinuity", gap),
    });
    this.#storage = this.#resume ? options.storage : undefined;
    this.#serverSchemas = options.messages?.server;
    this.#connectTimeout = numberOption("connectTimeout", options.connectTimeout, 10_000, 1);
    this.#requestTimeout = numberOption("requestTimeout", options.requestTimeout, 10_000, 1);
    this.#subscribeTimeout = numberOption("subscribeTimeout", options.subscribeTimeout, 10_000, 1);
    this.#saveDelay = numberOption("saveDelay", options.saveDelay, 1000, 0);
    if (this.#storage !== undefined) this.#loaded = this.#load(this.#storage);
    this.#watchEnvironment();
    void this.#connect();
  }

  // ---- public API ------------------------------------------------------------------------

  get state(): ClientState {
    return this.#state;
  }

  get session(): string | null {
    return this.#session;
  }

  get topics(): string[] {
    return [...this.#topics.keys()];
  }

  get stats(): ClientStats {
    return {
      ...this.#counts,
      outbox: this.#outbox.count,
      outboxBytes: this.#outbox.bytes,
      queued: this.#outbox.queued,
      ...this.#more,
      duplicates: this.#streams.duplicates,
      replays: this.#streams.replays,
      discontinuities: this.#streams.discontinuities,
      pendingRequests: this.#requests.size,
    };
  }

  cursors(): Record<string, Cursor> {
    return this.#streams.cursors();
  }

  on<E extends keyof ClientEvents<D>>(event: E, listener: ClientEvents<D>[E]): () => void {
    return this.#events.on(event, listener);
  }

  off<E extends keyof ClientEvents<D>>(event: E, listener: ClientEvents<D>[E]): void {
    this.#events.off(event, listener);
  }

  send(data: SendData<D>, options?: SendOptions): SendResult {
    const payload = serialise(data);
    if (this.#state === "closed") return "dropped";
    if (options?.volatile === true) {
      const socket = this.#socket;
      if (this.#welcomed && socket !== undefined) {
        socket.send(needsEscape(payload) ? encodeEscaped(payload) : payload);
        this.#counts.messagesOut++;
        return "sent";
      }
      this.#dropped({ data: payload, request: false, owner: undefined }, "offline");
      this.#reportDrops();
      return "dropped";
    }
    const added = this.#hold(payload, options?.expiresIn, undefined);
    if (added === "rejected") throw new DroppedError("The outbox is full", "full");
    return added === "dropped" ? "dropped" : this.#welcomed ? "sent" : "queued";
  }

  request<Type extends ClientType<D>>(type: Type, ...args: RequestArgs<D, Type>): Promise<ReplyOf<D, Type>> {
    const [payload, options] = args as [Record<string, unknown> | undefined, RequestOptions | undefined];
    if (this.#state === "closed") return Promise.reject(new ClosedError("The client is closed"));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(`The "${type}" request was aborted`, { cause: signal.reason }));
    let text: string;
    try {
      text = JSON.stringify(payload === undefined ? { type } : { type, ...payload });
    } catch (error) {
      return Promise.reject(error);
    }
    let request: PendingRequest | undefined;
    const promise = new Promise<ReplyOf<D, Type>>((resolve, reject) => {
      request = new PendingRequest(type, resolve as (value: unknown) => void, reject);
    });
    const pending = request as unknown as PendingRequest;
    this.#requests.add(pending);
    pending.arm(options?.timeout ?? this.#requestTimeout, signal, this.#giveUp);
    this.#hold(text, options?.expiresIn, pending);
    return promise;
  }

  subscribe(topic: string, options?: { timeout?: number }): Promise<void> {
    let promise: Promise<void>;
    if (this.#state === "closed") promise = Promise.reject(new ClosedError("The client is closed"));
    else if (typeof topic !== "string" || topic.length === 0 || topic.startsWith("verb:")) {
      promise = Promise.reject(new SubscriptionError(`Not a topic a client may subscribe to: ${String(topic)}`, String(topic)));
    } else {
      let entry = this.#topics.get(topic);
      if (entry?.accepted === true) return Promise.resolve();
      if (entry === undefined) {
        entry = { accepted: false, waiters: [] };
        this.#topics.set(topic, entry);
        if (this.#welcomed) this.#control({ type: "verb:sub", topic });
      }
      const waiters = entry.waiters;
      const timeout = options?.timeout ?? this.#subscribeTimeout;
      promise = new Promise<void>((resolve, reject) => {
        const waiter: Subscriber = {
          resolve,
          reject,
          timer: setTimeout(() => {
            const at = waiters.indexOf(waiter);
            if (at !== -1) waiters.splice(at, 1);
            reject(new TimeoutError(`No answer to the subscription of "${topic}" within ${timeout} ms`, timeout));
          }, timeout),
        };
        waiters.push(waiter);
      });
    }
    // Ignoring the promise is fine: a refusal never becomes an unhandled rejection.
    promise.catch(noop);
    return promise;
  }

  unsubscribe(topic: string): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    this.#topics.delete(topic);
    settle(entry, new SubscriptionError(`Unsubscribed from "${topic}" before the server answered`, topic));
    if (this.#welcomed) this.#control({ type: "verb:unsub", topic });
    this.#streams.forget(topic);
  }

  reconnect(): void {
    if (this.#state === "closed") return;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      void this.#connect();
      return;
    }
    this.#abandon("reconnect");
  }

  close(code = 1000, reason = ""): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = this.#stop({ code, reason: "client", message: reason, attempt: this.#attempt, delay: 0 }, code, reason);
    return this.#closing;
  }

  // ---- connecting ------------------------------------------------------------------------

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    if (generation > 1) this.#counts.reconnects++;
    this.#connectTimer = setTimeout(() => {
      if (generation === this.#generation) this.#abandon("timeout");
    }, this.#connectTimeout);
    let url: string;
    let token: string | null | undefined;
    try {
      if (this.#loaded !== undefined) await this.#loaded;
      const source = this.#url;
      url = toSocketUrl(typeof source === "function" ? await source() : source);
      token = this.#options.token === undefined ? undefined : await this.#options.token();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#report(error);
      this.#ended(1006, "", "error");
      return;
    }
    if (generation !== this.#generation) return;
    const protocols = [SUBPROTOCOL, ...(this.#options.protocols ?? [])];
    let init: { headers: Record<string, string> } | undefined;
    if (token !== undefined && token !== null && token !== "") {
      const carrier = this.#options.tokenCarrier ?? "protocol";
      if (carrier === "protocol") protocols.push(this.#options.authProtocol ?? "bearer", token);
      else if (carrier === "query") {
        const withToken = new URL(url);
        withToken.searchParams.set("token", token);
        url = withToken.href;
      } else init = { headers: { Authorization: `Bearer ${token}` } };
    }
    let socket: WebSocketLike;
    try {
      socket = (
        init === undefined ? new this.#WebSocket(url, protocols) : new this.#WebSocket(url, protocols, init)
      ) as WebSocketLike;
    } catch (error) {
      this.#report(error);
      this.#ended(1006, "", "error");
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      if (socket === this.#socket) this.#hello(socket);
    };
    socket.onmessage = this.#onMessage;
    socket.onerror = (event) => {
      if (socket !== this.#socket) return;
      // ws tells why an upgrade failed: 401/403 is an authentication failure, not a network one.
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === "string" && /Unexpected server response: 40[13]\b/.test(message)) this.#authFailed = true;
    };
    socket.onclose = (event) => {
      if (socket === this.#socket) this.#ended(event.code, event.reason ?? "", undefined);
    };
  }

  #hello(socket: WebSocketLike): void {
    if (!this.#resume) this.#streams.clear();
    const hello: Hello = {
      type: "verb:hello",
      v: VERSION,
      session: this.#resume ? this.#session : null,
      cursors: this.#resume ? this.#streams.cursors() : {},
      topics: [...this.#topics.keys()],
    };
    this.#helloTopics = new Set(hello.topics);
    socket.send(JSON.stringify(hello));
  }

  #welcome(welcome: Control): void {
    const socket = this.#socket;
    if (this.#welcomed || socket === undefined || typeof welcome.session !== "string") return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    const resumed = welcome.resumed === true;
    const received = Number.isSafeInteger(welcome.received) ? (welcome.received as number) : 0;
    this.#session = welcome.session;
    this.#counts.connects++;
    if (resumed) this.#counts.resumed++;
    else {
      // A new session counts from 1 again: what was not acknowledged gets new numbers (at least once).
      this.#outbox.restart();
      this.#requests.forgetNumbers();
    }
    this.#outbox.acknowledge(received);
    this.#strike();
    this.#welcomed = true;
    // (Un)subscriptions made after the hello went out and before this welcome reached neither.
    for (const topic of this.#topics.keys()) if (!this.#helloTopics.has(topic)) this.#control({ type: "verb:sub", topic });
    for (const topic of this.#helloTopics) if (!this.#topics.has(topic)) this.#control({ type: "verb:unsub", topic });
    this.#authRetried = false;
    this.#failures = 0;
    const now = Date.now();
    this.#openedAt = now;
    this.#pingOutstanding = false;
    this.#liveness.start(now, this.#received);
    this.#tickTimer = setInterval(this.#tick, this.#liveness.tickMs);
    // The welcome came first; now what the server did not get, then the queue, in order.
    this.#flush();
    this.#save();
    const attempt = this.#attempt;
    this.#setState("open", { code: 0, reason: undefined, message: "", attempt, delay: 0 });
    if (this.#welcomed) this.#events.emit("open", { resumed, session: welcome.session, attempt });
  }

  /** A connection ended (or an attempt failed): reconnect or stop, by the policy. */
  #ended(code: number, message: string, forced: CloseReason | undefined): void {
    const socket = this.#socket;
    if (socket !== undefined) detach(socket);
    this.#socket = undefined;
    const welcomed = this.#welcomed;
    this.#welcomed = false;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    clearInterval(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#outbox.rewind();
    this.#streams.reset();
    this.#pingOutstanding = false;
    if (welcomed && Date.now() - this.#openedAt >= STABLE_MS) this.#attempt = 0;
    if (welcomed) this.#save();
    const verdict: { reason: CloseReason; action: CloseAction } =
      forced === undefined
        ? classifyClose(code, message, {
            authFailed: this.#authFailed,
            shutdownNotice: this.#retryWindow !== undefined,
            closeCodes: this.#options.closeCodes,
          })
        : { reason: forced, action: "reconnect" };
    if (welcomed) this.#lost = verdict.reason === "lost";
    const retryWindow = this.#retryWindow;
    this.#authFailed = false;
    this.#retryWindow = undefined;
    let reconnect = verdict.action !== "stop";
    if (verdict.action === "auth") {
      // One more attempt: the token provider runs again before it.
      if (this.#authRetried) reconnect = false;
      this.#authRetried = true;
    }
    const info: CloseInfo = { code, reason: verdict.reason, message, attempt: this.#attempt + (forced === "reconnect" ? 0 : 1) };
    if (this.#backoff !== undefined && this.#options.shouldReconnect !== undefined) {
      try {
        const decided = this.#options.shouldReconnect(info);
        if (decided !== undefined) reconnect = decided;
      } catch (error) {
        this.#report(error);
      }
    }
    if (this.#backoff === undefined) reconnect = false;
    else if (reconnect && this.#failures >= this.#maxRetries) {
      void this.#stop({ ...info, reason: "retries", delay: 0 });
      return;
    }
    if (!reconnect) {
      void this.#stop({ ...info, delay: 0 });
      return;
    }
    const backoff = this.#backoff as Backoff;
    const delay =
      verdict.reason === "shutdown" && retryWindow !== undefined
        ? spreadDelay(retryWindow)
        : forced === "reconnect" || forced === "wake"
          ? 0
          : backoffDelay(this.#attempt, backoff);
    // Asked for (reconnect(), visible again, back online): not a failure, the backoff does not grow.
    if (forced !== "reconnect") {
      this.#attempt++;
      this.#failures++;
    }
    this.#setState("reconnecting", { ...info, delay });
    if (this.#state !== "reconnecting") return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, delay);
  }

  /** Gives up on the current socket (dead, asleep, replaced, too slow): the close handshake is not awaited. */
  #abandon(reason: CloseReason): void {
    const socket = this.#socket;
    if (socket !== undefined) {
      detach(socket);
      this.#socket = undefined;
      closeQuietly(socket, reason === "reconnect" ? 1000 : 4000, reason);
    }
    this.#ended(reason === "reconnect" ? 1000 : 1006, "", reason);
  }

  /** Stops for good. */
  async #stop(info: StateInfo, code = 1000, reason = ""): Promise<void> {
    this.#generation++;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    clearInterval(this.#tickTimer);
    clearTimeout(this.#saveTimer);
    this.#retryTimer = this.#connectTimer = this.#tickTimer = this.#saveTimer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#welcomed = false;
    this.#backlog = undefined;
    let socketClosed: Promise<void> | undefined;
    if (socket !== undefined) {
      detach(socket);
      socketClosed = closeAndWait(socket, code, reason);
    }
    const wasClosed = this.#state === "closed";
    this.#state = "closed";
    if (!wasClosed) this.#events.emit("state", "closed", info);
    this.#requests.rejectAll(() => new ClosedError("The client is closed"));
    for (const [topic, entry] of this.#topics) {
      this.#topics.delete(topic);
      settle(entry, new ClosedError("The client is closed"));
    }
    this.#outbox.clear();
    this.#streams.reset();
    await Promise.all([socketClosed, this.#save()]);
  }

  // ---- receiving -------------------------------------------------------------------------

  readonly #onMessage = (event: { data: unknown }): void => {
    this.#received++;
    const data = event.data;
    if (typeof data === "string") {
      const first = data.charCodeAt(0);
      if (first === 0x1e && this.#welcomed) this.#textEnvelope(data);
      else if (first === 0x7b && data.startsWith(CONTROL_PREFIX)) this.#controlMessage(data);
      else if (data === this.#heartbeatMessage) this.#answerHeartbeat();
      else this.#text(data, undefined, 0);
      return;
    }
    const bytes = toBytes(data);
    if (bytes === undefined) return;
    if (bytes[0] === 0x1e && this.#welcomed) this.#binaryEnvelope(bytes);
    else this.#deliver(bytes, undefined, 0);
  };

  #textEnvelope(frame: string): void {
    const nl = frame.indexOf("\n", 1);
    if (nl === -1) this.#text(frame, undefined, 0);
    else if (nl === 1) this.#text(frame.slice(2), undefined, 0);
    else if (frame.charCodeAt(1) !== 0x22 || !this.#streams.receiveText(frame, nl)) this.#text(frame.slice(nl + 1), undefined, 0);
  }

  #binaryEnvelope(bytes: Uint8Array): void {
    const envelope = openEnvelope(bytes);
    if (envelope === undefined) {
      this.#deliver(bytes, undefined, 0);
      return;
    }
    const header = envelope.header === "" ? undefined : readSequenceHeader(envelope.header);
    if (header === undefined) this.#payload(envelope.payload, undefined, 0);
    else this.#streams.receive(header.stream, header.seq, header.skip ? undefined : envelope.payload);
  }

  #payload(payload: Payload, stream: string | undefined, seq: number): void {
    if (typeof payload === "string") this.#text(payload, stream, seq);
    else this.#deliver(payload, stream, seq);
  }

  /** Text: JSON objects and arrays parsed, anything else as it is. */
  #text(text: string, stream: string | undefined, seq: number): void {
    const first = text.charCodeAt(0);
    if (first !== 0x7b && first !== 0x5b) {
      this.#deliver(text, stream, seq);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#deliver(text, stream, seq);
      return;
    }
    if (stream === undefined && first === 0x7b && this.#notice(value as Record<string, unknown>)) return;
    this.#deliver(value, stream, seq);
  }

  /** The server's own plain messages: the shutdown notice (consumed) and authentication failures (noted). */
  #notice(value: Record<string, unknown>): boolean {
    const type = value.type;
    if (type === "server_shutdown" || typeof value.retryWindowMs === "number") {
      const window = value.retryWindowMs;
      this.#retryWindow = typeof window === "number" && window >= 0 && Number.isFinite(window) ? window : 0;
      this.#events.emit("shutdown", value as ShutdownNotice);
      return true;
    }
    if (type === "auth" && value.status === "error") this.#authFailed = true;
    return false;
  }

  /** Validates (when server messages are declared) and hands a message to the listeners, in order. */
  #deliver(value: unknown, stream: string | undefined, seq: number): void {
    if (this.#backlog !== undefined) {
      if (this.#backlog.length >= MAX_BACKLOG) {
        this.#more.invalid++;
        this.#report(new ValidationError("Too many messages waiting for an async validation: dropped", [], value));
        return;
      }
      this.#backlog.push([value, stream, seq]);
      return;
    }
    const pending = this.#check(value, stream, seq);
    if (pending !== undefined) {
      this.#backlog = [];
      pending.then(() => this.#drainBacklog());
    }
  }

  #drainBacklog(): void {
    const backlog = this.#backlog;
    if (backlog === undefined) return;
    for (let item = backlog.shift(); item !== undefined; item = backlog.shift()) {
      const pending = this.#check(item[0], item[1], item[2]);
      if (pending !== undefined) {
        pending.then(() => this.#drainBacklog());
        return;
      }
    }
    this.#backlog = undefined;
  }

  /** Delivers now, or returns the promise of an async validation that will. */
  #check(value: unknown, stream: string | undefined, seq: number): Promise<void> | undefined {
    const schemas = this.#serverSchemas;
    if (schemas === undefined || typeof value !== "object" || value === null || value instanceof Uint8Array) {
      this.#emitMessage(value, stream, seq);
      return undefined;
    }
    const type = (value as { type?: unknown }).type;
    const schema = typeof type === "string" && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
    if (schema === undefined) {
      if (typeof type === "string" && NOTICES.has(type)) this.#emitMessage(value, stream, seq);
      else this.#invalid(`Undeclared server message type: ${typeof type === "string" ? type : "(none)"}`, [], value);
      return undefined;
    }
    const result = schema["~standard"].validate(value);
    if (!isThenable(result)) {
      this.#validated(result, type as string, value, stream, seq);
      return undefined;
    }
    return Promise.resolve(result).then(
      (settled) => this.#validated(settled, type as string, value, stream, seq),
      (error: unknown) => this.#invalid(`The ${String(type)} schema failed: ${String(error)}`, [], value),
    );
  }

  #validated(result: SchemaResult<unknown>, type: string, value: unknown, stream: string | undefined, seq: number): void {
    if (this.#state === "closed") return;
    if (result.issues !== undefined)
      this.#invalid(`Invalid ${type} message: ${summary(result.issues)}`, issues(result.issues), value);
    else {
      const output = result.value;
      // A schema that does not declare `type` drops it: put it back, listeners switch on it.
      if (typeof output === "object" && output !== null && (output as { type?: unknown }).type === undefined) {
        (output as { type: string }).type = type;
      }
      this.#emitMessage(output, stream, seq);
    }
  }

  #invalid(message: string, found: Issue[], value: unknown): void {
    this.#more.invalid++;
    this.#report(new ValidationError(message, found, value));
  }

  #emitMessage(value: unknown, stream: string | undefined, seq: number): void {
    const listeners = this.#events.listeners("message");
    if (listeners === undefined) return;
    this.#counts.messagesIn++;
    const message = value as IncomingMessage<D>;
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as ClientEvents<D>["message"])(message, stream, seq);
      } catch (error) {
        this.#events.failed(error, "message");
      }
    }
  }

  #controlMessage(text: string): void {
    let message: Control;
    try {
      message = JSON.parse(text) as Control;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (message.type === "verb:welcome") {
      this.#welcome(message);
      return;
    }
    if (!this.#welcomed) return;
    switch (message.type) {
      case "verb:stream":
        if (typeof message.stream === "string" && typeof message.epoch === "string" && Number.isSafeInteger(message.seq)) {
          this.#streams.started(message as unknown as StreamStart);
        }
        return;
      case "verb:gap":
        if (typeof message.stream === "string" && Number.isSafeInteger(message.from)) {
          this.#streams.gap(message as unknown as Gap);
        }
        return;
      case "verb:subscribed":
        if (typeof message.topic === "string") this.#subscribed(message.topic);
        return;
      case "verb:refused":
        if (typeof message.topic === "string") this.#refused(message.topic, String(message.message ?? "refused"));
        return;
      case "verb:pong":
        this.#pingOutstanding = false;
        if (Number.isSafeInteger(message.received)) this.#outbox.acknowledge(message.received as number);
        this.#askForAck();
        return;
      case "verb:res":
        if (Number.isSafeInteger(message.n)) this.#reply(message as unknown as Reply);
        return;
    }
  }

  #reply(reply: Reply): void {
    // The server answers in order: a reply to n means it received everything up to n.
    this.#outbox.acknowledge(reply.n);
    const request = this.#requests.take(reply.n);
    if (request === undefined) return;
    if (request.entry !== undefined) this.#outbox.remove(request.entry);
    if (reply.ok !== true) {
      const error: Partial<ReplyError> = typeof reply.error === "object" && reply.error !== null ? reply.error : {};
      request.reject(
        new RequestError(
          typeof error.message === "string" ? error.message : "The request failed",
          Array.isArray(error.issues) ? error.issues : undefined,
          typeof error.retryAfterMs === "number" ? error.retryAfterMs : undefined,
        ),
      );
      return;
    }
    const schema = this.#options.messages?.client?.[request.type]?.reply;
    if (schema === undefined) {
      request.resolve(reply.data);
      return;
    }
    const check = (result: SchemaResult<unknown>) => {
      if (result.issues === undefined) request.resolve(result.value);
      else {
        this.#more.invalid++;
        request.reject(
          new ValidationError(`Invalid reply to ${request.type}: ${summary(result.issues)}`, issues(result.issues), reply.data),
        );
      }
    };
    const result = schema["~standard"].validate(reply.data);
    if (isThenable(result)) {
      Promise.resolve(result).then(check, (error: unknown) =>
        request.reject(new ValidationError(`The reply schema of ${request.type} failed: ${String(error)}`, [], reply.data)),
      );
    } else check(result);
  }

  #subscribed(topic: string): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    entry.accepted = true;
    settle(entry, undefined);
  }

  #refused(topic: string, message: string): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    this.#topics.delete(topic);
    this.#streams.forget(topic);
    const error = new SubscriptionError(`Subscription to "${topic}" refused: ${message}`, topic);
    // Refused on a re-subscription nobody waits for: tell the application.
    if (entry.accepted || entry.waiters.length === 0) this.#report(error);
    settle(entry, error);
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Holds a message in the outbox (dropping by its policy) and sends it when the connection is open. */
  #hold(data: Payload, expiresIn: number | undefined, owner: PendingRequest | undefined): AddResult {
    const now = Date.now();
    const entry: OutboxEntry<PendingRequest> = {
      data,
      size: sizeOf(data),
      n: 0,
      request: owner !== undefined,
      expires: expiresIn === undefined ? 0 : now + Math.max(1, expiresIn),
      owner,
      live: true,
    };
    if (owner !== undefined) owner.entry = entry;
    const added = this.#outbox.add(entry, now);
    if (added !== "held") this.#dropped(entry, "full");
    else if (this.#welcomed) this.#flush();
    this.#reportDrops();
    return added;
  }

  /**
   * A poison message: the connection was lost without a close frame, and the oldest message the
   * new welcome does not acknowledge had gone out on it. The fifth time, it is dropped: some
   * engines (uWS) cut the connection without a 1009 on a message over their limit, and re-sending
   * it forever would cut every connection.
   */
  #strike(): void {
    const lost = this.#lost;
    this.#lost = false;
    const suspect = this.#outbox.oldest();
    if (!lost || suspect === undefined || suspect.n === 0) return;
    suspect.strikes = (suspect.strikes ?? 0) + 1;
    if (suspect.strikes < STRIKES) return;
    this.#outbox.remove(suspect);
    this.#dropped(suspect, "refused");
  }

  /** Writes what the current connection has not had yet, in order. */
  #flush(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#outbox.flush(Date.now(), (entry) => {
      socket.send(encodeNumbered(entry.n, entry.data, entry.request));
      this.#counts.messagesOut++;
      if (entry.owner !== undefined) this.#requests.sent(entry.owner, entry.n);
    });
    this.#counts.resent = this.#outbox.resent;
    this.#reportDrops();
    this.#askForAck();
  }

  /** Many messages unacknowledged: a ping gets the server's count (and lets the outbox shrink). */
  #askForAck(): void {
    if (this.#outbox.count >= this.#ackCount || this.#outbox.bytes >= this.#ackBytes) this.#ping();
  }

  #ping(): void {
    if (this.#pingOutstanding || !this.#welcomed) return;
    this.#pingOutstanding = true;
    this.#socket?.send(PING);
  }

  #control(message: { type: `verb:${string}` } & Record<string, unknown>): void {
    if (this.#welcomed) this.#socket?.send(JSON.stringify(message));
  }

  #answerHeartbeat(): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== 1) return;
    const reply = this.#heartbeatReply;
    socket.send(needsEscape(reply) ? (encodeEscaped(reply) as string) : reply);
  }

  readonly #giveUp = (request: PendingRequest, error: VerbClientError): void => {
    this.#requests.remove(request);
    if (request.entry !== undefined) this.#outbox.remove(request.entry);
    request.reject(error);
  };

  #dropped(entry: Pick<OutboxEntry<PendingRequest>, "data" | "request" | "owner">, reason: DropReason): void {
    this.#more.dropped++;
    const owner = entry.owner;
    if (owner !== undefined) {
      this.#requests.remove(owner);
      owner.reject(new DroppedError(`The "${owner.type}" request was dropped from the outbox (${reason})`, reason));
    }
    this.#drops.push({ reason, data: entry.data, request: entry.request });
  }

  /** Reports drops after the outbox operation that caused them (listeners may send again). */
  #reportDrops(): void {
    if (this.#drops.length === 0) return;
    const drops = this.#drops;
    this.#drops = [];
    for (const drop of drops) this.#events.emit("drop", drop);
  }

  // ---- time ------------------------------------------------------------------------------

  readonly #tick = (): void => {
    const now = Date.now();
    const verdict = this.#liveness.check(now, this.#received, isHidden());
    if (verdict === "dead") {
      this.#abandon("timeout");
      return;
    }
    if (verdict === "wake") {
      this.#abandon("wake");
      return;
    }
    if (verdict === "ping") this.#ping();
    this.#streams.tick(now);
    if (this.#streams.dirty && this.#storage !== undefined && this.#saveTimer === undefined) {
      this.#saveTimer = setTimeout(() => {
        this.#saveTimer = undefined;
        void this.#save();
      }, this.#saveDelay);
    }
  };

  #setState(state: ClientState, info: StateInfo): void {
    this.#state = state;
    this.#events.emit("state", state, info);
  }

  /** The page became visible or the network came back: retry now, or check the connection. */
  #nudge(): void {
    if (this.#state === "closed") return;
    if (this.#retryTimer !== undefined) {
      this.reconnect();
      return;
    }
    if (this.#welcomed) {
      this.#liveness.probe(Date.now(), this.#received);
      this.#pingOutstanding = false;
      this.#ping();
    }
  }

  #watchEnvironment(): void {
    const scope = globalThis as unknown as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
      document?: {
        hidden?: boolean;
        addEventListener?: (type: string, listener: () => void) => void;
        removeEventListener?: (type: string, listener: () => void) => void;
      };
    };
    const document = scope.document;
    if (
      document === undefined ||
      typeof document.addEventListener !== "function" ||
      typeof scope.addEventListener !== "function"
    ) {
      return;
    }
    const onVisibility = () => {
      if (document.hidden !== true) this.#nudge();
    };
    const onOnline = () => this.#nudge();
    const onHide = () => void this.#save();
    document.addEventListener("visibilitychange", onVisibility);
    scope.addEventListener("online", onOnline);
    scope.addEventListener("pagehide", onHide);
    this.#unwatch = () => {
      document.removeEventListener?.("visibilitychange", onVisibility);
      scope.removeEventListener?.("online", onOnline);
      scope.removeEventListener?.("pagehide", onHide);
    };
  }

  // ---- storage ---------------------------------------------------------------------------

  async #load(storage: ClientStorage): Promise<void> {
    try {
      const snapshot = await storage.load();
      if (snapshot === undefined) return;
      if (typeof snapshot.session === "string") this.#session = snapshot.session;
      if (typeof snapshot.cursors === "object" && snapshot.cursors !== null) this.#streams.load(snapshot.cursors);
      this.#streams.dirty = false;
    } catch (error) {
      this.#report(error);
    }
  }

  /** Saves the session and cursors now; failures go to `error`. */
  async #save(): Promise<void> {
    const storage = this.#storage;
    if (storage === undefined) return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.#streams.dirty = false;
    try {
      await storage.save({ session: this.#session, cursors: this.#streams.cursors() });
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    this.#more.errors++;
    this.#events.emit("error", error instanceof Error ? error : new Error(String(error)));
  }
}

// ---- helpers -------------------------------------------------------------------------------

/** A URL the WebSocket constructor takes: ws(s), with http(s) converted; relative to the page in browsers. */
function toSocketUrl(source: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const url = new URL(String(source), base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:")
    throw new TypeError(`createClient: not a WebSocket URL: ${String(source)}`);
  return url.href;
}

function serialise(data: unknown): Payload {
  if (typeof data === "string") return data;
  // Bytes are copied: the outbox keeps them for a re-send, whatever the caller does with its buffer.
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const text = JSON.stringify(data);
  if (typeof text !== "string") throw new TypeError("send: the message cannot be serialised as JSON");
  return text;
}

function sizeOf(payload: Payload): number {
  return typeof payload === "string" ? payload.length : payload.byteLength;
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function issues(found: ReadonlyArray<SchemaIssue>): Issue[] {
  return found.map((issue) => ({ path: issuePath(issue), message: issue.message }));
}

function summary(found: ReadonlyArray<SchemaIssue>): string {
  return issues(found)
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join("; ");
}

function settle(entry: Topic, error: VerbClientError | undefined): void {
  const waiters = entry.waiters.splice(0);
  for (const waiter of waiters) {
    clearTimeout(waiter.timer);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
}

function isHidden(): boolean {
  return (globalThis as { document?: { hidden?: boolean } }).document?.hidden === true;
}

/** Stops listening to a socket (a late error event still has a listener: ws would throw without one). */
function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = noop;
}

function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  try {
    const terminate = (socket as { terminate?: () => void }).terminate;
    if (typeof terminate === "function") terminate.call(socket);
    else socket.close(code, reason);
  } catch {
    // Already closed, or a code the implementation refuses: nothing more to do.
  }
}

/** Closes a socket and waits (at most 1 s) for its close event. */
function closeAndWait(socket: WebSocketLike, code: number, reason: string): Promise<void> {
  if (socket.readyState === 3) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, 1000);
    function done() {
      clearTimeout(timer);
      socket.onclose = null;
      resolve();
    }
    socket.onclose = done;
    try {
      socket.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
    } catch {
      done();
    }
  });
}
