/**
 * Sessions of the Verb protocol (@verb/protocol): a client that offered the `verb.v1` subprotocol
 * starts with `verb:hello`; from then on its messages are numbered (exactly once: repeats are
 * dropped, a repeated request is answered from a cache), requests get replies, and every stream it
 * follows (its user, its client id, the topics it or the application subscribed) reaches it
 * sequenced, replayed from the history after a reconnect: exactly what it missed, in order, before
 * anything new.
 */

import {
  type Cursor,
  encodeEscaped,
  encodeSequenced,
  type Gap,
  type Hello,
  needsEscape,
  openEnvelope,
  type Payload,
  type Reply,
  type ReplyError,
  readNumberHeader,
  type ServerControl,
  type StreamStart,
  VERSION,
  type Welcome,
} from "@verb/protocol";
import type { DurableLog, SequencedMessage } from "./backplane.js";
import { CloseCode, CloseReason } from "./close.js";
import { asError, isThenable } from "./guards.js";
import type { IncomingRequest, Message } from "./handlers.js";
import { log } from "./logger.js";
import type { ServerRuntime } from "./runtime.js";
import type { ServerSocket } from "./socket.js";
import { type StreamTable, skipFrame } from "./streams.js";
import { since } from "./time.js";

type AnySocket = ServerSocket<unknown, unknown>;

/** A client has this long after the upgrade to say hello; then it is served as a plain socket. */
export const HELLO_TIMEOUT_MS = 5000;
/** Replies kept per session for requests repeated after a reconnect. */
const REPLIES_KEPT = 256;
/** Most cursors and topics a hello may carry. */
const HELLO_LIMIT = 10_000;

/** Topic of the twin through which a topic's followers get its messages sequenced. */
export function sequencedTopic(topic: string): string {
  return `verb:seq:${topic}`;
}

/** What outlives a connection: the session's position in what its client sent, and recent replies. */
interface SessionRecord {
  readonly id: string;
  /** The number of the last client message received. */
  received: number;
  /** Replies by request number; `undefined` while the request runs. */
  readonly replies: Map<number, string | undefined>;
  /** The socket that speaks for the session now. */
  socket: AnySocket | undefined;
  /** When it may be forgotten (ms since the epoch), once no socket speaks for it. */
  expires: number;
  /** The authenticated user it belongs to (`ws.data.user.id`), if any: only that user resumes it. */
  readonly user: unknown;
}

/** A socket's side of its session. */
export interface SocketSession {
  record: SessionRecord | undefined;
  /** The client's cursors from its hello, used as each stream attaches. */
  cursors: Record<string, Cursor>;
  /** Before the hello: each topic subscribed and the stream's position at that moment. */
  held: Map<string, number>;
  /** Topics the client subscribed itself (`verb:sub`). */
  readonly clientTopics: Set<string>;
}

/** A request of a session client, handed to the message hook as its third argument. */
export class SessionRequest implements IncomingRequest {
  readonly id: number;
  readonly message: Message;
  readonly #record: SessionRecord;
  readonly #hub: SessionHub;
  #answered = false;

  constructor(hub: SessionHub, record: SessionRecord, id: number, message: Message) {
    this.#hub = hub;
    this.#record = record;
    this.id = id;
    this.message = message;
  }

  get answered(): boolean {
    return this.#answered;
  }

  reply(data: unknown): void {
    this.#answer({ type: "verb:res", n: this.id, ok: true, data: data === undefined ? null : data });
  }

  fail(error: string | ReplyError): void {
    const detail: ReplyError = typeof error === "string" ? { message: error } : error;
    this.#answer({ type: "verb:res", n: this.id, ok: false, error: detail });
  }

