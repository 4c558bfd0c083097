/**
 * A snapshot of the HTTP request that asked for a WebSocket upgrade.
 *
 * Adapters copy everything before the first `await` (uWS's request object dies there), so
 * this object stays valid for the whole life of the connection. Derived views (path, query,
 * cookies, offered subprotocols) are computed on first use and cached.
 */

import { parseCookieHeader } from "./http/cookies.js";

/** Request headers: lower-cased names; repeated headers joined with ", ". */
export type HeaderRecord = Record<string, string>;

/**
 * Headers as an adapter hands them over: a record with lower-cased names, or the raw list
 * `[name, value, name, value, ...]` as the engine parsed it (any case). The raw list is kept as it
 * is and the record made only when the application reads `headers`: a connection costs its raw
 * header strings, not a parsed object.
 */
export type HeaderSource = HeaderRecord | readonly string[];

/** @internal Whether `name` (any case) is `lower` (lower-case), without allocating. */
export function sameName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const folded = code >= 65 && code <= 90 ? code + 32 : code;
    if (folded !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Names and values most upgrade requests share. A connection keeps its raw header list for its
 * whole life; where a string is one of these, the list holds the shared copy, not the engine's
 * fresh one (five names and three values per browser upgrade).
 */
const SHARED_STRINGS = new Map<string, string>();
for (const text of [
  "host",
  "Host",
  "upgrade",
  "Upgrade",
  "connection",
  "Connection",
  "origin",
  "Origin",
  "user-agent",
  "User-Agent",
  "sec-websocket-key",
  "Sec-WebSocket-Key",
  "sec-websocket-version",
  "Sec-WebSocket-Version",
  "sec-websocket-extensions",
  "Sec-WebSocket-Extensions",
  "sec-websocket-protocol",
  "Sec-WebSocket-Protocol",
  "accept-encoding",
  "Accept-Encoding",
  "accept-language",
  "Accept-Language",
  "cache-control",
  "Cache-Control",
  "pragma",
  "Pragma",
  "cookie",
  "Cookie",
  "authorization",
  "Authorization",
  "websocket",
  "Upgrade",
  "13",
  "no-cache",
  "gzip, deflate, br, zstd",
  "gzip, deflate, br",
  "permessage-deflate; client_max_window_bits",
  "keep-alive, Upgrade",
]) {
  SHARED_STRINGS.set(text, text);
}

/** The last value seen of each common header name (bounded: one entry per name above). */
const RECENT_VALUES = new Map<string, string>();

// One list is filled at a time: engines hand headers over synchronously, one request at a time.
let scratch: string[] = [];
let filled = 0;

/**
 * Collects an engine's headers into the raw list {@link UpgradeRequest} keeps: call
 * {@link addHeader} (or {@link addHeaderValueFirst}, shaped for `Headers.forEach`) for each field,
 * then {@link endHeaderList}. The list is sized exactly and shares common strings; the callbacks
 * are module functions, so collecting allocates nothing else.
 */
export function addHeader(name: string, value: string): void {
  const sharedName = SHARED_STRINGS.get(name);
  scratch[filled++] = sharedName ?? name;
  let kept = SHARED_STRINGS.get(value);
  if (kept === undefined && sharedName !== undefined) {
    // The last value of a common header (host, origin, user-agent): many clients send the same.
    const recent = RECENT_VALUES.get(sharedName);
    if (recent === value) kept = recent;
    else RECENT_VALUES.set(sharedName, value);
  }
  scratch[filled++] = kept ?? value;
}

/** {@link addHeader} with the arguments in `Headers.forEach` order. */
export function addHeaderValueFirst(value: string, name: string): void {
  addHeader(name, value);
}

/** The headers added since the last call, as an exactly sized raw list. */
export function endHeaderList(): string[] {
  const list = scratch.slice(0, filled);
  // Let go of the strings, and of a list an unusual request made large.
  if (filled > 256) scratch = [];
  else scratch.fill("", 0, filled);
  filled = 0;
  return list;
}

/** A plain, immutable view of the upgrade request. */
/** Views of the request computed on first use; most connections never need one. */
interface DerivedViews {
  path: string | undefined;
  query: Record<string, string> | undefined;
  cookies: Record<string, string> | undefined;
  protocols: readonly string[] | undefined;
}

function noViews(): DerivedViews {
  return { path: undefined, query: undefined, cookies: undefined, protocols: undefined };
}

const NO_PROTOCOLS: readonly string[] = Object.freeze([]);

// The last address and URL seen: a storm of connections from one address to one path shares
// one copy of each.
let lastAddress = "";
let lastUrl = "";

export class UpgradeRequest {
  /** HTTP method (always `GET` for a valid upgrade). */
  readonly method: string;
  /** Path and query as sent, e.g. `/chat?room=1`. */
  readonly url: string;
  /** The client's IP address as text. */
  readonly remoteAddress: string;
  /** The raw list until `headers` is read, then the record. */
  #source: HeaderSource;
  #derived: DerivedViews | undefined = undefined;

  constructor(method: string, url: string, headers: HeaderSource, remoteAddress: string) {
    this.method = method === "GET" ? "GET" : method;
    if (url !== lastUrl) lastUrl = url;
    this.url = lastUrl;
    this.#source = headers;
    const address = clientAddress(remoteAddress);
    if (address !== lastAddress) lastAddress = address;
    this.remoteAddress = lastAddress;
  }

  /** Request headers with lower-cased names (repeated ones joined with ", "), made on first use. */
  get headers(): HeaderRecord {
    const source = this.#source;
    if (!Array.isArray(source)) return source as HeaderRecord;
    const record: HeaderRecord = {};
    for (let i = 0; i + 1 < source.length; i += 2) {
      const name = (source[i] as string).toLowerCase();
      const value = source[i + 1] as string;
      const previous = record[name];
      record[name] = previous === undefined ? value : `${previous}, ${value}`;
    }
    this.#source = record;
    return record;
  }

  /** How many header fields the request has (repeated names counted each time as given). */
  get headerCount(): number {
    const source = this.#source;
    return Array.isArray(source) ? source.length / 2 : Object.keys(source).length;
  }

  /** One header by its lower-cased name (repeated ones joined with ", "), without making the record. */
  header(name: string): string | undefined {
    const source = this.#source;
    if (!Array.isArray(source)) return (source as HeaderRecord)[name];
    let found: string | undefined;
    for (let i = 0; i + 1 < source.length; i += 2) {
      if (!sameName(source[i] as string, name)) continue;
      const value = source[i + 1] as string;
      found = found === undefined ? value : `${found}, ${value}`;
    }
    return found;
  }

  /** The path without the query string, e.g. `/chat`. */
  get path(): string {
    const q = this.url.indexOf("?");
    if (q === -1) return this.url;
    this.#derived ??= noViews();
    const views = this.#derived;
    views.path ??= this.url.slice(0, q);
    return views.path;
  }

  /** Query parameters (the first value of a repeated name). */
  get query(): Record<string, string> {
    this.#derived ??= noViews();
    const views = this.#derived;
    if (views.query === undefined) {
      const q = this.url.indexOf("?");
      views.query = q === -1 ? {} : parseQuery(this.url.slice(q + 1));
    }
    return views.query;
  }

  /** Cookies from the `Cookie` header. */
  get cookies(): Record<string, string> {
    this.#derived ??= noViews();
    const views = this.#derived;
    views.cookies ??= parseCookieHeader(this.header("cookie"));
    return views.cookies;
  }

  /** Subprotocols the client offered in `Sec-WebSocket-Protocol`, in order. */
  get protocols(): readonly string[] {
    const cached = this.#derived?.protocols;
    if (cached !== undefined) return cached;
    const header = this.header("sec-websocket-protocol");
    if (!header) return NO_PROTOCOLS;
    const protocols = header
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    this.#derived ??= noViews();
    this.#derived.protocols = protocols;
    return protocols;
  }

  /** The `Origin` header, or `undefined` for non-browser clients. */
  get origin(): string | undefined {
    return this.header("origin");
  }
}

/**
 * A client address in one form on every engine: an IPv4 client of a dual-stack socket
 * (`::ffff:127.0.0.1`) is written as IPv4 (`127.0.0.1`), so per-IP limits and allowlists see one
 * address whatever the engine reports.
 */
export function clientAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".", 7) ? address.slice(7) : address;
}

/** Parses `a=1&b=2` into `{ a: "1", b: "2" }` (first value wins for repeated names). */
export function parseQuery(search: string): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  if (search.length === 0) return result;
  for (const [key, value] of new URLSearchParams(search)) {
    if (!(key in result)) result[key] = value;
  }
  return result;
}
