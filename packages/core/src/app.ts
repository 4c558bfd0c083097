/**
 * `createServer()` and the application object: options, routes, publish, metrics, listen and
 * close. The HTTP pipeline lives in `http/pipeline.ts`, the upgrade decision in `upgrade-gate.ts`.
 */

import type { AdapterHost, AdapterServer, VerbAdapter } from "./adapter.js";
import type { Backplane, Presence } from "./backplane.js";
import type { WebSocketHandlers, WebSocketRoute } from "./handlers.js";
import { type ErrorHandler, type HttpHandler, HttpPipeline, type Middleware } from "./http/pipeline.js";
import { Router } from "./http/router.js";
import { type Logger, log, quietLogger } from "./logger.js";
import { type Metrics, toPrometheus } from "./metrics.js";
import { MemoryOfflineStore } from "./offline-queue.js";
import {
  assertBackplane,
  assertBodyLimit,
  assertCloseOptions,
  assertFileRoot,
  assertHandlers,
  assertHostname,
  assertLogger,
  assertPort,
  assertServerOptionKeys,
  assertSignalOptions,
  assertWebSocketObject,
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
import { assertAdapterChoice, resolveAdapter } from "./select-adapter.js";
import { sequencedTopic } from "./session.js";
import type { SendData, SendOptions } from "./socket.js";
import { assertTopic } from "./topics.js";
import { strayUpgradeRefusal, UpgradeGate } from "./upgrade-gate.js";
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

export type { ErrorHandler, HandlerResult, HttpHandler, Middleware } from "./http/pipeline.js";

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
  /**
   * Milliseconds over which clients should spread their reconnects: sent in the notice as
   * `retryWindowMs` (@verb/client waits a uniformly random part of it before reconnecting), so a
   * restart is not met by every client at once. Default: none.
   */
  retryWindow?: number;
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
  readonly #wsRoutes = new Router<WebSocketRoute<Data>>();
  readonly #http: HttpPipeline;
  readonly #upgrades: UpgradeGate;
  #runtime: ServerRuntime | undefined;
  #adapterServer: AdapterServer | undefined;
  #handle: ServerHandle | undefined;
  #closing: Promise<void> | undefined;
  /** listen() is binding (it awaits the adapter and the backplane). */
  #starting = false;
  /** Registered clients and rooms (the spec's `WebSocketManager`). */
  readonly clients: ClientRegistry<Data>;
  /** Sockets by user id (the spec's `NotificationService`). */
  readonly users: UserDirectory<Data>;

  constructor(protocol: ServerProtocol = ServerProtocol.HTTP) {
    this.clients = new ClientRegistry<Data>(this);
    this.users = new UserDirectory<Data>(this);
    this.#http = new HttpPipeline({
      isWebSocketPath: (path) => this.#upgrades.isWebSocketPath(path),
      logError: (message, error) => this.#logError(message, error),
    });
    this.#upgrades = new UpgradeGate({
      pipeline: this.#http,
      wsRoutes: this.#wsRoutes as Router<WebSocketRoute<unknown>>,
      users: this.users as UserDirectory<unknown>,
      webSocketOnly: protocol === ServerProtocol.WEBSOCKET,
      serverWide: () => this.#websocket as WebSocketRoute<unknown> | undefined,
      runtime: () => this.#runtime,
      isClosing: () => this.#closing !== undefined,
      onOverload: () => this.#resilience.onOverload,
      logger: () => this.#logger,
      logError: (message, error) => this.#logError(message, error),
    });
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
    if (options.adapter !== undefined) this.#adapterChoice = assertAdapterChoice(options.adapter);
    if (options.bodyLimit !== undefined) this.#http.bodyLimit = assertBodyLimit(options.bodyLimit);
    if (options.fileRoot !== undefined) this.#http.fileRoot = assertFileRoot(options.fileRoot);
    if (options.logger !== undefined) this.#logger = assertLogger(options.logger);
    if (options.backplane !== undefined) this.#backplane = assertBackplane(options.backplane);
    if (options.websocket !== undefined) {
      assertWebSocketObject(options.websocket);
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
    return runtime.publish(topic, data, options) > 0;
  }

  /**
   * Publishes like `publish` and resolves with how many local subscribers and how many other
   * instances (with a backplane) received it. With a durable backplane it resolves once the log
   * stored the message, with its number (`seq`), and rejects when it could not be stored.
   */
  async deliver(topic: string, data: SendData, options?: SendOptions): Promise<{ local: number; remote: number; seq?: number }> {
    assertTopic(topic);
    const runtime = this.#runtime;
    if (runtime === undefined) return { local: 0, remote: 0 };
    return runtime.deliver(topic, data, options);
  }

  /** Whether a backplane carries publishes to other instances. */
  get hasBackplane(): boolean {
    return this.#backplane !== undefined;
  }

  /** @internal Cluster-wide presence, when the backplane keeps it. */
  get presence(): Presence | undefined {
    return this.#runtime === undefined ? undefined : this.#backplane?.presence;
  }

  /** Whether the backplane is a durable log (`delivery: "durable"` of @verb/redis). */
  get isDurable(): boolean {
    return this.#backplane?.log !== undefined;
  }

  /** @internal Whether session clients follow `topic` (it keeps a history). */
  isStream(topic: string): boolean {
    return this.#runtime?.streams.get(topic) !== undefined;
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
    const topics = this.#runtime?.topics;
    // Session clients follow the topic's sequenced twin: they count as its subscribers too.
    return topics === undefined ? 0 : topics.count(topic) + topics.count(sequencedTopic(topic));
  }

  /**
   * Adds middleware for every path, or for `path` and everything below it. A function with four
   * parameters `(error, req, res, next)` is an error handler, like {@link onError}.
   */
  use(middleware: Middleware): this;
  use(path: string, middleware: Middleware): this;
  use(pathOrMiddleware: string | Middleware, maybe?: Middleware): this {
    this.#http.use(pathOrMiddleware, maybe);
    return this;
  }

  /** Sets the error handler: it turns anything thrown by middleware or routes into a response (default: 500). */
  onError(handler: ErrorHandler): this {
    this.#http.onError(handler);
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
    this.#http.route(method, path, handler);
    return this;
  }

  /** Answers an HTTP request without sockets: the same pipeline every adapter uses. Never rejects. */
  fetch(request: Request, remoteAddress = ""): Promise<Response> {
    return this.#http.fetch(request, remoteAddress);
  }

  /**
   * Starts serving. `port` and `hostname` override `withOptions`; `0` picks a free port.
   * Resolves to the server handle once the port is bound.
   */
  async listen(port?: number, hostname?: string): Promise<ServerHandle> {
    if (this.#runtime !== undefined || this.#starting) throw new Error("This app is already listening; close() it first");
    this.#starting = true;
    try {
      return await this.#start(port, hostname);
    } finally {
      this.#starting = false;
    }
  }

  async #start(port: number | undefined, hostname: string | undefined): Promise<ServerHandle> {
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
        sequenced: (message) => runtime.sequenced(message),
        error: (error, stage) => runtime.backplaneError(error, stage),
      });
      runtime.backplane = backplane;
      runtime.streams.durable = backplane.log !== undefined;
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
      fetch: (request, remoteAddress) => {
        const refused = strayUpgradeRefusal(request.headers.get("upgrade"));
        return refused === undefined ? this.fetch(request, remoteAddress) : Promise.resolve(refused);
      },
      upgrade: (request) => this.#upgrades.decide(request),
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
    try {
      assertCloseOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing !== undefined) return this.#closing;
    const runtime = this.#runtime;
    const server = this.#adapterServer;
    if (runtime === undefined || server === undefined) return Promise.resolve();
    this.#closing = (async () => {
      log(this.#logger, "info", { open: runtime.sockets.size }, "closing the server");
      const notice = options.notify;
      if (notice !== undefined && notice !== false) {
        const window = options.retryWindow;
        const text =
          notice === true
            ? JSON.stringify({
                type: "server_shutdown",
                message: "Server is shutting down",
                timestamp: new Date().toISOString(),
                ...(window === undefined ? {} : { retryWindowMs: window }),
              })
            : typeof notice === "string"
              ? notice
              : JSON.stringify(window === undefined ? notice : { retryWindowMs: window, ...notice });
        for (const socket of runtime.sockets) if (socket.readyState === 1) socket.send(text);
      }
      try {
        // What send() accepted before the shutdown reaches clients that keep reading.
        await runtime.drainSends(options.grace ?? 5000);
        await runtime.closeSockets(options);
      } finally {
        // Whatever happened to the sockets, the port is freed and the app may listen again.
        await server.stopAccepting();
        runtime.stop();
        await server.dispose?.();
        await runtime.backplane?.close();
        this.#runtime = undefined;
        this.#adapterServer = undefined;
        this.#handle = undefined;
        this.#closing = undefined;
      }
    })();
    return this.#closing;
  }

  /**
   * Closes gracefully on SIGTERM/SIGINT (opt-in), then exits with `exitCode` (0). Returns a
   * function that removes the signal handlers.
   */
  closeOnSignals(options: SignalOptions = {}): () => void {
    assertSignalOptions(options);
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

/** The `serve(app, options)` every adapter exports. */
export type Serve = <Data>(app: VerbApp<Data>, options?: Omit<ServerOptions<Data>, "adapter">) => Promise<ServerHandle>;

/** Builds an adapter's `serve`: `app.withOptions({ ...options, adapter }).listen()`. */
export function serveWith(adapter: VerbAdapter): Serve {
  return (app, options = {}) => app.withOptions({ ...options, adapter }).listen();
}
