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

/** Whether `name` (any case) is `lower` (lower-case), without allocating. */
function sameName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const folded = code >= 65 && code <= 90 ? code + 32 : code;
    if (folded !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** A plain, immutable view of the upgrade request. */
export class UpgradeRequest {
  /** HTTP method (always `GET` for a valid upgrade). */
  readonly method: string;
  /** Path and query as sent, e.g. `/chat?room=1`. */
  readonly url: string;
  /** The client's IP address as text. */
  readonly remoteAddress: string;
  #source: HeaderSource;
  #parsed = false;
  #path: string | undefined;
  #query: Record<string, string> | undefined;
  #cookies: Record<string, string> | undefined;
  #protocols: string[] | undefined;

  constructor(method: string, url: string, headers: HeaderSource, remoteAddress: string) {
    this.method = method;
    this.url = url;
    this.#source = headers;
    this.#parsed = !Array.isArray(headers);
    this.remoteAddress = clientAddress(remoteAddress);
  }

  /** Request headers with lower-cased names (repeated ones joined with ", "), made on first use. */
  get headers(): HeaderRecord {
    if (!this.#parsed) {
      const raw = this.#source as readonly string[];
      const record: HeaderRecord = {};
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = (raw[i] as string).toLowerCase();
        const value = raw[i + 1] as string;
        const previous = record[name];
        record[name] = previous === undefined ? value : `${previous}, ${value}`;
      }
      this.#source = record;
      this.#parsed = true;
    }
    return this.#source as HeaderRecord;
  }

  /** How many header fields the request has (repeated names counted each time as given). */
  get headerCount(): number {
    return this.#parsed ? Object.keys(this.#source as HeaderRecord).length : (this.#source as readonly string[]).length / 2;
  }

  /** One header by its lower-cased name (repeated ones joined with ", "), without making the record. */
  header(name: string): string | undefined {
    if (this.#parsed) return (this.#source as HeaderRecord)[name];
    const raw = this.#source as readonly string[];
    let found: string | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (!sameName(raw[i] as string, name)) continue;
      const value = raw[i + 1] as string;
      found = found === undefined ? value : `${found}, ${value}`;
    }
    return found;
  }

  /** The path without the query string, e.g. `/chat`. */
  get path(): string {
    if (this.#path === undefined) {
      const q = this.url.indexOf("?");
      this.#path = q === -1 ? this.url : this.url.slice(0, q);
    }
    return this.#path;
  }

  /** Query parameters (the first value of a repeated name). */
  get query(): Record<string, string> {
    if (this.#query === undefined) {
      const q = this.url.indexOf("?");
      this.#query = q === -1 ? {} : parseQuery(this.url.slice(q + 1));
    }
    return this.#query;
  }

  /** Cookies from the `Cookie` header. */
  get cookies(): Record<string, string> {
    this.#cookies ??= parseCookieHeader(this.header("cookie"));
    return this.#cookies;
  }

  /** Subprotocols the client offered in `Sec-WebSocket-Protocol`, in order. */
  get protocols(): string[] {
    if (this.#protocols === undefined) {
      const header = this.header("sec-websocket-protocol");
      this.#protocols = header
        ? header
            .split(",")
            .map((p) => p.trim())
            .filter((p) => p.length > 0)
        : [];
    }
    return this.#protocols;
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
