/**
 * The response builder of HTTP handlers; turned into a web-standard `Response` at the end.
 */

import type { VerbSocket } from "../socket.js";
import { type CookieOptions, serializeCookie } from "./cookies.js";
import { answerFile, type SendFileOptions } from "./send-file.js";

/** A body the response builder accepts. */
export type ResponseBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | Blob | null;

const STATUS_MIN = 200;
const STATUS_MAX = 599;

/** Options of `res.upgrade()`. */
export interface ResUpgradeOptions {
  /** Subprotocol to answer (must be one the client offered). Default: the server's `protocols` choice. */
  protocol?: string;
}

/** What a response needs to know about its request and server. */
export interface ResponseContext {
  /** Request method (HEAD answers carry no body). */
  readonly method: string;
  /** Request headers (conditional requests for `sendFile`). */
  readonly requestHeaders: Record<string, string>;
  /** Default root of `sendFile`. */
  readonly fileRoot: string;
  /** Present for WebSocket upgrade requests: creates the socket. */
  readonly upgrade?: (data: unknown, options: ResUpgradeOptions, headers: Headers) => VerbSocket<unknown>;
}

const NO_CONTEXT: ResponseContext = { method: "GET", requestHeaders: {}, fileRoot: "." };

/** What HTTP handlers receive as `res`. Methods that set a status or headers chain. */
export class VerbResponse {
  readonly #context: ResponseContext;
  #socket: VerbSocket<unknown> | undefined;
  #status = 200;
  readonly #headers = new Headers();
  #body: ResponseBody = null;
  #finished = false;
  #pending: Promise<void> | undefined;
  #onFinish: (() => void) | undefined;
  #web: Response | undefined;

  constructor(context: ResponseContext = NO_CONTEXT) {
    this.#context = context;
  }

  /** The socket `upgrade()` created, if it was called. */
  get upgradedSocket(): VerbSocket<unknown> | undefined {
    return this.#socket;
  }

  /** The status code so far. */
  get statusCode(): number {
    return this.#web?.status ?? this.#status;
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

  /** Ends the response without a body. */
  end(): void {
    this.#finish(null, undefined);
  }

  /**
   * Sends a file under `options.root` (default: the server's `fileRoot`, the working directory):
   * Content-Type from the extension, Content-Length, ETag and Last-Modified, 304 for a fresh
   * conditional request, 403 for a path leaving the root, 404 for a missing file. The response is
   * finished at once; the file is opened asynchronously (awaiting the returned promise is optional).
   */
  sendFile(path: string, options: SendFileOptions = {}): Promise<void> {
    if (this.#finished) throw new Error("The response was already sent");
    const work = answerFile(
      path,
      options.root ?? this.#context.fileRoot,
      this.#context.requestHeaders,
      this.#context.method,
      options,
    ).then((answer) => {
      this.#status = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) this.#headers.set(name, value);
      this.#body = answer.body;
    });
    this.defer(work);
    // The pipeline awaits `work` and answers 500 if it fails; the caller's copy must not go unhandled.
    return work.then(
      () => {},
      () => {},
    );
  }

  /** Sends a web `Response` as is (what returning it from a handler does). */
  respond(response: Response): void {
    if (this.#finished) throw new Error("The response was already sent");
    this.#finished = true;
    this.#web = response;
    this.#notify();
  }

  /**
   * Accepts a WebSocket upgrade on this route and returns the socket. Headers set on `res` so far
   * (e.g. cookies) go on the 101 response. Listeners added with `ws.on(...)` right away, or after
   * an `await`, receive every message: messages wait until a `message` listener exists.
   * Throws when the request is not a WebSocket upgrade.
   */
  upgrade<Data = Record<string, unknown>>(data?: Data, options: ResUpgradeOptions = {}): VerbSocket<Data> {
    const upgrade = this.#context.upgrade;
    if (upgrade === undefined) throw new Error("res.upgrade() needs a WebSocket upgrade request (check req.headers.upgrade)");
    if (this.#finished) throw new Error("The response was already sent");
    this.#socket = upgrade(data, options, this.#headers);
    this.#finished = true;
    this.#notify();
    return this.#socket as VerbSocket<Data>;
  }
  /** @internal Marks the response as finished by an asynchronous producer (e.g. `sendFile`). */
  defer(work: Promise<void>): void {
    this.#finished = true;
    this.#pending = work;
    this.#notify();
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
    if (this.#web !== undefined) return this.#withOwnHeaders(this.#web);
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
    this.#notify();
  }

  /** Headers set on `res` (by middleware, say) also apply to a web Response; the Response's own win. */
  #withOwnHeaders(response: Response): Response {
    let merged: Headers | undefined;
    this.#headers.forEach((value, name) => {
      if (name === "set-cookie" || response.headers.has(name)) return;
      merged ??= new Headers(response.headers);
      merged.set(name, value);
    });
    const cookies = this.#headers.getSetCookie();
    if (cookies.length > 0) {
      merged ??= new Headers(response.headers);
      for (const cookie of cookies) merged.append("set-cookie", cookie);
    }
    if (merged === undefined) return response;
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
  }

  #notify(): void {
    const notify = this.#onFinish;
    if (notify !== undefined) {
      this.#onFinish = undefined;
      notify();
    }
  }
}
