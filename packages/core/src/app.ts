/**
 * `createServer()` and the application object: options, middleware, HTTP routes, WebSocket
 * routes, the HTTP pipeline, the upgrade decision, listen and close.
 */

import type { AdapterHost, AdapterServer, UpgradeDecision, VerbAdapter } from "./adapter.js";
import { type AuthOptions, describeUser, extractToken, type TokenCarrier } from "./auth.js";
import type { Backplane } from "./backplane.js";
import { CloseCode } from "./close.js";
import type { UpgradeHookResult, UpgradePolicy, WebSocketHandlers, WebSocketRoute } from "./handlers.js";
import { BodyError, hasBody, parseBody, readBodyBytes } from "./http/body.js";
import { VerbRequest } from "./http/request.js";
import { type ResUpgradeOptions, VerbResponse } from "./http/response.js";
import { normalizePath, Router } from "./http/router.js";
import { type Logger, log, quietLogger } from "./logger.js";
import { type Metrics, toPrometheus } from "./metrics.js";
import { MemoryOfflineStore } from "./offline-queue.js";
import {
  assertBackplane,
  assertBodyLimit,
  assertFileRoot,
  assertHandlers,
  assertHostname,
  assertLogger,
  assertPort,
  assertServerOptionKeys,
  DEFAULT_LIMITS,
  type DefaultSocketData,
  type ResolvedResilience,
  type ResolvedWebSocketLimits,
  resolveResilience,
  resolveWebSocketLimits,
  type ServerOptions,
  type WebSocketOptions,
} from "./options.js";
import { ClientRegistry } from "./registry.js";
import { type CloseSocketsOptions, ServerRuntime } from "./runtime.js";
import { resolveAdapter } from "./select-adapter.js";
import { payloadOf, type SendData, type SendOptions, ServerSocket } from "./socket.js";
import { assertTopic } from "./topics.js";
import type { UpgradeRequest } from "./upgrade-request.js";
import { UserDirectory } from "./users.js";

/** What the server speaks. `WEBSOCKET` answers plain HTTP requests with 426 unless a route matches. */
export const ServerProtocol = {
  /** HTTP routes, plus WebSocket upgrades when `websocket` handlers or `app.ws()` routes exist. */
  HTTP: "http",
  /** A WebSocket server: upgrades on every path. */
  WEBSOCKET: "websocket",
} as const;

/** One of {@link ServerProtocol}'s values. */
export type ServerProtocol = (typeof ServerProtocol)[keyof typeof ServerProtocol];

/** What a handler may return: nothing (it used `res`) or a web `Response`. */
export type HandlerResult = void | Response | Promise<void | Response>;

/** An HTTP route handler. */
export type HttpHandler = (req: VerbRequest, res: VerbResponse) => HandlerResult;

/** Middleware: call `next()` to continue (await it to run code after the route); respond to stop. */
export type Middleware = (req: VerbRequest, res: VerbResponse, next: () => Promise<void>) => HandlerResult;

/** Turns an error thrown by middleware or a route into a response. */
export type ErrorHandler = (error: Error, req: VerbRequest, res: VerbResponse) => HandlerResult;

/** Options of a graceful close. */
export interface CloseOptions extends CloseSocketsOptions {
  /**
   * Tell every client first: `true` sends the spec's
   * `{"type":"server_shutdown","message":"Server is shutting down","timestamp":...}`; a string
   * or object (sent as JSON) sends that.
   */
  notify?: boolean | string | object;
  /** Milliseconds to wait for send buffers to drain before closing (new upgrades get 503 meanwhile). Default 5000. */
  grace?: number;
}

/** Options of `app.closeOnSignals()`. */
export interface SignalOptions extends CloseOptions {
  /** Default `["SIGTERM", "SIGINT"]`. */
  signals?: NodeJS.Signals[];
  /** Exit the process with this code once closed; `false` to stay. Default 0. */
  exitCode?: number | false;
}

/** The running server, as `listen()` resolves it. */
export interface ServerHandle {
  /** The bound port. */
  readonly port: number;
  /** The bound interface. */
  readonly hostname: string;
  /** `http://host:port` (with `localhost` for a wildcard interface). */
  readonly url: string;
  /** Name of the adapter serving it (`bun`, `node`, `uws`, ...). */
  readonly adapter: string;
  /** Graceful close, as `app.close()`. */
  close(options?: CloseOptions): Promise<void>;
  /** Same as `app.publish`. */
  publish(topic: string, data: SendData, options?: SendOptions): boolean;
  /** Same as `app.subscriberCount`. */
  subscriberCount(topic: string): number;
}

