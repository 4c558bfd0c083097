/**
 * `createServer()` and the application object: options, HTTP routes, WebSocket routes, listen, close.
 */

import type { AdapterHost, AdapterServer, UpgradeDecision, VerbAdapter } from "./adapter.js";
import type { WebSocketHandlers } from "./handlers.js";
import { VerbRequest } from "./http/request.js";
import { VerbResponse } from "./http/response.js";
import { Router } from "./http/router.js";
import {
  assertHandlers,
  assertHostname,
  assertPort,
  assertServerOptionKeys,
  DEFAULT_LIMITS,
  type DefaultSocketData,
  type ResolvedWebSocketLimits,
  resolveWebSocketLimits,
  type ServerOptions,
  type WebSocketOptions,
} from "./options.js";
import { type CloseSocketsOptions, logUnhandled, ServerRuntime } from "./runtime.js";
import { resolveAdapter } from "./select-adapter.js";
import { ServerSocket } from "./socket.js";
import type { UpgradeRequest } from "./upgrade-request.js";

/** What the server speaks. `WEBSOCKET` answers plain HTTP requests with 426 unless a route matches. */
export const ServerProtocol = {
  /** HTTP routes, plus WebSocket upgrades when `websocket` handlers or `app.ws()` routes exist. */
  HTTP: "http",
  /** A WebSocket server: upgrades on every path. */
  WEBSOCKET: "websocket",
} as const;

/** One of {@link ServerProtocol}'s values. */
export type ServerProtocol = (typeof ServerProtocol)[keyof typeof ServerProtocol];

/** An HTTP route handler. May return a web `Response` instead of using `res`. */
export type HttpHandler = (req: VerbRequest, res: VerbResponse) => void | Response | Promise<void | Response>;

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
  /** Stops accepting, closes every socket (1001 by default), and resolves when every close hook ran and the port is free. */
  close(options?: CloseSocketsOptions): Promise<void>;
}

const DEFAULT_PORT = 3000;
const DEFAULT_HOSTNAME = "0.0.0.0";

