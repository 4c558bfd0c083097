/**
 * The response builder of HTTP handlers; turned into a web-standard `Response` at the end.
 */

import { type CookieOptions, serializeCookie } from "./cookies.js";

/** A body the response builder accepts. */
export type ResponseBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | Blob | null;

const STATUS_MIN = 200;
const STATUS_MAX = 599;

/** What HTTP handlers receive as `res`. Methods that set a status or headers chain. */
export class VerbResponse {
  #status = 200;
  readonly #headers = new Headers();
  #body: ResponseBody = null;
  #finished = false;
  #pending: Promise<void> | undefined;
  #onFinish: (() => void) | undefined;

  /** The status code so far. */
  get statusCode(): number {
    return this.#status;
  }

  /** Whether a body-sending method (`json`, `html`, `send`, ...) was called. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Headers set so far. */
  get headers(): Headers {
    return this.#headers;
  }

  /** Sets the status code (100–599 except 101, which only `res.upgrade()` produces). */
  status(code: number): this {
    if (!Number.isInteger(code) || code < 100 || code > STATUS_MAX || code === 101) {
      throw new RangeError(`Invalid HTTP status ${String(code)}: use an integer from ${STATUS_MIN} to ${STATUS_MAX}`);
    }
    this.#status = code;
    return this;
  }

  /** Sets a header (replacing an earlier value; `Set-Cookie` is appended). */
  header(name: string, value: string): this {
    if (name.toLowerCase() === "set-cookie") this.#headers.append(name, value);
    else this.#headers.set(name, value);
    return this;
  }

  /** Adds a `Set-Cookie` header. */
  cookie(name: string, value: string, options?: CookieOptions): this {
    this.#headers.append("set-cookie", serializeCookie(name, value, options));
    return this;
  }

  /** Sends JSON (`application/json; charset=utf-8`). */
  json(value: unknown, status?: number): void {
    if (status !== undefined) this.status(status);
    const text = JSON.stringify(value);
    this.#finish(text === undefined ? "null" : text, "application/json; charset=utf-8");
  }

  /** Sends HTML (`text/html; charset=utf-8`). */
  html(markup: string, status?: number): void {
    if (status !== undefined) this.status(status);
    this.#finish(markup, "text/html; charset=utf-8");
  }

  /** Sends plain text (`text/plain; charset=utf-8`). */
  text(body: string, status?: number): void {
    if (status !== undefined) this.status(status);
    this.#finish(body, "text/plain; charset=utf-8");
  }

  /**
   * Sends a body, choosing the type from its value: strings as HTML (unless a `Content-Type` is
   * set), bytes and streams as `application/octet-stream`, other values as JSON.
   */
  send(body?: ResponseBody | number | boolean | object): void {
    if (body === undefined || body === null) this.#finish(null, undefined);
    else if (typeof body === "string") this.#finish(body, "text/html; charset=utf-8");
    else if (
      body instanceof Uint8Array ||
      body instanceof ArrayBuffer ||
      body instanceof ReadableStream ||
      body instanceof Blob
    ) {
      this.#finish(body, "application/octet-stream");
    } else this.json(body);
  }

  /** Redirects (302 by default). */
  redirect(location: string, status = 302): void {
    if (status < 300 || status > 399) throw new RangeError(`A redirect status must be 3xx; got ${status}`);
    this.#status = status;
    this.#headers.set("location", location);
    this.#finish(null, undefined);
  }

  /** Ends the response without a body (status so far, 204 if none was set). */
  end(): void {
    this.#finish(null, undefined);
  }

  /** @internal Marks the response as finished by an asynchronous producer (e.g. `sendFile`). */
  defer(work: Promise<void>): void {
    this.#finished = true;
    this.#pending = work;
  }

  /** @internal Sets the body without touching the finished flag (used by deferred producers). */
  setBody(body: ResponseBody, contentType: string | undefined): void {
    this.#body = body;
    if (contentType !== undefined && !this.#headers.has("content-type")) this.#headers.set("content-type", contentType);
  }

  /** @internal Resolves once a body-sending method was called. */
  whenFinished(): Promise<void> {
    if (this.#finished) return this.#pending ?? Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#onFinish = resolve;
    }).then(() => this.#pending);
  }

  /** @internal Waits for deferred work (e.g. a file being opened). */
  async settled(): Promise<void> {
    if (this.#pending !== undefined) await this.#pending;
  }

  /** Builds the web-standard `Response`. */
  toResponse(): Response {
    const body = this.#body;
    if (!this.#headers.has("content-length")) {
      if (typeof body === "string") this.#headers.set("content-length", String(Buffer.byteLength(body)));
      else if (body instanceof Uint8Array || body instanceof ArrayBuffer)
        this.#headers.set("content-length", String(body.byteLength));
      else if (body instanceof Blob) this.#headers.set("content-length", String(body.size));
    }
    return new Response(body as BodyInit | null, { status: this.#status, headers: this.#headers });
  }

  #finish(body: ResponseBody, contentType: string | undefined): void {
    if (this.#finished) throw new Error("The response was already sent");
    this.#finished = true;
    this.setBody(body, contentType);
    const notify = this.#onFinish;
    if (notify !== undefined) {
      this.#onFinish = undefined;
      notify();
    }
  }
}
