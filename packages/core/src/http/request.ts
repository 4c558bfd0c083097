/**
 * The request object of HTTP handlers: a plain view over a web-standard `Request`.
 */

import type { HeaderRecord } from "../upgrade-request.js";
import { parseQuery } from "../upgrade-request.js";
import { parseCookieHeader } from "./cookies.js";

/** Copies web `Headers` into a plain record with lower-cased names. */
export function headersToRecord(headers: Headers): HeaderRecord {
  const record: HeaderRecord = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/** Splits an absolute or origin-form URL into its path+query part. */
export function pathAndQuery(url: string): string {
  if (url.startsWith("/")) return url;
  const scheme = url.indexOf("://");
  const slash = scheme === -1 ? -1 : url.indexOf("/", scheme + 3);
  if (slash === -1) {
    const q = url.indexOf("?", scheme === -1 ? 0 : scheme + 3);
    return q === -1 ? "/" : `/${url.slice(q)}`;
  }
  return url.slice(slash);
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The absolute URL of a request from its Host header and request target. A Host that is not a
 * plain host[:port] (e.g. `x/admin?`) is replaced by `localhost`, so it can never change the path
 * the router sees.
 */
export function requestUrl(host: string | undefined, target: string): string {
  const safeHost = host !== undefined && HOST.test(host) ? host : "localhost";
  return `http://${safeHost}${pathAndQuery(target)}`;
}

/** What HTTP handlers receive as `req`. */
export class VerbRequest<Body = unknown> {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path and query as requested, e.g. `/users/7?tab=posts`. */
  readonly url: string;
  /** Path without the query string, percent-encoded as sent. */
  readonly path: string;
  /** Route parameters (`/users/:id` → `{ id: "7" }`; a wildcard's match is `params["*"]`). */
  params: Record<string, string> = {};
  /** Request headers with lower-cased names. */
  readonly headers: HeaderRecord;
  /** The client's IP address. */
  readonly ip: string;
  /** The parsed body: an object for JSON and forms, a string for text, a Buffer otherwise, `undefined` without a body. */
  body: Body = undefined as Body;
  #raw: Request | undefined;
  #query: Record<string, string> | undefined;
  #cookies: Record<string, string> | undefined;

  constructor(method: string, url: string, headers: HeaderRecord, ip: string, raw?: Request) {
    this.method = method;
    this.url = url;
    const q = url.indexOf("?");
    this.path = q === -1 ? url : url.slice(0, q);
    this.headers = headers;
    this.ip = ip;
    this.#raw = raw;
  }

  /** Builds the view of a web `Request`. */
  static from(request: Request, ip: string): VerbRequest {
    return new VerbRequest(request.method, pathAndQuery(request.url), headersToRecord(request.headers), ip, request);
  }

  /** Query parameters (first value of a repeated name). */
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

  /** The underlying web-standard `Request` (built on first use for upgrade requests). */
  get raw(): Request {
    if (this.#raw === undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.headers)) headers.append(name, value);
      this.#raw = new Request(requestUrl(this.headers.host, this.url), { method: this.method, headers });
    }
    return this.#raw;
  }

  /** A request header by name (case-insensitive). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }
}