  /** @internal The hook returned (or threw): answer with its result unless it answered itself. */
  settle(result: unknown, failed: boolean): void {
    if (this.#answered) return;
    if (failed) {
      this.fail("Internal error");
      return;
    }
    if (!isThenable(result)) {
      this.reply(result);
      return;
    }
    result.then(
      (value) => {
        if (!this.#answered) this.reply(value);
      },
      () => {
        if (!this.#answered) this.fail("Internal error");
      },
    );
  }

  #answer(reply: Reply): void {
    if (this.#answered) return;
    this.#answered = true;
    let text: string;
    try {
      text = JSON.stringify(reply);
    } catch (error) {
      text = JSON.stringify({
        type: "verb:res",
        n: this.id,
        ok: false,
        error: { message: `The reply could not be serialised: ${asError(error).message}` },
      } satisfies Reply);
    }
    this.#hub.answered(this.#record, this.id, text);
  }
}

/** The sessions of one server. */
export class SessionHub {
  readonly #runtime: ServerRuntime;
  readonly #records = new Map<string, SessionRecord>();
  /** Sockets that offered the protocol and have not said hello yet. */
  readonly #awaitingHello = new Set<AnySocket>();
  /**
   * Client subscriptions accepted but not yet confirmed: `verb:subscribed` follows the stream's
   * `verb:stream`, so a client whose subscribe resolved always holds a cursor for it (with a
   * durable log the start comes from Redis; a reconnect before it would otherwise start "now").
   */
  readonly #unconfirmed = new WeakMap<AnySocket, Set<string>>();

  constructor(runtime: ServerRuntime) {
    this.#runtime = runtime;
  }

  get streams(): StreamTable {
    return this.#runtime.streams;
  }

  /** The socket that speaks for a session on this instance, if any. */
  socketOf(session: string): AnySocket | undefined {
    return this.#records.get(session)?.socket;
  }

  /** Sessions known (connected or waiting for their client to come back). */
  get size(): number {
    return this.#records.size;
  }

  // ---- the socket's life ----------------------------------------------------------------

  /** A socket that offered the protocol opened: it has a few seconds to say hello. */
  opened(socket: AnySocket): void {
    this.#awaitingHello.add(socket);
  }

  /** Holds a topic subscribed before the hello: the stream records from now on. */
  hold(socket: AnySocket, topic: string): void {
    const session = socket.session as SocketSession;
    if (session.held.has(topic)) return;
    const stream = this.streams.open(topic);
    stream.followers++;
    session.held.set(topic, stream.seq);
  }

  /** Lets go of a held topic (unsubscribed, or the socket turned out to be plain, or closed). */
  release(socket: AnySocket, topic: string): void {
    const session = socket.session as SocketSession;
    if (!session.held.delete(topic)) return;
    this.#unfollow(topic);
  }

  /**
   * Attaches a session socket to a topic's stream: the stream's start, what the client missed
   * (from its cursor, or from the moment it subscribed), then live messages through the twin.
   * With a durable log the history comes from the log when this instance's cache cannot answer.
   */
  attach(socket: AnySocket, topic: string): void {
    const session = socket.session as SocketSession;
    const stream = this.streams.open(topic);
    let position = session.held.get(topic);
    if (position === undefined) {
      stream.followers++;
      position = stream.seq;
    } else session.held.delete(topic);
    const cursor = session.cursors[topic];
    if (cursor !== undefined) delete session.cursors[topic];
    const log = this.#runtime.backplane?.log;
    // With a durable log this instance's cache may lag behind a cursor the client got elsewhere:
    // only the log can then say where the stream is (announcing the cache's position would read as a reset).
    const cached =
      stream.epoch !== "" &&
      (cursor === undefined ||
        (cursor.epoch === stream.epoch && cursor.seq + 1 >= stream.oldest && (log === undefined || cursor.seq <= stream.seq)));
    if (log !== undefined && !cached) {
      void this.#attachFromLog(socket, topic, log, cursor);
      return;
    }
    let from = position;
    if (cursor !== undefined) {
      if (cursor.epoch === stream.epoch) from = Math.min(cursor.seq, stream.seq);
      else {
        this.#epochGap(socket, topic, cursor);
        from = 0;
      }
    }
    this.#control(socket, { type: "verb:stream", stream: topic, epoch: stream.epoch, seq: from } satisfies StreamStart);
    this.#confirm(socket, topic);
    this.#replay(socket, topic, from);
    socket.engineSubscribeTwin(topic);
  }

  /** Sends `verb:subscribed` for a client subscription once its stream start went out. */
  #confirm(socket: AnySocket, topic: string): void {
    if (this.#unconfirmed.get(socket)?.delete(topic) === true) this.#control(socket, { type: "verb:subscribed", topic });
  }

  #epochGap(socket: AnySocket, topic: string, cursor: Cursor): void {
    this.#control(socket, { type: "verb:gap", stream: topic, from: cursor.seq + 1, to: null, reason: "epoch" } satisfies Gap);
    this.#runtime.counters.streamGaps++;
  }

  /**
   * Attaches from the durable log: its history after the cursor (in pages), then what this
   * instance read from the log meanwhile, then live. The twin is joined only once caught up, in
   * the same turn as the last replayed message, so nothing is missed or sent twice.
   */
  async #attachFromLog(socket: AnySocket, topic: string, log: DurableLog, cursor: Cursor | undefined): Promise<void> {
    const alive = () => socket.readyState === 1 && socket.isSubscribed(topic);
    const limit = this.streams.bounds.maxMessages;
    try {
      let range = await log.range(topic, cursor?.seq ?? Number.MAX_SAFE_INTEGER, cursor === undefined ? 0 : limit);
      if (!alive()) return;
      let from = range.last;
      if (cursor !== undefined && range.epoch !== cursor.epoch) {
        range = await log.range(topic, 0, limit);
        if (!alive()) return;
        this.#epochGap(socket, topic, cursor);
        from = 0;
      } else if (cursor !== undefined) from = Math.min(cursor.seq, range.last);
      const epoch = range.epoch ?? "";
      this.#control(socket, { type: "verb:stream", stream: topic, epoch, seq: from } satisfies StreamStart);
      this.#confirm(socket, topic);
      if (from + 1 < range.oldest && from < range.last) this.#retentionGap(socket, topic, from + 1, range.oldest - 1);
      const session = (socket.session as SocketSession).record?.id;
      let last = from;
      for (let page = 0; page < 1000; page++) {
        for (const entry of range.entries) {
          if (entry.seq <= last) continue;
          socket.sendFrame(this.#frameOf(entry, session));
          last = entry.seq;
          this.#runtime.counters.streamReplayed++;
        }
        if (range.entries.length < limit || last >= range.last) break;
        range = await log.range(topic, last, limit);
        if (!alive()) return;
      }
      // What this instance read from the log while the history was on its way.
      const stream = this.streams.open(topic);
      if (stream.epoch === epoch) {
        for (const entry of stream.after(last)) {
          socket.sendFrame(entry.excluded === session ? skipFrame(topic, entry.seq) : entry.frame);
          last = entry.seq;
        }
      }
      socket.engineSubscribeTwin(topic);
    } catch (error) {
      // Without its history a resume could only guess: the client tries again later and resumes exactly.
      this.#runtime.backplaneError(asError(error), "history");
      if (socket.readyState === 1) socket.close(1013, "stream history unavailable, try again");
    }
  }

  #frameOf(entry: SequencedMessage, session: string | undefined): Payload {
    if (entry.excluded === `s:${session}`) return skipFrame(entry.topic, entry.seq);
    const data = entry.data;
    return encodeSequenced(
      entry.topic,
      entry.seq,
      entry.binary && typeof data === "string" ? new TextEncoder().encode(data) : data,
    );
  }

  #retentionGap(socket: AnySocket, topic: string, from: number, to: number): void {
    this.#control(socket, { type: "verb:gap", stream: topic, from, to, reason: "retention" } satisfies Gap);
    this.#runtime.counters.streamGaps++;
  }

