/**
 * Server and WebSocket options: their types, their defaults, and their validation.
 *
 * Every option is either enforced the same way by every adapter or rejected here with
 * an error naming it and its allowed values. Defaults are explicit: engines' own
 * defaults differ (payload limit 16 KiB on uWS, 16 MiB on Bun, 100 MiB on ws) and never
 * leak through.
 */

import type { VerbAdapter } from "./adapter.js";
import type { Backplane } from "./backplane.js";
import { isSendableCloseCode } from "./close.js";
import type { UpgradePolicy, WebSocketHandlers } from "./handlers.js";
import type { Logger } from "./logger.js";
import type { OfflineStore } from "./offline-queue.js";
import type { VerbSocket } from "./socket.js";

/** Compression mode for permessage-deflate. */
export type Compression = "shared" | "dedicated" | "disabled";

/** Flow-control and limit options of `websocket: {...}`. See the README for the full table. */
export interface WebSocketLimits {
  /**
   * permessage-deflate: `"disabled"` (default, never negotiated), `"shared"` (one compressor for
   * all sockets, no context takeover: low memory) or `"dedicated"` (a compressor per socket that
   * keeps its context: better ratio, more memory).
   */
  compression?: Compression;
  /**
   * Messages smaller than this many bytes are sent uncompressed unless a send asks otherwise.
   * Default 1024. Integer 0 – 2^31-1.
   */
  compressionThreshold?: number;
  /**
   * Largest message accepted from a client, in bytes, measured after inflation. Over it the
   * connection is closed and the close hook gets 1009. Default 16 MiB. Integer 1 – 2^31-1.
   */
  maxPayloadLength?: number;
  /**
   * Largest compressed message accepted on the wire, in bytes. Every engine caps each frame on the
   * wire at `maxPayloadLength`, so this must be at least `maxPayloadLength` (the default);
   * smaller values cannot be enforced and are rejected.
   */
  maxCompressedSize?: number;
  /**
   * Bytes a socket may hold in its send buffer before sends are dropped (checked before each
   * send, so a socket can hold the limit plus one message). Default 16 MiB. Integer 1 – 2^31-1.
   */
  maxBackpressure?: number;
  /** Close the socket (1006, reason "backpressure limit") instead of dropping a send over the limit. Default false. */
  closeOnBackpressureLimit?: boolean;
  /**
   * Seconds without a frame received from the client before the connection is closed (1006,
   * reason "idle timeout"). 0 disables. Integer 2 – 960. Default 120.
   */
  idleTimeout?: number;
  /** With an idle timeout, ping a client that has been silent for half of it. Default true. */
  sendPings?: boolean;
  /**
   * Minutes after which a connection is closed with 1000 "please reconnect". 0 (default) = unlimited.
   * Any number from 0 to 1440; fractions allowed (resolution: half a second).
   */
  maxLifetime?: number;
}

/** Message rate limit: a token bucket of `burst` tokens refilled at `messages` per `per` seconds. */
export interface RateLimitOptions {
  /** Messages allowed per `per` seconds. */
  messages: number;
  /** Window in seconds. Default 1. */
  per?: number;
  /** Bucket size (short bursts above the rate). Default `messages`. */
  burst?: number;
  /** One bucket per connection (default) or one per client IP shared by its connections. */
  scope?: "connection" | "ip";
  /**
   * Over the limit: `"reply"` (default) drops the message and sends
   * `{"type":"error","message":"Rate limit exceeded","retryAfterMs":N}`; `"close"` closes with 1008.
   */
  onExceed?: "reply" | "close";
}

/** An application-level heartbeat that browser code can see (it cannot see ping frames). */
export interface HeartbeatOptions {
  /** Seconds between heartbeats sent to every open socket. */
  interval: number;
  /** The text sent. Default `{"type":"heartbeat"}`. */
  message?: string;
  /** A client message equal to this is taken as the heartbeat's answer and not passed to hooks. Default `{"type":"heartbeat"}`. */
  reply?: string;
}

