/**
 * The HTTP side of an application: routes, middleware, the error handler and the pipeline every
 * request goes through (`app.fetch()`, and the upgrade decision for upgrade requests).
 */

import { asError } from "../guards.js";
import { clientAddress } from "../upgrade-request.js";
import { BodyError, hasBody, parseBody, readBodyBytes } from "./body.js";
import { jsonResponse, textResponse } from "./plain-response.js";
import { VerbRequest } from "./request.js";
import { type ResponseContext, VerbResponse } from "./response.js";
import { normalizePath, Router } from "./router.js";

/** What a handler may return: nothing (it used `res`) or a web `Response`. */
export type HandlerResult = void | Response | Promise<void | Response>;

/** An HTTP route handler. */
export type HttpHandler = (req: VerbRequest, res: VerbResponse) => HandlerResult;

/** Middleware: call `next()` to continue (await it to run code after the route); respond to stop. */
export type Middleware = (req: VerbRequest, res: VerbResponse, next: () => Promise<void>) => HandlerResult;

/** Turns an error thrown by middleware or a route into a response. */
export type ErrorHandler = (error: Error, req: VerbRequest, res: VerbResponse) => HandlerResult;

/** The default request body limit in bytes. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** How long a handler may take to respond after it returned (it may answer from a timer). */
const LATE_RESPONSE_MS = 30_000;

interface MiddlewareEntry {
  /** Path prefix (normalized), or undefined for every path. */
  prefix: string | undefined;
  fn: Middleware;
}

/** What the pipeline asks of the application around it. */
export interface PipelineHost {
  /** Whether a plain request on `path` should get 426 (a WebSocket-only path) rather than 404. */
  isWebSocketPath(path: string): boolean;
  logError(message: string, error: unknown): void;
}

/** Routes, middleware and the error handler, and the pipeline that runs them. */
export class HttpPipeline {
  readonly routes = new Router<HttpHandler>();
  readonly #middleware: MiddlewareEntry[] = [];
  readonly #host: PipelineHost;
  #errorHandler: ErrorHandler | undefined;
  #fileRoot: string | undefined;
  /** Request bodies above this many bytes get 413. */
  bodyLimit = DEFAULT_BODY_LIMIT;

  constructor(host: PipelineHost) {
    this.#host = host;
  }

  /** The directory `res.sendFile` serves from (default: the working directory when first used). */
  get fileRoot(): string {
    this.#fileRoot ??= process.cwd();
    return this.#fileRoot;
  }

  set fileRoot(root: string) {
    this.#fileRoot = root;
  }

  /** Whether any middleware is registered (upgrades then go through the pipeline). */
  get hasMiddleware(): boolean {
    return this.#middleware.length > 0;
  }

  /** See `app.use()`. */
  use(pathOrMiddleware: string | Middleware, maybe?: Middleware): void {
    const prefix = typeof pathOrMiddleware === "string" ? normalizePath(pathOrMiddleware) : undefined;
    const fn = typeof pathOrMiddleware === "string" ? maybe : pathOrMiddleware;
    if (typeof fn !== "function") throw new TypeError("app.use() needs a middleware function");
    if (prefix !== undefined && !prefix.startsWith("/"))
      throw new TypeError(`Middleware path must start with "/"; got ${prefix}`);
    if (fn.length === 4) {
      const handler = fn as unknown as (error: Error, req: VerbRequest, res: VerbResponse, next: () => void) => HandlerResult;
      this.onError((error, req, res) => handler(error, req, res, () => {}));
      return;
    }
    this.#middleware.push({ prefix: prefix === "/" ? undefined : prefix, fn });
  }

  /** See `app.onError()`. */
  onError(handler: ErrorHandler): void {
    if (typeof handler !== "function") throw new TypeError("app.onError() needs a function");
    this.#errorHandler = handler;
  }

  /** Adds a route; `method` `*` matches every method. */
  route(method: string, path: string, handler: HttpHandler): void {
    if (typeof handler !== "function") throw new TypeError(`The handler of ${method} ${path} must be a function`);
    this.routes.add(method, path, handler);
  }