  /** A session socket leaves a topic. */
  detach(socket: AnySocket, topic: string): void {
    socket.engineUnsubscribeTwin(topic);
    this.#unfollow(topic);
  }

  /** A session socket closed: its streams lose a follower, its session waits for the client to come back. */
  closed(socket: AnySocket, topics: Iterable<string>, attached: boolean): void {
    this.#awaitingHello.delete(socket);
    const session = socket.session as SocketSession;
    for (const topic of session.held.keys()) this.#unfollow(topic);
    session.held.clear();
    if (attached) for (const topic of topics) this.#unfollow(topic);
    const record = session.record;
    if (record !== undefined && record.socket === socket) {
      record.socket = undefined;
      record.expires = Date.now() + this.streams.bounds.ttlMs;
    }
  }

  #unfollow(topic: string): void {
    const stream = this.streams.get(topic);
    if (stream === undefined) return;
    stream.followers--;
    if (stream.followers === 0) stream.idleSince = Date.now();
  }

  /** Watchdog: sockets silent too long become plain; sessions and streams past their TTL go. */
  tick(stamp: number, sweep: boolean): void {
    for (const socket of this.#awaitingHello) {
      if (since(stamp, socket.openedAt) >= HELLO_TIMEOUT_MS) this.#plain(socket);
    }
    if (!sweep) return;
    const wall = Date.now();
    for (const [id, record] of this.#records) if (record.socket === undefined && record.expires < wall) this.#records.delete(id);
    this.#runtime.counters.streamExpired += this.streams.sweep(wall);
  }

  // ---- messages from a session client ---------------------------------------------------

  /**
   * A message from a socket that offered the protocol: control messages are handled here (and
   * consumed), numbered ones unwrapped (repeats consumed); what is left goes to the hooks.
   */
  receive(socket: AnySocket, message: Message): Message | SessionRequest | undefined {
    const session = socket.session as SocketSession;
    if (session.record === undefined) {
      // The first message decides: a hello starts the session, anything else makes the socket plain.
      const hello = typeof message === "string" && message.startsWith('{"type":"verb:hello"') ? parse(message) : undefined;
      if (hello === undefined) {
        this.#plain(socket);
        return message;
      }
      this.#hello(socket, session, hello as unknown as Hello);
      return undefined;
    }
    if (typeof message === "string" && message.startsWith('{"type":"verb:')) {
      this.#controlMessage(socket, session, message);
      return undefined;
    }
    const envelope = openEnvelope(message);
    if (envelope === undefined) return message;
    const payload = typeof envelope.payload === "string" ? envelope.payload : toBuffer(envelope.payload);
    if (envelope.header === "") return payload;
    const numbered = readNumberHeader(envelope.header);
    if (numbered === undefined) return payload;
    const record = session.record;
    if (numbered.n <= record.received) {
      // A repeat after a reconnect: never handled twice. A request's reply comes from the cache.
      this.#runtime.counters.sessionRepeats++;
      if (numbered.request) {
        const reply = record.replies.get(numbered.n);
        if (reply !== undefined) socket.sendFrame(reply);
        else if (!record.replies.has(numbered.n)) {
          // Answered long ago and no longer cached: say so, so the request never hangs.
          socket.sendFrame(
            JSON.stringify({
              type: "verb:res",
              n: numbered.n,
              ok: false,
              error: { message: "The reply is no longer available" },
            } satisfies Reply),
          );
        }
      }
      return undefined;
    }
    record.received = numbered.n;
    if (!numbered.request) return payload;
    record.replies.set(numbered.n, undefined);
    if (record.replies.size > REPLIES_KEPT) record.replies.delete(record.replies.keys().next().value as number);
    return new SessionRequest(this, record, numbered.n, payload);
  }

  /** @internal A request was answered: cache the reply and send it to whichever socket speaks for the session now. */
  answered(record: SessionRecord, n: number, text: string): void {
    if (record.replies.has(n)) record.replies.set(n, text);
    const socket = record.socket;
    if (socket !== undefined && socket.readyState === 1) socket.sendFrame(text);
  }

  #hello(socket: AnySocket, session: SocketSession, hello: Hello): void {
    this.#awaitingHello.delete(socket);
    const problem = invalidHello(hello);
    if (problem !== undefined) {
      socket.close(1008, `invalid hello: ${problem}`);
      return;
    }
    const user = userOf(socket);
    let record = hello.session === null ? undefined : this.#records.get(hello.session);
    if (record !== undefined && record.user !== user) record = undefined;
    const resumed = record !== undefined;
    if (record === undefined) {
      record = { id: newSessionId(), received: 0, replies: new Map(), socket: undefined, expires: 0, user };
      this.#records.set(record.id, record);
    } else if (record.socket !== undefined && record.socket !== socket && record.socket.readyState <= 1) {
      // The client came back on a new connection: the old one is a leftover it no longer reads, or
      // another tab sharing the session, which is told so and does not take it back.
      record.socket.close(CloseCode.SESSION_REPLACED, CloseReason.SESSION_REPLACED);
    }
    record.socket = socket;
    session.record = record;
    session.cursors = { ...hello.cursors };
    if (resumed) this.#runtime.counters.sessionsResumed++;
    this.#control(socket, {
      type: "verb:welcome",
      v: VERSION,
      session: record.id,
      resumed,
      received: record.received,
    } satisfies Welcome);
    socket.sessionStarted();
    for (const topic of hello.topics) this.#subscribe(socket, session, topic);
  }

  #plain(socket: AnySocket): void {
    this.#awaitingHello.delete(socket);
    if (socket.readyState <= 1) socket.sessionDeclined();
  }

  #controlMessage(socket: AnySocket, session: SocketSession, text: string): void {
    const message = parse(text);
    if (message === undefined) return;
    switch (message.type) {
      case "verb:ping":
        this.#control(socket, { type: "verb:pong", received: (session.record as SessionRecord).received });
        return;
      case "verb:sub":
        if (typeof message.topic === "string") this.#subscribe(socket, session, message.topic);
        return;
      case "verb:unsub":
        if (typeof message.topic === "string" && session.clientTopics.delete(message.topic)) socket.unsubscribe(message.topic);
        return;
      case "verb:replay":
        if (typeof message.stream === "string" && Number.isSafeInteger(message.from) && socket.isSubscribed(message.stream)) {
          this.#replay(socket, message.stream, (message.from as number) - 1);
        }
        return;
      default:
        log(this.#runtime.logger, "debug", { type: message.type }, "unknown protocol message ignored");
    }
  }

  /** A subscription the client asked for: only where `authorizeSubscribe` says yes. */
  #subscribe(socket: AnySocket, session: SocketSession, topic: string): void {
    const refuse = (message: string) => this.#control(socket, { type: "verb:refused", topic, message });
    if (typeof topic !== "string" || topic.length === 0 || topic.startsWith("verb:")) {
      refuse("not a topic a client may subscribe to");
      return;
    }
    const authorize = this.#runtime.authorizeSubscribe(socket);
    if (authorize === undefined) {
      refuse("this server takes no subscriptions from clients (websocket.authorizeSubscribe is not set)");
      return;
    }
    const decide = (allowed: unknown) => {
      if (socket.readyState !== 1) return;
      if (allowed !== true) {
        refuse("not allowed");
        return;
      }
      session.clientTopics.add(topic);
      if (socket.isSubscribed(topic)) {
        // Already attached (the application subscribed it): its stream start was sent.
        this.#control(socket, { type: "verb:subscribed", topic });
        return;
      }
      let unconfirmed = this.#unconfirmed.get(socket);
      if (unconfirmed === undefined) {
        unconfirmed = new Set();
        this.#unconfirmed.set(socket, unconfirmed);
      }
      unconfirmed.add(topic);
      socket.subscribe(topic);
    };
    let verdict: unknown;
    try {
      verdict = authorize(socket, topic);
    } catch (error) {
      socket.reportError(error);
      refuse("the subscription could not be authorized");
      return;
    }
    if (isThenable(verdict)) {
      verdict.then(decide, (error: unknown) => {
        socket.reportError(error);
        if (socket.readyState === 1) refuse("the subscription could not be authorized");
      });
    } else decide(verdict);
  }

  /** Sends a stream's messages after `from` (a gap first when some are no longer held). */
  #replay(socket: AnySocket, topic: string, from: number): void {
    const stream = this.streams.get(topic);
    if (stream === undefined) return;
    const oldest = stream.oldest;
    if (from + 1 < oldest && from < stream.seq) {
      const log = this.#runtime.backplane?.log;
      // The cache does not reach back that far: the durable log may.
      if (log !== undefined) {
        void this.#replayFromLog(socket, topic, log, from, oldest);
        return;
      }
      this.#retentionGap(socket, topic, from + 1, oldest - 1);
    }
    const session = (socket.session as SocketSession).record?.id;
    const entries = stream.after(from);
    for (const entry of entries) socket.sendFrame(entry.excluded === session ? skipFrame(topic, entry.seq) : entry.frame);
    this.#runtime.counters.streamReplayed += entries.length;
  }

  /** Messages `from + 1` up to `until - 1` from the durable log (the cache holds the rest), then the cache. */
  async #replayFromLog(socket: AnySocket, topic: string, log: DurableLog, from: number, until: number): Promise<void> {
    try {
      const range = await log.range(topic, from, Math.max(1, until - from - 1));
      if (socket.readyState !== 1) return;
      if (from + 1 < range.oldest) this.#retentionGap(socket, topic, from + 1, range.oldest - 1);
      const session = (socket.session as SocketSession).record?.id;
      let last = from;
      for (const entry of range.entries) {
        if (entry.seq <= last || entry.seq >= until) continue;
        socket.sendFrame(this.#frameOf(entry, session));
        last = entry.seq;
      }
      this.#replay(socket, topic, Math.max(last, until - 1));
    } catch (error) {
      this.#runtime.backplaneError(asError(error), "history");
      if (socket.readyState === 1) socket.close(1013, "stream history unavailable, try again");
    }
  }

  #control(socket: AnySocket, message: ServerControl): void {
    socket.sendFrame(JSON.stringify(message));
  }
}