const DEFAULT_PORT = 3000;
const DEFAULT_HOSTNAME = "0.0.0.0";
const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** How long a handler may take to respond after it returned (it may answer from a timer). */
const LATE_RESPONSE_MS = 30_000;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function textResponse(status: number, body: string, headers?: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(body)), ...headers },
  });
}

function jsonResponse(status: number, value: unknown): Response {
  const body = JSON.stringify(value);
  return new Response(body, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)) },
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie") pairs.push([name, value]);
  });
  for (const cookie of headers.getSetCookie()) pairs.push(["set-cookie", cookie]);
  return pairs;
}

/** The first offered subprotocol the server supports (client's order), or `""`. */
function chooseProtocol(offered: readonly string[], supported: readonly string[] | undefined): string {
  if (supported === undefined) return "";
  for (const protocol of offered) if (supported.includes(protocol)) return protocol;
  return "";
}

function originAllowed(policy: UpgradePolicy<unknown>["allowedOrigins"], request: UpgradeRequest): boolean {
  if (policy === undefined) return true;
  const origin = request.origin;
  // Only browsers send Origin, and only browsers can be tricked into cross-site requests.
  if (origin === undefined) return true;
  return typeof policy === "function" ? policy(origin, request) : policy.includes(origin);
}

function definedHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const defined: Record<string, string> = {};
  if (headers !== undefined) for (const [name, value] of Object.entries(headers)) if (value !== undefined) defined[name] = value;
  return defined;
}

function isReject(result: object): result is { status: number; headers?: Record<string, string | undefined>; body?: string } {
  return typeof (result as { status?: unknown }).status === "number";
}

interface MiddlewareEntry {
  /** Path prefix (normalized), or undefined for every path. */
  prefix: string | undefined;
  fn: Middleware;
}

/** The outcome of authentication for one upgrade. */
interface AuthOutcome {
  user: unknown;
  carrier: TokenCarrier | undefined;
  options: AuthOptions<unknown>;
}

/** A socket claim made while deciding an upgrade. */
type Claim =
  | { kind: "socket"; socket: ServerSocket<unknown, unknown>; headers: Headers }
  | { kind: "refused"; socket: ServerSocket<unknown, unknown>; decision: UpgradeDecision }
  | { kind: "hooks"; route: WebSocketRoute<unknown> };

/**
 * A Verb application. Create it with {@link createServer}; configure with `withOptions`, add
 * middleware and routes, then `listen()`.
 */
export class VerbApp<Data = DefaultSocketData> {
  /** What the server speaks. */
  readonly protocol: ServerProtocol;
  #port: number | undefined;
  #hostname: string | undefined;
  #adapterChoice: ServerOptions<Data>["adapter"];
  #websocket: WebSocketOptions<Data> | undefined;
  #limits: ResolvedWebSocketLimits = DEFAULT_LIMITS;
  #resilience: ResolvedResilience = resolveResilience({});
  #logger: Logger = quietLogger;
  #backplane: Backplane | undefined;
  #bodyLimit = DEFAULT_BODY_LIMIT;
  #fileRoot: string | undefined;
  readonly #routes = new Router<HttpHandler>();
  readonly #wsRoutes = new Router<WebSocketRoute<Data>>();
  readonly #middleware: MiddlewareEntry[] = [];
  #errorHandler: ErrorHandler | undefined;
  #runtime: ServerRuntime | undefined;
  #adapterServer: AdapterServer | undefined;
  #handle: ServerHandle | undefined;
  #closing: Promise<void> | undefined;
  /** Registered clients and rooms (the spec's `WebSocketManager`). */
  readonly clients: ClientRegistry<Data>;
  /** Sockets by user id (the spec's `NotificationService`). */
  readonly users: UserDirectory<Data>;

  constructor(protocol: ServerProtocol = ServerProtocol.HTTP) {
    this.clients = new ClientRegistry<Data>(this);
    this.users = new UserDirectory<Data>(this);
    if (protocol !== ServerProtocol.HTTP && protocol !== ServerProtocol.WEBSOCKET) {
      throw new TypeError(
        `Unknown server protocol ${JSON.stringify(protocol)}: use ServerProtocol.HTTP or ServerProtocol.WEBSOCKET`,
      );
    }
    this.protocol = protocol;
  }