  /** A response object for `req`, serving files from the configured root. */
  newResponse(req: VerbRequest, upgrade?: ResponseContext["upgrade"]): VerbResponse {
    const context = { method: req.method, requestHeaders: req.headers, fileRoot: this.fileRoot };
    return new VerbResponse(upgrade === undefined ? context : { ...context, upgrade });
  }

  /** Answers an HTTP request: body, middleware, route, error handler. Never rejects. */
  async fetch(request: Request, remoteAddress: string): Promise<Response> {
    const req = VerbRequest.from(request, clientAddress(remoteAddress));
    try {
      if (hasBody(request)) {
        const bytes = await readBodyBytes(request, this.bodyLimit);
        req.body = parseBody(bytes, request.headers.get("content-type"));
      }
    } catch (error) {
      if (error instanceof BodyError) return jsonResponse(error.status, { error: error.message });
      this.#host.logError(`reading the body of ${request.method} ${req.path}`, error);
      return textResponse(400, "Bad Request");
    }
    const res = this.newResponse(req);
    let response: Response;
    try {
      await this.run(req, res, () => this.routeHttp(req, res));
      if (!res.finished) await this.#lateResponse(res);
      await res.settled();
      response = res.toResponse();
    } catch (error) {
      response = await this.answerError(asError(error), req);
    }
    if (req.method === "HEAD" && response.body !== null) {
      response = new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  }

  async #lateResponse(res: VerbResponse): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the handler did not respond within ${LATE_RESPONSE_MS} ms`)), LATE_RESPONSE_MS);
    });
    try {
      await Promise.race([res.whenFinished(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error handler's answer to `error` (default: 500). Never rejects. */
  async answerError(error: Error, req: VerbRequest): Promise<Response> {
    const handler = this.#errorHandler;
    if (handler === undefined) {
      this.#host.logError(`${req.method} ${req.path} failed`, error);
      return textResponse(500, "Internal Server Error");
    }
    try {
      const res = this.newResponse(req);
      const result = await handler(error, req, res);
      if (result instanceof Response) return result;
      if (!res.finished) return textResponse(500, "Internal Server Error");
      await res.settled();
      return res.toResponse();
    } catch (inner) {
      this.#host.logError("the error handler failed", inner);
      return textResponse(500, "Internal Server Error");
    }
  }

  /** Runs the middleware that applies to `req.path`, then `final`. */
  async run(req: VerbRequest, res: VerbResponse, final: () => Promise<void>): Promise<void> {
    const path = req.path;
    const chain: Middleware[] = [];
    for (const entry of this.#middleware) {
      const prefix = entry.prefix;
      if (prefix === undefined || path === prefix || path.startsWith(`${prefix}/`)) chain.push(entry.fn);
    }
    let index = 0;
    const next = async (): Promise<void> => {
      if (res.finished) return;
      if (index < chain.length) {
        const middleware = chain[index++] as Middleware;
        const result = await middleware(req, res, next);
        if (result instanceof Response && !res.finished) res.respond(result);
      } else if (index === chain.length) {
        index++;
        await final();
      }
    };
    await next();
  }

  /** The route's answer to `req`: 404, 405 with Allow, 426 on WebSocket-only paths, or the handler's. */
  async routeHttp(req: VerbRequest, res: VerbResponse): Promise<void> {
    const match = this.routes.match(req.method, req.path);
    if (match === undefined) {
      if (this.#host.isWebSocketPath(req.path)) {
        res.respond(
          textResponse(426, "Upgrade Required: this endpoint speaks WebSocket", { upgrade: "websocket", connection: "Upgrade" }),
        );
      } else {
        res.respond(textResponse(404, "Not Found"));
      }
      return;
    }
    if (match.kind === "method") {
      res.respond(textResponse(405, "Method Not Allowed", { allow: match.allow.join(", ") }));
      return;
    }
    req.params = match.params;
    const result = await match.handler(req, res);
    if (result instanceof Response && !res.finished) res.respond(result);
  }
}