/** The spec's health check: ping every `interval` seconds; no pong within `timeout` seconds closes. */
export interface HealthCheckOptions {
  /** Seconds between pings. */
  interval: number;
  /** Seconds to wait for the pong. */
  timeout: number;
  /** Close code for an unresponsive client. Default 4408. */
  code?: number;
  /** Close reason. Default `"ping timeout"`. */
  reason?: string;
}

/** Offline queue for clients registered with `app.clients`. */
export interface OfflineQueueOptions {
  /** Messages kept per client; the oldest go first. Default 100. */
  maxMessages?: number;
  /** Seconds a message (and a resume token) stays valid. Default 300. */
  ttl?: number;
  /** Where messages live. Default: in memory. */
  store?: OfflineStore;
}

/** Admission control, rate limits, heartbeats, ordering and the offline queue. */
export interface ResilienceOptions {
  /** Open connections allowed on this server. Default: unlimited. */
  maxConnections?: number;
  /** Open connections allowed per client IP. Default: unlimited. */
  maxConnectionsPerIp?: number;
  /**
   * Over a connection limit: `"reject"` (default) answers 503 with `Retry-After` before the
   * upgrade; `"close"` accepts and closes with 1013 "Server overloaded" (the spec's style).
   */
  onOverload?: "reject" | "close";
  /** Message rate limit. */
  rateLimit?: RateLimitOptions;
  /** Application-level heartbeat. */
  heartbeat?: HeartbeatOptions;
  /** Ping/pong health check. */
  healthCheck?: HealthCheckOptions;
  /** Async message hooks running at once per connection (1 = strictly one at a time, in order). Default 1. */
  concurrency?: number;
  /** Queue messages for offline clients (`app.clients.sendTo`) and replay them on resume. */
  offlineQueue?: OfflineQueueOptions;
  /**
   * Resume for session clients (@verb/client): every stream they follow keeps a history of this
   * many messages for this many seconds, so a client that reconnects gets exactly what it missed.
   * Only streams session clients follow are recorded. `false` turns sessions off (clients are
   * then served as plain sockets). Default `{ maxMessages: 1000, ttl: 300 }`.
   */
  resume?: false | { maxMessages?: number; ttl?: number };
  /**
   * Whether a session client may subscribe to `topic` (`client.subscribe(topic)`): true, false,
   * or a promise of either. Without it every client subscription is refused.
   */
  authorizeSubscribe?: (ws: VerbSocket<unknown>, topic: string) => boolean | Promise<boolean>;
  /**
   * Seconds an upgrade may wait for its decision (async `upgrade` hook, `auth.verifyToken`,
   * middleware). Past it the client gets 503 and a late acceptance is ignored (its socket never
   * opens). Upgrades being decided count against `maxConnections` and `maxConnectionsPerIp`.
   * Default 10; any number above 0 up to 3600.
   */
  upgradeTimeout?: number;
}

/** Everything `websocket: {...}` accepts: hooks, upgrade policy, limits, resilience. */
export interface WebSocketOptions<Data = DefaultSocketData>
  extends WebSocketHandlers<Data>,
    UpgradePolicy<Data>,
    WebSocketLimits,
    ResilienceOptions {}

/** Resilience options with defaults filled in (undefined: feature off). */
export interface ResolvedResilience {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly onOverload: "reject" | "close";
  readonly rateLimit: Required<RateLimitOptions> | undefined;
  readonly heartbeat: Required<HeartbeatOptions> | undefined;
  readonly healthCheck: Required<HealthCheckOptions> | undefined;
  readonly concurrency: number;
  readonly offlineQueue: { maxMessages: number; ttlMs: number; store: OfflineStore | undefined } | undefined;
  readonly upgradeTimeoutMs: number;
  readonly resume: { maxMessages: number; ttlMs: number } | undefined;
  readonly authorizeSubscribe: ((ws: VerbSocket<unknown>, topic: string) => boolean | Promise<boolean>) | undefined;
}