/** A plain message for a session socket: escaped when it would look like an envelope. */
export function forSession(payload: Payload): Payload {
  return needsEscape(payload) ? encodeEscaped(payload) : payload;
}

function parse(text: string): ({ type: string } & Record<string, unknown>) | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
      ? (value as { type: string } & Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function invalidHello(hello: Hello): string | undefined {
  if (hello.v !== VERSION) return `protocol version ${String(hello.v)} (this server speaks ${VERSION})`;
  if (hello.session !== null && typeof hello.session !== "string") return "session must be a string or null";
  if (typeof hello.cursors !== "object" || hello.cursors === null || Array.isArray(hello.cursors))
    return "cursors must be an object";
  const cursors = Object.entries(hello.cursors);
  if (cursors.length > HELLO_LIMIT) return `more than ${HELLO_LIMIT} cursors`;
  for (const [, cursor] of cursors) {
    if (typeof cursor?.epoch !== "string" || !Number.isSafeInteger(cursor.seq) || cursor.seq < 0)
      return "a cursor is not { epoch, seq }";
  }
  if (!Array.isArray(hello.topics) || hello.topics.length > HELLO_LIMIT || hello.topics.some((t) => typeof t !== "string")) {
    return "topics must be an array of strings";
  }
  return undefined;
}

function userOf(socket: AnySocket): unknown {
  const data = socket.data as { user?: { id?: unknown } } | undefined;
  return data?.user?.id;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Session ids are unguessable: whoever presents one resumes the session (its position and replies). */
function newSessionId(): string {
  return globalThis.crypto.randomUUID();
}