  /**
   * Sets options; may be called more than once (later values win, `websocket` merges key by key).
   * Throws a {@link VerbOptionsError} naming any option that cannot be honoured.
   */
  withOptions(options: ServerOptions<Data>): this {
    assertServerOptionKeys(options);
    if (options.port !== undefined) this.#port = assertPort("port", options.port);
    if (options.hostname !== undefined) this.#hostname = assertHostname("hostname", options.hostname);
    if (options.adapter !== undefined) this.#adapterChoice = options.adapter;
    if (options.bodyLimit !== undefined) this.#bodyLimit = assertBodyLimit(options.bodyLimit);
    if (options.fileRoot !== undefined) this.#fileRoot = assertFileRoot(options.fileRoot);
    if (options.logger !== undefined) this.#logger = assertLogger(options.logger);
    if (options.backplane !== undefined) this.#backplane = assertBackplane(options.backplane);
    if (options.websocket !== undefined) {
      const merged = { ...this.#websocket, ...options.websocket } as WebSocketOptions<Data>;
      assertHandlers(merged, "websocket.");
      const limits = resolveWebSocketLimits(merged);
      this.#resilience = resolveResilience(merged);
      this.#limits = limits;
      this.#websocket = merged;
    }
    return this;
  }

  /** The validated limits in force (defaults filled in). */
  get limits(): ResolvedWebSocketLimits {
    return this.#limits;
  }

  /** The running server, if `listen()` resolved and `close()` was not called. */
  get server(): ServerHandle | undefined {
    return this.#handle;
  }

  /**
   * Sends to every subscriber of `topic`, from anywhere (an HTTP route, a timer), each under its
   * own backpressure limit, compressed by the same rule as `send`. Returns whether anyone
   * subscribes (false when the server is not listening).
   */
  publish(topic: string, data: SendData, options?: SendOptions): boolean {
    assertTopic(topic);
    const runtime = this.#runtime;
    if (runtime === undefined) return false;
    const payload = payloadOf(data);
    const isBinary = options?.binary ?? typeof payload !== "string";
    const compress = options?.compress ?? runtime.shouldCompress(payload);
    return runtime.publish(topic, payload, isBinary, compress) > 0;
  }

  /**
   * Publishes like `publish` and resolves with how many local subscribers and how many other
   * instances (with a backplane) received it.
   */
  async deliver(topic: string, data: SendData, options?: SendOptions): Promise<{ local: number; remote: number }> {
    assertTopic(topic);
    const runtime = this.#runtime;
    if (runtime === undefined) return { local: 0, remote: 0 };
    const payload = payloadOf(data);
    const isBinary = options?.binary ?? typeof payload !== "string";
    const compress = options?.compress ?? runtime.shouldCompress(payload);
    return runtime.deliver(topic, payload, isBinary, compress);
  }

  /** Whether a backplane carries publishes to other instances. */
  get hasBackplane(): boolean {
    return this.#backplane !== undefined;
  }

  /** Counters and gauges of the running server (zeros when it is not listening). */
  metrics(): Metrics {
    return (this.#runtime ?? new ServerRuntime(this.#limits, this.#resilience, {})).metrics();
  }

  /** The metrics in the Prometheus text format, e.g. for `app.get("/metrics", ...)`. */
  metricsText(labels?: Record<string, string>): string {
    return toPrometheus(this.metrics(), labels);
  }

  #logError(message: string, error: unknown): void {
    log(this.#logger, "error", { err: error }, message);
  }

  /** How many sockets subscribe to `topic` (0 when the server is not listening). */
  subscriberCount(topic: string): number {
    assertTopic(topic);
    return this.#runtime?.topics.count(topic) ?? 0;
  }

  /**
   * Adds middleware for every path, or for `path` and everything below it. A function with four
   * parameters `(error, req, res, next)` is an error handler, like {@link onError}.
   */
  use(middleware: Middleware): this;
  use(path: string, middleware: Middleware): this;
  use(pathOrMiddleware: string | Middleware, maybe?: Middleware): this {
    const prefix = typeof pathOrMiddleware === "string" ? normalizePath(pathOrMiddleware) : undefined;
    const fn = typeof pathOrMiddleware === "string" ? maybe : pathOrMiddleware;
    if (typeof fn !== "function") throw new TypeError("app.use() needs a middleware function");
    if (prefix !== undefined && !prefix.startsWith("/"))
      throw new TypeError(`Middleware path must start with "/"; got ${prefix}`);
    if (fn.length === 4) {
      const handler = fn as unknown as (error: Error, req: VerbRequest, res: VerbResponse, next: () => void) => HandlerResult;
      return this.onError((error, req, res) => handler(error, req, res, () => {}));
    }
    this.#middleware.push({ prefix: prefix === "/" ? undefined : prefix, fn });
    return this;
  }

  /** Sets the error handler: it turns anything thrown by middleware or routes into a response (default: 500). */
  onError(handler: ErrorHandler): this {
    if (typeof handler !== "function") throw new TypeError("app.onError() needs a function");
    this.#errorHandler = handler;
    return this;
  }

  /** Adds a GET route (also serves HEAD). Upgrade requests reach GET routes too: see `res.upgrade()`. */
  get(path: string, handler: HttpHandler): this {
    return this.#route("GET", path, handler);
  }
  /** Adds a POST route. */
  post(path: string, handler: HttpHandler): this {
    return this.#route("POST", path, handler);
  }
  /** Adds a PUT route. */
  put(path: string, handler: HttpHandler): this {
    return this.#route("PUT", path, handler);
  }
  /** Adds a PATCH route. */
  patch(path: string, handler: HttpHandler): this {
    return this.#route("PATCH", path, handler);
  }
  /** Adds a DELETE route. */
  delete(path: string, handler: HttpHandler): this {
    return this.#route("DELETE", path, handler);
  }
  /** Adds a HEAD route. */
  head(path: string, handler: HttpHandler): this {
    return this.#route("HEAD", path, handler);
  }
  /** Adds an OPTIONS route. */
  options(path: string, handler: HttpHandler): this {
    return this.#route("OPTIONS", path, handler);
  }
  /** Adds a route for every method. */
  all(path: string, handler: HttpHandler): this {
    return this.#route("*", path, handler);
  }

  /**
   * Adds a WebSocket route with its own hooks and upgrade policy. Limits come from
   * `withOptions({ websocket })`; a route without `upgrade`, `protocols` or `allowedOrigins`
   * uses the server-wide ones. Plain HTTP requests on the path get 426.
   */
  ws(path: string, route: WebSocketRoute<Data>): this {
    assertHandlers(route, `ws("${path}").`, true);
    this.#wsRoutes.add("GET", path, route);
    return this;
  }

  #route(method: string, path: string, handler: HttpHandler): this {
    if (typeof handler !== "function") throw new TypeError(`The handler of ${method} ${path} must be a function`);
    this.#routes.add(method, path, handler);
    return this;
  }

  get #root(): string {
    this.#fileRoot ??= process.cwd();
    return this.#fileRoot;
  }