/** Per-connection data when the application does not declare its own type. */
export type DefaultSocketData = Record<string, unknown>;

/** Names of the built-in adapters, for `adapter` and the `VERB_ADAPTER` environment variable. */
export type AdapterName = "bun" | "node" | "uws" | "deno";

/** Options of `app.withOptions()`. */
export interface ServerOptions<Data = DefaultSocketData> {
  /** TCP port. Default 3000; `0` picks a free port. `listen(port)` overrides it. */
  port?: number;
  /** Interface to bind. Default `"0.0.0.0"`. `listen(port, hostname)` overrides it. */
  hostname?: string;
  /** WebSocket handlers and limits. */
  websocket?: WebSocketOptions<Data>;
  /** The engine: an adapter object, or the name of a built-in one. Default: chosen at `listen()` (see README). */
  adapter?: VerbAdapter | AdapterName;
  /** Largest HTTP request body, in bytes; larger ones get 413 before any handler runs. Default 1 MiB. */
  bodyLimit?: number;
  /** Folder `res.sendFile` resolves paths against and never leaves. Default: the working directory. */
  fileRoot?: string;
  /** Where Verb logs (pino, console, ...). Default: only unhandled errors, to `console.error`. */
  logger?: Logger;
  /** Carries publishes (topics, rooms, users, `sendTo`) to the other instances, e.g. `redisBackplane()` of `@verb/redis`. */
  backplane?: Backplane;
}

/** Limits with every default filled in: what adapters receive. */
export interface ResolvedWebSocketLimits {
  readonly compression: Compression;
  readonly compressionThreshold: number;
  readonly maxPayloadLength: number;
  readonly maxCompressedSize: number;
  readonly maxBackpressure: number;
  readonly closeOnBackpressureLimit: boolean;
  readonly idleTimeout: number;
  readonly sendPings: boolean;
  readonly maxLifetime: number;
}

const MiB = 1024 * 1024;
const INT32_MAX = 2 ** 31 - 1;

/** The defaults, identical on every adapter. */
export const DEFAULT_LIMITS: ResolvedWebSocketLimits = Object.freeze({
  compression: "disabled",
  compressionThreshold: 1024,
  maxPayloadLength: 16 * MiB,
  maxCompressedSize: 16 * MiB,
  maxBackpressure: 16 * MiB,
  closeOnBackpressureLimit: false,
  idleTimeout: 120,
  sendPings: true,
  maxLifetime: 0,
});

/** Thrown by `withOptions()` and `listen()` for an option that cannot be honoured. */
export class VerbOptionsError extends TypeError {
  /** The option's path, e.g. `websocket.idleTimeout`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(`${option} ${message}`);
    this.name = "VerbOptionsError";
    this.option = option;
  }
}

const STORE_METHODS = ["enqueue", "take", "depth", "issueToken", "resolveToken", "totalDepth"] as const;
const HANDLER_KEYS = ["open", "message", "close", "error", "ping", "pong", "drain"] as const;
const POLICY_KEYS = ["upgrade", "protocols", "allowedOrigins", "auth"] as const;
const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof ResolvedWebSocketLimits)[];
const RESILIENCE_KEYS = [
  "maxConnections",
  "maxConnectionsPerIp",
  "onOverload",
  "rateLimit",
  "heartbeat",
  "healthCheck",
  "concurrency",
  "offlineQueue",
  "upgradeTimeout",
  "resume",
  "authorizeSubscribe",
] as const;
const WEBSOCKET_KEYS = new Set<string>([...HANDLER_KEYS, ...POLICY_KEYS, ...LIMIT_KEYS, ...RESILIENCE_KEYS]);
const ROUTE_KEYS = new Set<string>([...HANDLER_KEYS, ...POLICY_KEYS]);
const SERVER_KEYS = new Set<string>(["port", "hostname", "websocket", "adapter", "bodyLimit", "fileRoot", "logger", "backplane"]);
/** RFC 7230 token characters: what a subprotocol name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return typeof value;
}

function integerIn(option: string, value: unknown, min: number, max: number, unit: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new VerbOptionsError(option, `must be an integer from ${min} to ${max} (${unit}); got ${describe(value)}`);
  }
  return value;
}

function sendableCloseCode(option: string, value: unknown): number {
  if (typeof value !== "number" || !isSendableCloseCode(value)) {
    throw new VerbOptionsError(
      option,
      `must be a close code that may be sent (1000-1003, 1007-1014, 3000-4999); got ${describe(value)}`,
    );
  }
  return value;
}

function booleanOption(option: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new VerbOptionsError(option, `must be true or false; got ${describe(value)}`);
  return value;
}

function unknownKey(scope: string, key: string, known: Set<string>): VerbOptionsError {
  return new VerbOptionsError(`${scope}${key}`, `is not a Verb option. Known options: ${[...known].join(", ")}`);
}

/** Throws {@link VerbOptionsError} unless `websocket` is a plain object. */
export function assertWebSocketObject(value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VerbOptionsError("websocket", `must be an object of handlers and limits; got ${describe(value)}`);
  }
}