function textResponse(status: number, body: string, headers?: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * A Verb application. Create it with {@link createServer}; configure with `withOptions`, add routes,
 * then `listen()`.
 */
export class VerbApp<Data = DefaultSocketData> {
  /** What the server speaks. */
  readonly protocol: ServerProtocol;
  #port: number | undefined;
  #hostname: string | undefined;
  #adapterChoice: ServerOptions<Data>["adapter"];
  #websocket: WebSocketOptions<Data> | undefined;
  #limits: ResolvedWebSocketLimits = DEFAULT_LIMITS;
  readonly #routes = new Router<HttpHandler>();
  readonly #wsRoutes = new Router<WebSocketHandlers<Data>>();
  #runtime: ServerRuntime | undefined;
  #adapterServer: AdapterServer | undefined;
  #handle: ServerHandle | undefined;
  #closing: Promise<void> | undefined;

  constructor(protocol: ServerProtocol = ServerProtocol.HTTP) {
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
    if (options.websocket !== undefined) {
      const merged = { ...this.#websocket, ...options.websocket } as WebSocketOptions<Data>;
      assertHandlers(merged, "websocket.");
      this.#limits = resolveWebSocketLimits(merged);
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

  /** Adds a GET route (also serves HEAD). */
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

  /** Adds a WebSocket route with its own hooks; limits come from `withOptions({ websocket })`. */
  ws(path: string, handlers: WebSocketHandlers<Data>): this {
    assertHandlers(handlers, `ws("${path}").`);
    this.#wsRoutes.add("GET", path, handlers);
    return this;
  }

  #route(method: string, path: string, handler: HttpHandler): this {
    if (typeof handler !== "function") throw new TypeError(`The handler of ${method} ${path} must be a function`);
    this.#routes.add(method, path, handler);
    return this;
  }

  /** Answers an HTTP request without sockets: the same pipeline every adapter uses. */
  async fetch(request: Request, remoteAddress = ""): Promise<Response> {
    try {
      return await this.#handleHttp(request, remoteAddress);
    } catch (error) {
      logUnhandled(`HTTP ${request.method} ${request.url} failed`, error);
      return textResponse(500, "Internal Server Error");
    }
  }

  async #handleHttp(request: Request, remoteAddress: string): Promise<Response> {
    const req = VerbRequest.from(request, remoteAddress);
    const match = this.#routes.match(req.method, req.path);
    if (match === undefined) {
      if (this.#isWebSocketPath(req.path)) {
        return textResponse(426, "Upgrade Required: this endpoint speaks WebSocket", {
          upgrade: "websocket",
          connection: "Upgrade",
        });
      }
      return textResponse(404, "Not Found");
    }
    if (match.kind === "method") {
      return textResponse(405, "Method Not Allowed", { allow: match.allow.join(", ") });
    }
    req.params = match.params;
    const res = new VerbResponse();
    const result = await match.handler(req, res);
    let response: Response;
    if (result instanceof Response) {
      response = result;
    } else {
      await res.whenFinished();
      response = res.toResponse();
    }
    if (req.method === "HEAD" && response.body !== null) {
      response = new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  }

  #isWebSocketPath(path: string): boolean {
    if (this.#wsRoutes.match("GET", path)?.kind === "found") return true;
    return this.protocol === ServerProtocol.WEBSOCKET;
  }

  #decideUpgrade(request: UpgradeRequest): UpgradeDecision | Promise<UpgradeDecision> {
    const runtime = this.#runtime as ServerRuntime;
    if (this.#closing !== undefined) {
      return { accept: false, response: textResponse(503, "Server is shutting down", { "retry-after": "5" }) };
    }
    if (request.headers.upgrade?.toLowerCase() !== "websocket") {
      return { accept: false, response: textResponse(400, "Unsupported upgrade: only websocket is served") };
    }
    let handlers: WebSocketHandlers<Data> | undefined;
    const route = this.#wsRoutes.match("GET", request.path);
    if (route?.kind === "found") handlers = route.handler;
    else if (this.#websocket !== undefined || this.protocol === ServerProtocol.WEBSOCKET) handlers = this.#websocket ?? {};
    if (handlers === undefined) return this.#refuseUpgrade(request);
    const socket = new ServerSocket<Data, unknown>(runtime, handlers, request, "", undefined);
    return { accept: true, socket: socket as ServerSocket<unknown, unknown>, protocol: "", headers: [] };
  }

  /** No WebSocket handler for this path: answer as plain HTTP would (404, 405, or the route's own response). */
  async #refuseUpgrade(request: UpgradeRequest): Promise<UpgradeDecision> {
    const host = request.headers.host ?? "localhost";
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) headers.append(name, value);
    const response = await this.fetch(
      new Request(`http://${host}${request.url}`, { method: request.method, headers }),
      request.remoteAddress,
    );
    return { accept: false, response };
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
    const runtime = new ServerRuntime(this.#limits, (this.#websocket ?? {}) as WebSocketHandlers<unknown>);
    this.#runtime = runtime;
    const host: AdapterHost = {
      port: boundPort,
      hostname: boundHost,
      limits: this.#limits,
      fetch: (request, remoteAddress) => this.fetch(request, remoteAddress),
      upgrade: (request) => this.#decideUpgrade(request),
      reportError: (error) => logUnhandled(`engine error (${adapter.name})`, error),
    };
    let server: AdapterServer;
    try {
      server = await adapter.listen(host);
    } catch (error) {
      this.#runtime = undefined;
      throw error;
    }
    this.#adapterServer = server;
    this.#closing = undefined;
    runtime.start();
    const visibleHost = boundHost === "0.0.0.0" || boundHost === "::" ? "localhost" : boundHost;
    const handle: ServerHandle = {
      port: server.port,
      hostname: boundHost,
      url: `http://${visibleHost.includes(":") ? `[${visibleHost}]` : visibleHost}:${server.port}`,
      adapter: adapter.name,
      close: (options) => this.close(options),
    };
    this.#handle = handle;
    return handle;
  }

  /**
   * Graceful close: stops accepting (new upgrades get 503 while sockets close), closes every socket
   * with `code` (1001), cuts off clients that do not finish within `timeout` ms, and resolves when
   * every close hook ran and the port is free. Safe to call more than once.
   */
  close(options?: CloseSocketsOptions): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const runtime = this.#runtime;
    const server = this.#adapterServer;
    if (runtime === undefined || server === undefined) return Promise.resolve();
    this.#closing = (async () => {
      const stopped = server.stopAccepting();
      await runtime.closeSockets(options);
      await stopped;
      runtime.stop();
      await server.dispose?.();
      this.#runtime = undefined;
      this.#adapterServer = undefined;
      this.#handle = undefined;
      this.#closing = undefined;
    })();
    return this.#closing;
  }
}

/** Creates an application. `protocol` defaults to {@link ServerProtocol.HTTP}. */
export function createServer<Data = DefaultSocketData>(protocol?: ServerProtocol): VerbApp<Data> {
  return new VerbApp<Data>(protocol);
}