  /** Answers an HTTP request without sockets: the same pipeline every adapter uses. Never rejects. */
  async fetch(request: Request, remoteAddress = ""): Promise<Response> {
    const req = VerbRequest.from(request, remoteAddress);
    try {
      if (hasBody(request)) {
        const bytes = await readBodyBytes(request, this.#bodyLimit);
        req.body = parseBody(bytes, request.headers.get("content-type"));
      }
    } catch (error) {
      if (error instanceof BodyError) return jsonResponse(error.status, { error: error.message });
      this.#logError(`reading the body of ${request.method} ${req.path}`, error);
      return textResponse(400, "Bad Request");
    }
    const res = new VerbResponse({ method: req.method, requestHeaders: req.headers, fileRoot: this.#root });
    let response: Response;
    try {
      await this.#run(req, res, () => this.#routeHttp(req, res));
      if (!res.finished) await this.#lateResponse(res);
      await res.settled();
      response = res.toResponse();
    } catch (error) {
      response = await this.#answerError(asError(error), req);
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

  async #answerError(error: Error, req: VerbRequest): Promise<Response> {
    const handler = this.#errorHandler;
    if (handler === undefined) {
      this.#logError(`${req.method} ${req.path} failed`, error);
      return textResponse(500, "Internal Server Error");
    }
    try {
      const res = new VerbResponse({ method: req.method, requestHeaders: req.headers, fileRoot: this.#root });
      const result = await handler(error, req, res);
      if (result instanceof Response) return result;
      if (!res.finished) return textResponse(500, "Internal Server Error");
      await res.settled();
      return res.toResponse();
    } catch (inner) {
      this.#logError("the error handler failed", inner);
      return textResponse(500, "Internal Server Error");
    }
  }

  /** Runs the middleware that applies to `req.path`, then `final`. */
  async #run(req: VerbRequest, res: VerbResponse, final: () => Promise<void>): Promise<void> {
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

  async #routeHttp(req: VerbRequest, res: VerbResponse): Promise<void> {
    const match = this.#routes.match(req.method, req.path);
    if (match === undefined) {
      if (this.#isWebSocketPath(req.path)) {
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

  #isWebSocketPath(path: string): boolean {
    if (this.#wsRoutes.match("GET", path)?.kind === "found") return true;
    return this.protocol === ServerProtocol.WEBSOCKET;
  }

  /** Server-wide handlers answer upgrades that no route claims. */
  #globalRoute(): WebSocketRoute<unknown> | undefined {
    if (this.#websocket !== undefined) return this.#websocket as WebSocketRoute<unknown>;
    return this.protocol === ServerProtocol.WEBSOCKET ? {} : undefined;
  }

  #policy<K extends keyof UpgradePolicy<unknown>>(route: WebSocketRoute<unknown> | undefined, key: K): UpgradePolicy<unknown>[K] {
    return route?.[key] ?? (this.#websocket as UpgradePolicy<unknown> | undefined)?.[key];
  }

  #decideUpgrade(request: UpgradeRequest): UpgradeDecision | Promise<UpgradeDecision> {
    if (request.headers.upgrade?.toLowerCase() !== "websocket") {
      return { accept: false, response: textResponse(400, "Unsupported upgrade: only websocket is served") };
    }
    if (request.headers["sec-websocket-version"] !== "13") {
      return {
        accept: false,
        response: textResponse(426, "Unsupported WebSocket version: use 13", { "sec-websocket-version": "13" }),
      };
    }
    if (!/^[A-Za-z0-9+/]{22}==$/.test(request.headers["sec-websocket-key"] ?? "")) {
      return { accept: false, response: textResponse(400, "Invalid Sec-WebSocket-Key") };
    }
    const refused = this.#admit(request);
    if (refused !== undefined) return refused;
    const wsMatch = this.#wsRoutes.match("GET", request.path);
    const wsRoute = wsMatch?.kind === "found" ? (wsMatch.handler as WebSocketRoute<unknown>) : undefined;
    if (!originAllowed(this.#policy(wsRoute, "allowedOrigins"), request)) {
      return { accept: false, response: textResponse(403, "Forbidden: origin not allowed") };
    }
    // Fast path: nothing to run before the decision but the route's own policy.
    if (this.#middleware.length === 0) {
      const route = wsRoute ?? (this.#routes.match("GET", request.path) === undefined ? this.#globalRoute() : undefined);
      if (route !== undefined) return this.#acceptRoute(request, route, new Headers());
    }
    return this.#decideThroughPipeline(request, wsRoute);
  }

  async #decideThroughPipeline(request: UpgradeRequest, wsRoute: WebSocketRoute<unknown> | undefined): Promise<UpgradeDecision> {
    const runtime = this.#runtime as ServerRuntime;
    const req = new VerbRequest(request.method, request.url, request.headers, request.remoteAddress);
    let claim: Claim | undefined;
    const res = new VerbResponse({
      method: req.method,
      requestHeaders: req.headers,
      fileRoot: this.#root,
      upgrade: (data: unknown, options: ResUpgradeOptions, headers: Headers) => {
        const protocol = options.protocol ?? chooseProtocol(request.protocols, this.#policy(undefined, "protocols"));
        this.#assertOffered(request, protocol);
        const socket = new ServerSocket<unknown, unknown>(runtime, {}, request, protocol, data, true);
        // Admission again (the route may have awaited): a refused socket is dropped after the route.
        const refused = this.#admit(request);
        claim = refused === undefined ? { kind: "socket", socket, headers } : { kind: "refused", socket, decision: refused };
        return socket;
      },
    });
    try {
      await this.#run(req, res, async () => {
        if (wsRoute !== undefined) {
          claim = { kind: "hooks", route: wsRoute };
          return;
        }
        const global = this.#globalRoute();
        const match = this.#routes.match("GET", req.path);
        if (match?.kind === "found") {
          req.params = match.params;
          const handler = match.handler;
          const outcome = Promise.resolve().then(() => handler(req, res));
          // Upgrade as soon as the route calls res.upgrade(): it may attach listeners later.
          const result = await Promise.race([outcome, res.whenFinished()]);
          if (claim !== undefined) {
            const upgraded = claim.kind === "socket" ? claim.socket : undefined;
            outcome.then(
              // A route that returns without listening lets go of the messages held for it.
              () => queueMicrotask(() => upgraded?.listenerless()),
              (error: unknown) => this.#logError(`the route GET ${req.path} failed after res.upgrade()`, error),
            );
            return;
          }
          if (result instanceof Response && !res.finished) res.respond(result);
          // A page route answering 2xx without upgrading yields to the server-wide WebSocket handlers.
          const status = res.statusCode;
          if (global !== undefined && (!res.finished || (status >= 200 && status < 300))) {
            claim = { kind: "hooks", route: global };
          } else if (!res.finished) {
            res.respond(textResponse(400, "This route does not accept WebSocket upgrades"));
          }
          return;
        }
        if (global !== undefined) claim = { kind: "hooks", route: global };
        else await this.#routeHttp(req, res);
      });
    } catch (error) {
      return { accept: false, response: await this.#answerError(asError(error), req) };
    }
    if (claim?.kind === "refused") {
      claim.socket.abandon();
      return claim.decision;
    }
    if (claim?.kind === "socket") {
      return { accept: true, socket: claim.socket, protocol: claim.socket.protocol, headers: headerPairs(claim.headers) };
    }
    if (claim?.kind === "hooks") return this.#acceptRoute(request, claim.route, res.headers);
    if (!res.finished) res.respond(textResponse(400, "WebSocket upgrade not handled"));
    await res.settled();
    return { accept: false, response: res.toResponse() };
  }

  /**
   * A refusal when the server is closing or over a connection limit, else undefined. Checked on
   * arrival and again right before a socket is created (async hooks may have run in between).
   */
  #admit(request: UpgradeRequest): UpgradeDecision | undefined {
    if (this.#closing !== undefined || this.#runtime === undefined) {
      return { accept: false, response: textResponse(503, "Server is shutting down", { "retry-after": "5" }) };
    }
    const overload = this.#runtime.overload(request.remoteAddress);
    return overload === undefined ? undefined : this.#overloaded(request, overload);
  }

  /** Over a connection limit: 503 before the upgrade, or (onOverload "close") accept then 1013. */
  #overloaded(request: UpgradeRequest, overload: "total" | "ip"): UpgradeDecision | undefined {
    const runtime = this.#runtime as ServerRuntime;
    runtime.counters.connectionsRejected++;
    log(this.#logger, "info", { ip: request.remoteAddress, limit: overload }, "connection refused: over the connection limit");
    if (this.#resilience.onOverload === "reject") {
      return { accept: false, response: textResponse(503, "Server overloaded", { "retry-after": "5" }) };
    }
    const socket = new ServerSocket<unknown, unknown>(runtime, {}, request, "", undefined);
    socket.openNotice = { refuse: true, message: undefined, code: CloseCode.TRY_AGAIN_LATER, reason: "Server overloaded" };
    return { accept: true, socket, protocol: "", headers: [] };
  }

  #assertOffered(request: UpgradeRequest, protocol: string): void {
    if (protocol !== "" && !request.protocols.includes(protocol)) {
      throw new Error(`Subprotocol "${protocol}" was chosen but the client offered ${JSON.stringify(request.protocols)}`);
    }
  }

  #acceptRoute(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    headers: Headers,
  ): UpgradeDecision | Promise<UpgradeDecision> {
    const auth = this.#policy(route, "auth") as AuthOptions<unknown> | undefined;
    if (auth === undefined) return this.#runHook(request, route, headers, undefined);
    const found = extractToken(request, auth.protocol ?? "bearer");
    if (found === undefined) {
      if (auth.optional) return this.#runHook(request, route, headers, { user: undefined, carrier: undefined, options: auth });
      return this.#authFailed(request, route, auth);
    }
    const proceed = (user: unknown): UpgradeDecision | Promise<UpgradeDecision> =>
      user === null || user === undefined
        ? this.#authFailed(request, route, auth)
        : this.#runHook(request, route, headers, { user, carrier: found.carrier, options: auth });
    let verified: unknown;
    try {
      verified = auth.verifyToken(found.token, request);
    } catch {
      return this.#authFailed(request, route, auth);
    }
    if (verified instanceof Promise) return verified.then(proceed, () => this.#authFailed(request, route, auth));
    return proceed(verified);
  }

  #authFailed(request: UpgradeRequest, route: WebSocketRoute<unknown>, auth: AuthOptions<unknown>): UpgradeDecision {
    const refused = this.#admit(request);
    if (refused !== undefined) return refused;
    if (auth.onFailure !== "close") {
      return { accept: false, response: textResponse(401, "Authentication failed", { "www-authenticate": "Bearer" }) };
    }
    // Accept so the client can read why, then close 1008 (the hooks never see this socket).
    const marker = auth.protocol ?? "bearer";
    const protocol = request.protocols.includes(marker) ? marker : "";
    const socket = new ServerSocket<unknown, unknown>(
      this.#runtime as ServerRuntime,
      route as WebSocketHandlers<unknown>,
      request,
      protocol,
      undefined,
    );
    socket.openNotice = {
      refuse: true,
      // The spec's style: tell the client, then close with 1008.
      message: JSON.stringify({ type: "auth", status: "error", message: "Authentication failed" }),
      code: CloseCode.POLICY_VIOLATION,
      reason: "Authentication failed",
    };
    return { accept: true, socket, protocol, headers: [] };
  }

  #runHook(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    headers: Headers,
    auth: AuthOutcome | undefined,
  ): UpgradeDecision | Promise<UpgradeDecision> {
    const hook = this.#policy(route, "upgrade");
    if (hook === undefined) return this.#accept(request, route, undefined, headers, auth);
    let result: UpgradeHookResult<unknown> | Promise<UpgradeHookResult<unknown>>;
    try {
      result = hook(request);
    } catch (error) {
      return this.#hookFailed(error);
    }
    if (result instanceof Promise) {
      return result.then(
        (settled) => this.#accept(request, route, settled, headers, auth),
        (error: unknown) => this.#hookFailed(error),
      );
    }
    return this.#accept(request, route, result, headers, auth);
  }

  #hookFailed(error: unknown): UpgradeDecision {
    this.#logError("the upgrade hook failed", error);
    return { accept: false, response: textResponse(500, "Internal Server Error") };
  }

  #accept(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    result: UpgradeHookResult<unknown>,
    headers: Headers,
    auth: AuthOutcome | undefined,
  ): UpgradeDecision {
    const runtime = this.#runtime as ServerRuntime;
    if (result instanceof Response) return { accept: false, response: result };
    let data: unknown;
    let protocol = chooseProtocol(request.protocols, this.#policy(route, "protocols"));
    // A token carried in Sec-WebSocket-Protocol is answered with its marker, unless something else was chosen.
    if (protocol === "" && auth?.carrier === "protocol") protocol = auth.options.protocol ?? "bearer";
    const pairs = headerPairs(headers);
    if (result !== undefined && result !== null) {
      if (typeof result !== "object") return this.#hookFailed(new TypeError(`The upgrade hook returned ${typeof result}`));
      if (isReject(result)) {
        const status = result.status;
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          return this.#hookFailed(new RangeError(`The upgrade hook rejected with status ${status}: use 200-599`));
        }
        const body = result.body ?? STATUS_TEXT[status] ?? "";
        return {
          accept: false,
          response: new Response(body, {
            status,
            headers: {
              "content-type": "text/plain; charset=utf-8",
              ...definedHeaders(result.headers),
              "content-length": String(Buffer.byteLength(body)),
            },
          }),
        };
      }
      data = result.data;
      if (result.protocol !== undefined) protocol = result.protocol;
      if (result.headers !== undefined) {
        const extra = Array.isArray(result.headers) ? result.headers : Object.entries(definedHeaders(result.headers));
        for (const [name, value] of extra) pairs.push([name.toLowerCase(), value]);
      }
    }
    try {
      this.#assertOffered(request, protocol);
      // Header names and values are checked as HTTP allows: no CR/LF can reach the 101.
      const checked = new Headers();
      for (const [name, value] of pairs) checked.append(name, value);
    } catch (error) {
      return this.#hookFailed(error);
    }
    const refused = this.#admit(request);
    if (refused !== undefined) return refused;
    if (auth?.user !== undefined) {
      data = typeof data === "object" && data !== null ? { ...data, user: auth.user } : { user: auth.user };
    }
    const socket = new ServerSocket<unknown, unknown>(runtime, route as WebSocketHandlers<unknown>, request, protocol, data);
    if (auth?.user !== undefined) {
      const { announce, onFailure } = auth.options;
      const shown =
        typeof announce === "function"
          ? announce(auth.user)
          : announce === true || (announce === undefined && onFailure === "close")
            ? describeUser(auth.user)
            : undefined;
      if (shown !== undefined)
        socket.openNotice = { refuse: false, message: JSON.stringify({ type: "auth", status: "success", user: shown }) };
      const id = (auth.user as { id?: unknown }).id;
      if (typeof id === "string" || typeof id === "number") this.users.bind(socket as never, id);
    }
    return { accept: true, socket, protocol, headers: pairs };
  }

  /**
   * Starts serving. `port` and `hostname` override `withOptions`; `0` picks a free port.
   * Resolves to the server handle once the port is bound.
   */
  async listen(port?: number, hostname?: string): Promise<ServerHandle> {
    if (this.#runtime !== undefined) throw new Error("This app is already listening; close() it first");
    const boundPort = port !== undefined ? assertPort("listen(port)", port) : (this.#port ?? DEFAULT_PORT);
    const boundHost =
      hostname !== undefined ? assertHostname("listen(hostname)", hostname) : (this.#hostname ?? DEFAULT_HOSTNAME);
    const adapter: VerbAdapter = await resolveAdapter(this.#adapterChoice);
    const runtime = new ServerRuntime(
      this.#limits,
      this.#resilience,
      (this.#websocket ?? {}) as WebSocketHandlers<unknown>,
      (socket) => {
        this.clients.socketEnded(socket);
        this.users.socketEnded(socket);
      },
      this.#logger,
    );
    const backplane = this.#backplane;
    if (backplane !== undefined) {
      // Before binding the port: an unreachable broker fails listen() with a clear error.
      await backplane.start({
        deliver: (topic, message) => runtime.receive(topic, message),
        error: (error, stage) => runtime.backplaneError(error, stage),
      });
      runtime.backplane = backplane;
    }
    const queue = this.#resilience.offlineQueue;
    if (queue !== undefined) {
      const store = queue.store ?? new MemoryOfflineStore();
      this.clients.useOfflineQueue(store, { maxMessages: queue.maxMessages, ttlMs: queue.ttlMs }, runtime.counters);
      runtime.queueDepth = () => store.totalDepth();
      runtime.sweep = (now) => {
        runtime.counters.offlineDropped += store.sweep?.(now, { maxMessages: queue.maxMessages, ttlMs: queue.ttlMs }) ?? 0;
      };
    }
    this.#runtime = runtime;
    const host: AdapterHost = {
      port: boundPort,
      hostname: boundHost,
      limits: this.#limits,
      fetch: (request, remoteAddress) => this.fetch(request, remoteAddress),
      upgrade: (request) => this.#decideUpgrade(request),
      reportError: (error) => this.#logError(`engine error (${adapter.name})`, error),
    };
    let server: AdapterServer;
    try {
      server = await adapter.listen(host);
    } catch (error) {
      this.#runtime = undefined;
      await backplane?.close();
      throw error;
    }
    this.#adapterServer = server;
    this.#closing = undefined;
    runtime.topics.useNative(server, this.#limits.closeOnBackpressureLimit);
    runtime.start();
    const visibleHost = boundHost === "0.0.0.0" || boundHost === "::" ? "localhost" : boundHost;
    const handle: ServerHandle = {
      port: server.port,
      hostname: boundHost,
      url: `http://${visibleHost.includes(":") ? `[${visibleHost}]` : visibleHost}:${server.port}`,
      adapter: adapter.name,
      close: (options?: CloseOptions) => this.close(options),
      publish: (topic, data, options) => this.publish(topic, data, options),
      subscriberCount: (topic) => this.subscriberCount(topic),
    };
    this.#handle = handle;
    return handle;
  }

  /**
   * Graceful close: new upgrades get 503; every client is told (`notify`); send buffers get up
   * to `grace` ms to drain; every socket is closed with `code` (1001); clients that do not finish
   * within `timeout` ms are cut off; resolves when every close hook ran and the port is free.
   * Safe to call more than once.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const runtime = this.#runtime;
    const server = this.#adapterServer;
    if (runtime === undefined || server === undefined) return Promise.resolve();
    this.#closing = (async () => {
      log(this.#logger, "info", { open: runtime.sockets.size }, "closing the server");
      const notice = options.notify;
      if (notice !== undefined && notice !== false) {
        const text =
          notice === true
            ? JSON.stringify({ type: "server_shutdown", message: "Server is shutting down", timestamp: new Date().toISOString() })
            : typeof notice === "string"
              ? notice
              : JSON.stringify(notice);
        for (const socket of runtime.sockets) if (socket.readyState === 1) socket.send(text);
      }
      // What send() accepted before the shutdown reaches clients that keep reading.
      await runtime.drainSends(options.grace ?? 5000);
      await runtime.closeSockets(options);
      await server.stopAccepting();
      runtime.stop();
      await server.dispose?.();
      await runtime.backplane?.close();
      this.#runtime = undefined;
      this.#adapterServer = undefined;
      this.#handle = undefined;
      this.#closing = undefined;
    })();
    return this.#closing;
  }

  /**
   * Closes gracefully on SIGTERM/SIGINT (opt-in), then exits with `exitCode` (0). Returns a
   * function that removes the signal handlers.
   */
  closeOnSignals(options: SignalOptions = {}): () => void {
    const { signals = ["SIGTERM", "SIGINT"], exitCode = 0, ...closeOptions } = options;
    const onSignal = (signal: NodeJS.Signals) => {
      log(this.#logger, "info", { signal }, "signal received: closing gracefully");
      this.close(closeOptions).then(
        () => {
          if (exitCode !== false) process.exit(exitCode);
        },
        (error: unknown) => {
          this.#logError("graceful close failed", error);
          if (exitCode !== false) process.exit(1);
        },
      );
    };
    for (const signal of signals) process.once(signal, onSignal);
    return () => {
      for (const signal of signals) process.off(signal, onSignal);
    };
  }
}

/** Creates an application. `protocol` defaults to {@link ServerProtocol.HTTP}. */
export function createServer<Data = DefaultSocketData>(protocol?: ServerProtocol): VerbApp<Data> {
  return new VerbApp<Data>(protocol);
}