/** Validates `websocket: {...}` and fills in the defaults. Throws {@link VerbOptionsError}. */
export function resolveWebSocketLimits(options: WebSocketLimits = {}): ResolvedWebSocketLimits {
  for (const key of Object.keys(options)) {
    if (!WEBSOCKET_KEYS.has(key)) throw unknownKey("websocket.", key, WEBSOCKET_KEYS);
  }
  const given = (key: keyof ResolvedWebSocketLimits) => options[key] !== undefined;

  let compression = DEFAULT_LIMITS.compression;
  if (given("compression")) {
    const value: unknown = options.compression;
    if (value !== "shared" && value !== "dedicated" && value !== "disabled") {
      throw new VerbOptionsError("websocket.compression", `must be "shared", "dedicated" or "disabled"; got ${describe(value)}`);
    }
    compression = value;
  }

  const compressionThreshold = given("compressionThreshold")
    ? integerIn("websocket.compressionThreshold", options.compressionThreshold, 0, INT32_MAX, "bytes")
    : DEFAULT_LIMITS.compressionThreshold;
  const maxPayloadLength = given("maxPayloadLength")
    ? integerIn("websocket.maxPayloadLength", options.maxPayloadLength, 1, INT32_MAX, "bytes")
    : DEFAULT_LIMITS.maxPayloadLength;
  let maxCompressedSize = maxPayloadLength;
  if (given("maxCompressedSize")) {
    maxCompressedSize = integerIn("websocket.maxCompressedSize", options.maxCompressedSize, 1, 2 ** 53, "bytes");
    if (maxCompressedSize < maxPayloadLength) {
      throw new VerbOptionsError(
        "websocket.maxCompressedSize",
        `must be at least websocket.maxPayloadLength (${maxPayloadLength}): engines cap every frame on the wire at maxPayloadLength and cannot enforce a smaller compressed limit; got ${maxCompressedSize}`,
      );
    }
  }
  const maxBackpressure = given("maxBackpressure")
    ? integerIn("websocket.maxBackpressure", options.maxBackpressure, 1, INT32_MAX, "bytes")
    : DEFAULT_LIMITS.maxBackpressure;
  const closeOnBackpressureLimit = given("closeOnBackpressureLimit")
    ? booleanOption("websocket.closeOnBackpressureLimit", options.closeOnBackpressureLimit)
    : DEFAULT_LIMITS.closeOnBackpressureLimit;

  let idleTimeout = DEFAULT_LIMITS.idleTimeout;
  if (given("idleTimeout")) {
    const value: unknown = options.idleTimeout;
    if (value !== 0) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 2 || value > 960) {
        throw new VerbOptionsError(
          "websocket.idleTimeout",
          `must be 0 (off) or an integer from 2 to 960 (seconds); got ${describe(value)}`,
        );
      }
    }
    idleTimeout = value;
  }
  const sendPings = given("sendPings") ? booleanOption("websocket.sendPings", options.sendPings) : DEFAULT_LIMITS.sendPings;

  let maxLifetime = DEFAULT_LIMITS.maxLifetime;
  if (given("maxLifetime")) {
    const value: unknown = options.maxLifetime;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1440) {
      throw new VerbOptionsError(
        "websocket.maxLifetime",
        `must be a number of minutes from 0 (unlimited) to 1440; got ${describe(value)}`,
      );
    }
    maxLifetime = value;
  }

  return Object.freeze({
    compression,
    compressionThreshold,
    maxPayloadLength,
    maxCompressedSize,
    maxBackpressure,
    closeOnBackpressureLimit,
    idleTimeout,
    sendPings,
    maxLifetime,
  });
}

