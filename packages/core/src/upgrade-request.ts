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

/** A plain, immutable view of the upgrade request. */
export class UpgradeRequest {
  /** HTTP method (always `GET` for a valid upgrade). */
  readonly method: string;
  /** Path and query as sent, e.g. `/chat?room=1`. */
  readonly url: string;
  /** Request headers with lower-cased names. */
  readonly headers: HeaderRecord;
  /** The client's IP address as text. */
  readonly remoteAddress: string;
  #path: string | undefined;
  #query: Record<string, string> | undefined;
  #cookies: Record<string, string> | undefined;
  #protocols: string[] | undefined;

  constructor(method: string, url: string, headers: HeaderRecord, remoteAddress: string) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.remoteAddress = clientAddress(remoteAddress);
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
    this.#cookies ??= parseCookieHeader(this.headers.cookie);
    return this.#cookies;
  }

  /** Subprotocols the client offered in `Sec-WebSocket-Protocol`, in order. */
  get protocols(): string[] {
    if (this.#protocols === undefined) {
      const header = this.headers["sec-websocket-protocol"];
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
    return this.headers.origin;
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
