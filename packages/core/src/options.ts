/**
 * Server and WebSocket options: their types, their defaults, and their validation.
 *
 * Every option is either enforced the same way by every adapter or rejected here with
 * an error naming it and its allowed values. Defaults are explicit: engines' own
 * defaults differ (payload limit 16 KiB on uWS, 16 MiB on Bun, 100 MiB on ws) and never
 * leak through.
 */

import type { VerbAdapter } from "./adapter.js";
import type { UpgradePolicy, WebSocketHandlers } from "./handlers.js";

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

/** Everything `websocket: {...}` accepts: hooks, upgrade policy and limits. */
export interface WebSocketOptions<Data = DefaultSocketData>
  extends WebSocketHandlers<Data>,
    UpgradePolicy<Data>,
    WebSocketLimits {}

/** Per-connection data when the application does not declare its own type. */
export type DefaultSocketData = Record<string, unknown>;

/** Names of the built-in adapters, for `adapter` and the `VERB_ADAPTER` environment variable. */
export type AdapterName = "bun" | "node" | "uws";

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

const HANDLER_KEYS = ["open", "message", "close", "error", "ping", "pong", "drain"] as const;
const POLICY_KEYS = ["upgrade", "protocols", "allowedOrigins", "auth"] as const;
const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof ResolvedWebSocketLimits)[];
const WEBSOCKET_KEYS = new Set<string>([...HANDLER_KEYS, ...POLICY_KEYS, ...LIMIT_KEYS]);
const ROUTE_KEYS = new Set<string>([...HANDLER_KEYS, ...POLICY_KEYS]);
const SERVER_KEYS = new Set<string>(["port", "hostname", "websocket", "adapter", "bodyLimit", "fileRoot"]);
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

function booleanOption(option: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new VerbOptionsError(option, `must be true or false; got ${describe(value)}`);
  return value;
}

function unknownKey(scope: string, key: string, known: Set<string>): VerbOptionsError {
  return new VerbOptionsError(`${scope}${key}`, `is not a Verb option. Known options: ${[...known].join(", ")}`);
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