/** Checks the hooks and upgrade policy of `websocket: {...}` or of an `app.ws()` route. */
export function assertHandlers(options: object, scope: string, route = false): void {
  if (options === null || typeof options !== "object") {
    throw new VerbOptionsError(scope.replace(/\.$/, ""), `must be an object of hooks; got ${describe(options)}`);
  }
  const record = options as Record<string, unknown>;
  if (route) {
    for (const key of Object.keys(record)) if (!ROUTE_KEYS.has(key)) throw unknownKey(scope, key, ROUTE_KEYS);
  }
  for (const key of [...HANDLER_KEYS, "upgrade"]) {
    const value = record[key];
    if (value !== undefined && typeof value !== "function") {
      throw new VerbOptionsError(`${scope}${key}`, `must be a function; got ${describe(value)}`);
    }
  }
  const protocols = record.protocols;
  if (protocols !== undefined) {
    if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string" || !TOKEN.test(p))) {
      throw new VerbOptionsError(
        `${scope}protocols`,
        `must be an array of subprotocol names (RFC 7230 tokens); got ${describe(protocols)}`,
      );
    }
  }
  const auth = record.auth as Record<string, unknown> | undefined;
  if (auth !== undefined) {
    if (typeof auth !== "object" || auth === null || typeof auth.verifyToken !== "function") {
      throw new VerbOptionsError(
        `${scope}auth`,
        `must be an object with a verifyToken(token, request) function; got ${describe(auth)}`,
      );
    }
    for (const key of Object.keys(auth)) {
      if (!["verifyToken", "onFailure", "optional", "protocol", "announce"].includes(key)) {
        throw new VerbOptionsError(
          `${scope}auth.${key}`,
          "is not a Verb option. Known options: verifyToken, onFailure, optional, protocol, announce",
        );
      }
    }
    if (auth.onFailure !== undefined && auth.onFailure !== "reject" && auth.onFailure !== "close") {
      throw new VerbOptionsError(`${scope}auth.onFailure`, `must be "reject" or "close"; got ${describe(auth.onFailure)}`);
    }
    if (auth.protocol !== undefined && (typeof auth.protocol !== "string" || !TOKEN.test(auth.protocol))) {
      throw new VerbOptionsError(
        `${scope}auth.protocol`,
        `must be a subprotocol name (RFC 7230 token); got ${describe(auth.protocol)}`,
      );
    }
    if (auth.announce !== undefined && typeof auth.announce !== "boolean" && typeof auth.announce !== "function") {
      throw new VerbOptionsError(
        `${scope}auth.announce`,
        `must be true, false or a function of the user; got ${describe(auth.announce)}`,
      );
    }
    if (auth.optional !== undefined && typeof auth.optional !== "boolean") {
      throw new VerbOptionsError(`${scope}auth.optional`, `must be true or false; got ${describe(auth.optional)}`);
    }
  }
  const origins = record.allowedOrigins;
  if (origins !== undefined && typeof origins !== "function") {
    if (!Array.isArray(origins) || origins.some((o) => typeof o !== "string")) {
      throw new VerbOptionsError(
        `${scope}allowedOrigins`,
        `must be an array of origins such as "https://example.com", or a function; got ${describe(origins)}`,
      );
    }
  }
}

/** Checks `bodyLimit`. */
export function assertBodyLimit(value: unknown): number {
  return integerIn("bodyLimit", value, 0, 2 ** 53, "bytes");
}

/** Checks `fileRoot`. */
export function assertFileRoot(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new VerbOptionsError("fileRoot", `must be a folder path; got ${describe(value)}`);
  }
  return value;
}

/** Checks a TCP port. */
export function assertPort(option: string, port: unknown): number {
  return integerIn(option, port, 0, 65535, "0 picks a free port");
}

/** Checks a hostname. */
export function assertHostname(option: string, hostname: unknown): string {
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw new VerbOptionsError(option, `must be a non-empty string such as "0.0.0.0" or "127.0.0.1"; got ${describe(hostname)}`);
  }
  return hostname;
}

/** Checks the top level of `withOptions({...})`. */
export function assertServerOptionKeys(options: object): void {
  if (options === null || typeof options !== "object") {
    throw new VerbOptionsError("options", `must be an object; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!SERVER_KEYS.has(key)) throw unknownKey("", key, SERVER_KEYS);
  }
}

function objectOption(option: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VerbOptionsError(option, `must be an object with ${keys.join(", ")}; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      throw new VerbOptionsError(`${option}.${key}`, `is not a Verb option. Known options: ${keys.join(", ")}`);
  }
  return value as Record<string, unknown>;
}

function positiveNumber(option: string, value: unknown, max: number, unit: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new VerbOptionsError(option, `must be a number above 0 and at most ${max} (${unit}); got ${describe(value)}`);
  }
  return value;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new VerbOptionsError(option, `must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}; got ${describe(value)}`);
  }
  return value as T;
}

/** Validates the resilience options of `websocket: {...}` and fills in the defaults. */
export function resolveResilience(options: ResilienceOptions = {}): ResolvedResilience {
  const maxConnections =
    options.maxConnections === undefined
      ? Number.POSITIVE_INFINITY
      : integerIn("websocket.maxConnections", options.maxConnections, 1, 2 ** 31 - 1, "connections");
  const maxConnectionsPerIp =
    options.maxConnectionsPerIp === undefined
      ? Number.POSITIVE_INFINITY
      : integerIn("websocket.maxConnectionsPerIp", options.maxConnectionsPerIp, 1, 2 ** 31 - 1, "connections");
  const onOverload = oneOf("websocket.onOverload", options.onOverload, ["reject", "close"] as const, "reject");

  let rateLimit: ResolvedResilience["rateLimit"];
  if (options.rateLimit !== undefined) {
    const raw = objectOption("websocket.rateLimit", options.rateLimit, ["messages", "per", "burst", "scope", "onExceed"]);
    const messages = positiveNumber("websocket.rateLimit.messages", raw.messages, 1e9, "messages");
    const per = raw.per === undefined ? 1 : positiveNumber("websocket.rateLimit.per", raw.per, 86_400, "seconds");
    const burst = raw.burst === undefined ? messages : positiveNumber("websocket.rateLimit.burst", raw.burst, 1e9, "messages");
    if (burst < 1) throw new VerbOptionsError("websocket.rateLimit.burst", `must be at least 1 (messages); got ${burst}`);
    rateLimit = {
      messages,
      per,
      burst,
      scope: oneOf("websocket.rateLimit.scope", raw.scope, ["connection", "ip"] as const, "connection"),
      onExceed: oneOf("websocket.rateLimit.onExceed", raw.onExceed, ["reply", "close"] as const, "reply"),
    };
  }

  let heartbeat: ResolvedResilience["heartbeat"];
  if (options.heartbeat !== undefined) {
    const raw = objectOption("websocket.heartbeat", options.heartbeat, ["interval", "message", "reply"]);
    const text = (key: string, value: unknown): string => {
      if (value === undefined) return '{"type":"heartbeat"}';
      if (typeof value !== "string" || value.length === 0)
        throw new VerbOptionsError(`websocket.heartbeat.${key}`, `must be a non-empty string; got ${describe(value)}`);
      return value;
    };
    heartbeat = {
      interval: positiveNumber("websocket.heartbeat.interval", raw.interval, 3600, "seconds"),
      message: text("message", raw.message),
      reply: text("reply", raw.reply),
    };
  }

  let healthCheck: ResolvedResilience["healthCheck"];
  if (options.healthCheck !== undefined) {
    const raw = objectOption("websocket.healthCheck", options.healthCheck, ["interval", "timeout", "code", "reason"]);
    const interval = positiveNumber("websocket.healthCheck.interval", raw.interval, 3600, "seconds");
    const timeout = positiveNumber("websocket.healthCheck.timeout", raw.timeout, 3600, "seconds");
    if (timeout >= interval) {
      throw new VerbOptionsError(
        "websocket.healthCheck.timeout",
        `must be shorter than websocket.healthCheck.interval (${interval} s); got ${timeout}`,
      );
    }
    const code = raw.code === undefined ? 4408 : sendableCloseCode("websocket.healthCheck.code", raw.code);
    if (raw.reason !== undefined && typeof raw.reason !== "string") {
      throw new VerbOptionsError("websocket.healthCheck.reason", `must be a string; got ${describe(raw.reason)}`);
    }
    healthCheck = { interval, timeout, code, reason: (raw.reason as string | undefined) ?? "ping timeout" };
  }

  const concurrency =
    options.concurrency === undefined
      ? 1
      : integerIn("websocket.concurrency", options.concurrency, 1, 1_000_000, "messages at once");

  let offlineQueue: ResolvedResilience["offlineQueue"];
  if (options.offlineQueue !== undefined) {
    const raw = objectOption("websocket.offlineQueue", options.offlineQueue, ["maxMessages", "ttl", "store"]);
    const maxMessages =
      raw.maxMessages === undefined
        ? 100
        : integerIn("websocket.offlineQueue.maxMessages", raw.maxMessages, 1, 1_000_000, "messages");
    const ttl = raw.ttl === undefined ? 300 : positiveNumber("websocket.offlineQueue.ttl", raw.ttl, 30 * 86_400, "seconds");
    const store = raw.store as OfflineStore | undefined;
    if (store !== undefined) {
      const missing =
        typeof store !== "object" || store === null
          ? STORE_METHODS
          : STORE_METHODS.filter((name) => typeof (store as unknown as Record<string, unknown>)[name] !== "function");
      if (missing.length > 0) {
        throw new VerbOptionsError(
          "websocket.offlineQueue.store",
          `must implement the OfflineStore interface (${STORE_METHODS.join(", ")}); missing: ${missing.join(", ")}`,
        );
      }
    }
    offlineQueue = { maxMessages, ttlMs: ttl * 1000, store };
  }

  const upgradeTimeout =
    options.upgradeTimeout === undefined
      ? 10
      : positiveNumber("websocket.upgradeTimeout", options.upgradeTimeout, 3600, "seconds");

  let resume: ResolvedResilience["resume"] = { maxMessages: 1000, ttlMs: 300_000 };
  if (options.resume === false) resume = undefined;
  else if (options.resume !== undefined) {
    const raw = objectOption("websocket.resume", options.resume, ["maxMessages", "ttl"]);
    resume = {
      maxMessages:
        raw.maxMessages === undefined
          ? 1000
          : integerIn("websocket.resume.maxMessages", raw.maxMessages, 1, 10_000_000, "messages"),
      ttlMs: (raw.ttl === undefined ? 300 : positiveNumber("websocket.resume.ttl", raw.ttl, 30 * 86_400, "seconds")) * 1000,
    };
  }
  const authorizeSubscribe = options.authorizeSubscribe;
  if (authorizeSubscribe !== undefined && typeof authorizeSubscribe !== "function") {
    throw new VerbOptionsError(
      "websocket.authorizeSubscribe",
      `must be a function (ws, topic) => boolean | Promise<boolean>; got ${describe(authorizeSubscribe)}`,
    );
  }

  return Object.freeze({
    resume,
    authorizeSubscribe,
    upgradeTimeoutMs: upgradeTimeout * 1000,
    maxConnections,
    maxConnectionsPerIp,
    onOverload,
    rateLimit,
    heartbeat,
    healthCheck,
    concurrency,
    offlineQueue,
  });
}

/** Checks `logger`. */
export function assertLogger(value: unknown): Logger {
  if (typeof value !== "object" || value === null)
    throw new VerbOptionsError("logger", `must be an object such as console or a pino logger; got ${describe(value)}`);
  for (const level of ["debug", "info", "warn", "error"]) {
    const method = (value as Record<string, unknown>)[level];
    if (method !== undefined && typeof method !== "function")
      throw new VerbOptionsError(`logger.${level}`, `must be a function; got ${describe(method)}`);
  }
  return value as Logger;
}

/** Checks `backplane`. */
export function assertBackplane(value: unknown): Backplane {
  const candidate = value as Backplane | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.instanceId !== "string" ||
    typeof candidate.start !== "function" ||
    typeof candidate.publish !== "function" ||
    typeof candidate.subscribe !== "function" ||
    typeof candidate.unsubscribe !== "function" ||
    typeof candidate.close !== "function"
  ) {
    throw new VerbOptionsError(
      "backplane",
      "must implement the Backplane interface (instanceId, start, publish, subscribe, unsubscribe, close), e.g. redisBackplane() of @verb/redis",
    );
  }
  return candidate;
}

const CLOSE_KEYS = ["code", "reason", "timeout", "grace", "notify", "retryWindow"] as const;

/** Validates the options of `app.close()`. Throws {@link VerbOptionsError}. */
export function assertCloseOptions(options: unknown, scope = "close"): void {
  const raw = objectOption(scope, options, CLOSE_KEYS);
  if (raw.code !== undefined) sendableCloseCode(`${scope}.code`, raw.code);
  if (raw.reason !== undefined && typeof raw.reason !== "string") {
    throw new VerbOptionsError(`${scope}.reason`, `must be a string; got ${describe(raw.reason)}`);
  }
  if (raw.timeout !== undefined) integerIn(`${scope}.timeout`, raw.timeout, 0, INT32_MAX, "milliseconds");
  if (raw.grace !== undefined) integerIn(`${scope}.grace`, raw.grace, 0, INT32_MAX, "milliseconds");
  if (raw.retryWindow !== undefined) integerIn(`${scope}.retryWindow`, raw.retryWindow, 0, 3_600_000, "milliseconds");
  const notify = raw.notify;
  if (
    notify !== undefined &&
    typeof notify !== "boolean" &&
    typeof notify !== "string" &&
    (typeof notify !== "object" || notify === null)
  ) {
    throw new VerbOptionsError(`${scope}.notify`, `must be true, false, a string or an object; got ${describe(notify)}`);
  }
}

/** Validates the options of `app.closeOnSignals()`. Throws {@link VerbOptionsError}. */
export function assertSignalOptions(options: unknown): void {
  const raw = objectOption("closeOnSignals", options, [...CLOSE_KEYS, "signals", "exitCode"]);
  const { signals, exitCode, ...close } = raw;
  assertCloseOptions(close, "closeOnSignals");
  if (signals !== undefined && (!Array.isArray(signals) || signals.some((s) => typeof s !== "string" || !s.startsWith("SIG")))) {
    throw new VerbOptionsError(
      "closeOnSignals.signals",
      `must be an array of signal names such as "SIGTERM"; got ${describe(signals)}`,
    );
  }
  if (exitCode !== undefined && exitCode !== false)
    integerIn("closeOnSignals.exitCode", exitCode, 0, 255, "an exit code, or false");
}
