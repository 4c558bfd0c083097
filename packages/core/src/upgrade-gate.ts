/**
 * The upgrade decision: handshake validation, admission (shutdown, connection limits), origin,
 * the route that claims the request (WebSocket route, `res.upgrade()` in an HTTP route, or the
 * server-wide hooks), authentication, the `upgrade` hook, subprotocol and 101 headers.
 */

import { SUBPROTOCOL } from "@verb/protocol";
import type { AcceptUpgrade, UpgradeDecision } from "./adapter.js";
import { type AuthOptions, describeUser, extractToken, type TokenCarrier } from "./auth.js";
import { CloseCode } from "./close.js";
import { negotiateDeflate } from "./deflate.js";
import { asError, isThenable } from "./guards.js";
import type { UpgradeHookResult, UpgradePolicy, WebSocketHandlers, WebSocketRoute } from "./handlers.js";
import type { HttpPipeline } from "./http/pipeline.js";
import { STATUS_TEXT, textResponse } from "./http/plain-response.js";
import { VerbRequest } from "./http/request.js";
import type { ResUpgradeOptions } from "./http/response.js";
import type { Router } from "./http/router.js";
import { type Logger, log } from "./logger.js";
import type { ServerRuntime } from "./runtime.js";
import { ServerSocket, type VerbSocket } from "./socket.js";
import { sameName, type UpgradeRequest } from "./upgrade-request.js";

/** What the gate asks of the application around it. */
export interface UpgradeHost {
  readonly pipeline: HttpPipeline;
  readonly wsRoutes: Router<WebSocketRoute<unknown>>;
  readonly users: { bind(socket: VerbSocket<unknown>, userId: string | number): void };
  /** `ServerProtocol.WEBSOCKET`: upgrades no route claims go to the server-wide hooks. */
  readonly webSocketOnly: boolean;
  /** The server-wide hooks and policy (`withOptions({ websocket })`). */
  serverWide(): WebSocketRoute<unknown> | undefined;
  /** The running server's runtime (undefined when not listening). */
  runtime(): ServerRuntime | undefined;
  isClosing(): boolean;
  onOverload(): "reject" | "close";
  logger(): Logger;
  logError(message: string, error: unknown): void;
}

/** Headers the engine writes on the 101 itself: an application may not set them. */
const HANDSHAKE_HEADERS = new Set([
  "connection",
  "upgrade",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-key",
  "sec-websocket-version",
]);
/** Headers that describe a body: a 101 has none. */
const BODY_HEADERS = new Set(["content-type", "content-length", "content-encoding", "transfer-encoding"]);

/** No extra 101 headers (shared, frozen: most upgrades have none). */
const NO_HEADERS = Object.freeze([]) as unknown as [string, string][];

/**
 * The headers of an HTTP answer (middleware, the route) that also fit a 101: handshake and body
 * headers are left out (the engine writes the first, and a 101 has no body).
 */
function headerPairs(headers: Headers | undefined): [string, string][] {
  if (headers === undefined) return NO_HEADERS;
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie" && !HANDSHAKE_HEADERS.has(name) && !BODY_HEADERS.has(name)) pairs.push([name, value]);
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

/**
 * An acceptance, with the permessage-deflate answer core chose for the client's offer: the adapter
 * makes the engine answer exactly that, and `ws.extensions` says it.
 */
function accepted(
  socket: ServerSocket<unknown, unknown>,
  protocol: string,
  headers: ReadonlyArray<readonly [string, string]>,
): AcceptUpgrade {
  const extensions = negotiateDeflate(socket.request.header("sec-websocket-extensions"), socket.runtime.limits.compression);
  socket.extensions = extensions;
  return { accept: true, socket, protocol, headers, extensions };
}

/** Whether a Connection header value lists the token `upgrade` (RFC 6455 4.2.1: case-insensitive, in a list). */
export function listsUpgrade(connection: string): boolean {
  // Browsers send "Upgrade" alone (Chrome) or last in a list (Firefox): only a list is split.
  if (sameName(connection, "upgrade")) return true;
  if (!connection.includes(",")) return false;
  for (const token of connection.split(",")) if (sameName(token.trim(), "upgrade")) return true;
  return false;
}

const CONNECTION_REFUSAL = "Invalid upgrade: the Connection header must include Upgrade";

/**
 * The answer to a request that asks for a WebSocket without `Connection: Upgrade`, where the engine
 * saw it as plain HTTP (Node does; Bun, Deno and uWS hand it to the upgrade gate, which answers the
 * same): 400, as the RFC says, on every engine. Undefined for any other request.
 */
export function strayUpgradeRefusal(upgrade: string | null): Response | undefined {
  if (upgrade === null || !sameName(upgrade, "websocket")) return undefined;
  return textResponse(400, CONNECTION_REFUSAL, { connection: "close" });
}

/**
 * A refusal as every engine sends it: with a content type, and with `connection: close` (a
 * refused upgrade ends the connection; the client must not reuse it).
 */
function finalRefusal(decision: UpgradeDecision): UpgradeDecision {
  if (decision.accept) return decision;
  const response = decision.response;
  if (response.headers.get("connection") === "close" && response.headers.has("content-type")) return decision;
  const headers = new Headers(response.headers);
  headers.set("connection", "close");
  if (!headers.has("content-type")) headers.set("content-type", "text/plain; charset=utf-8");
  return {
    accept: false,
    response: new Response(response.body, { status: response.status, statusText: response.statusText, headers }),
  };
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

/** Decides every upgrade request of one application. */
export class UpgradeGate {
  readonly #host: UpgradeHost;

  constructor(host: UpgradeHost) {
    this.#host = host;
  }

  /** Whether plain HTTP on `path` should get 426: a WebSocket route, or a WebSocket-only server. */
  isWebSocketPath(path: string): boolean {
    if (this.#host.wsRoutes.match("GET", path)?.kind === "found") return true;
    return this.#host.webSocketOnly;
  }

  /** Server-wide handlers answer upgrades that no route claims. */
  #globalRoute(): WebSocketRoute<unknown> | undefined {
    const serverWide = this.#host.serverWide();
    if (serverWide !== undefined) return serverWide;
    return this.#host.webSocketOnly ? {} : undefined;
  }

  #policy<K extends keyof UpgradePolicy<unknown>>(route: WebSocketRoute<unknown> | undefined, key: K): UpgradePolicy<unknown>[K] {
    return route?.[key] ?? this.#host.serverWide()?.[key];
  }

  /**
   * The answer to an upgrade request: refuse with a response, or accept with a socket. Never
   * throws or rejects (a failure is a 500), and every refusal carries a content type and
   * `connection: close`, so adapters write it as it is.
   */
  decide(request: UpgradeRequest): UpgradeDecision | Promise<UpgradeDecision> {
    let decision: UpgradeDecision | Promise<UpgradeDecision>;
    let runtime: ServerRuntime;
    try {
      const refused = this.#screen(request);
      if (refused !== undefined) return finalRefusal(refused);
      runtime = this.#host.runtime() as ServerRuntime;
    } catch (error) {
      return this.#failed("deciding the upgrade failed", error);
    }
    // From here until it is accepted or refused, the upgrade holds a connection slot.
    runtime.reserve(request);
    try {
      decision = this.#decide(request);
    } catch (error) {
      runtime.release(request);
      return this.#failed("deciding the upgrade failed", error);
    }
    if (isThenable(decision)) return this.#withDeadline(request, runtime, decision);
    runtime.release(request);
    return finalRefusal(decision);
  }

  /**
   * An async decision gets `upgradeTimeout`: then the client gets 503, and a late acceptance is
   * abandoned (its socket never opens, its hooks never run).
   */
  #withDeadline(request: UpgradeRequest, runtime: ServerRuntime, decision: Promise<UpgradeDecision>): Promise<UpgradeDecision> {
    return new Promise<UpgradeDecision>((resolve) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        runtime.release(request);
        runtime.counters.upgradesTimedOut++;
        log(this.#host.logger(), "warn", { ip: request.remoteAddress, path: request.path }, "upgrade decision timed out");
        resolve(
          finalRefusal({
            accept: false,
            response: textResponse(503, "Upgrade timed out", { "retry-after": "5" }),
          }),
        );
      }, runtime.resilience.upgradeTimeoutMs);
      timer.unref?.();
      decision.then(
        (settled) => {
          if (done) {
            if (settled.accept) settled.socket.abandon();
            return;
          }
          done = true;
          clearTimeout(timer);
          runtime.release(request);
          resolve(finalRefusal(settled));
        },
        (error: unknown) => {
          if (done) {
            this.#host.logError("an upgrade decision failed after its deadline", error);
            return;
          }
          done = true;
          clearTimeout(timer);
          runtime.release(request);
          resolve(this.#failed("deciding the upgrade failed", error));
        },
      );
    });
  }

  /** Handshake validation and admission on arrival: a refusal, or undefined to go on. */
  #screen(request: UpgradeRequest): UpgradeDecision | undefined {
    if (!sameName(request.header("upgrade") ?? "", "websocket")) {
      return { accept: false, response: textResponse(400, "Unsupported upgrade: only websocket is served") };
    }
    // Without the token, Node reads the request as plain HTTP, and uWS closes the socket it
    // upgrades as if it answered an HTTP request: the gate refuses it before any engine acts on it.
    if (!listsUpgrade(request.header("connection") ?? "")) {
      return { accept: false, response: textResponse(400, CONNECTION_REFUSAL) };
    }
    if (request.header("sec-websocket-version") !== "13") {
      return {
        accept: false,
        response: textResponse(426, "Unsupported WebSocket version: use 13", { "sec-websocket-version": "13" }),
      };
    }
    if (!/^[A-Za-z0-9+/]{22}==$/.test(request.header("sec-websocket-key") ?? "")) {
      return { accept: false, response: textResponse(400, "Invalid Sec-WebSocket-Key") };
    }
    return this.#admit(request);
  }

  #decide(request: UpgradeRequest): UpgradeDecision | Promise<UpgradeDecision> {
    const wsMatch = this.#host.wsRoutes.match("GET", request.path);
    const wsRoute = wsMatch?.kind === "found" ? (wsMatch.handler as WebSocketRoute<unknown>) : undefined;
    if (!originAllowed(this.#policy(wsRoute, "allowedOrigins"), request)) {
      return { accept: false, response: textResponse(403, "Forbidden: origin not allowed") };
    }
    // Fast path: nothing to run before the decision but the route's own policy.
    if (!this.#host.pipeline.hasMiddleware) {
      const route =
        wsRoute ?? (this.#host.pipeline.routes.match("GET", request.path) === undefined ? this.#globalRoute() : undefined);
      if (route !== undefined) return this.#acceptRoute(request, route, undefined);
    }
    return this.#decideThroughPipeline(request, wsRoute);
  }

  async #decideThroughPipeline(request: UpgradeRequest, wsRoute: WebSocketRoute<unknown> | undefined): Promise<UpgradeDecision> {
    const runtime = this.#host.runtime() as ServerRuntime;
    const pipeline = this.#host.pipeline;
    const req = new VerbRequest(request.method, request.url, request.headers, request.remoteAddress);
    let claim: Claim | undefined;
    const res = pipeline.newResponse(req, (data: unknown, options: ResUpgradeOptions, headers: Headers) => {
      const protocol = options.protocol ?? chooseProtocol(request.protocols, this.#policy(undefined, "protocols"));
      this.#assertOffered(request, protocol);
      // Admission again (the route may have awaited), before this socket counts itself: a refused
      // socket still goes to the route, and is dropped after it.
      const refused = this.#admit(request);
      const socket = new ServerSocket<unknown, unknown>(runtime, {}, request, protocol, data, true);
      claim = refused === undefined ? { kind: "socket", socket, headers } : { kind: "refused", socket, decision: refused };
      return socket;
    });
    try {
      await pipeline.run(req, res, async () => {
        if (wsRoute !== undefined) {
          claim = { kind: "hooks", route: wsRoute };
          return;
        }
        const global = this.#globalRoute();
        const match = this.#host.pipeline.routes.match("GET", req.path);
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
              (error: unknown) => this.#host.logError(`the route GET ${req.path} failed after res.upgrade()`, error),
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
        else await pipeline.routeHttp(req, res);
      });
    } catch (error) {
      // Middleware that failed after res.upgrade(): the socket never reaches the engine.
      if (claim !== undefined && claim.kind !== "hooks") claim.socket.abandon();
      return { accept: false, response: await pipeline.answerError(asError(error), req) };
    }
    if (claim?.kind === "refused") {
      claim.socket.abandon();
      return claim.decision;
    }
    if (claim?.kind === "socket") {
      return accepted(claim.socket, claim.socket.protocol, headerPairs(claim.headers));
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
    const runtime = this.#host.runtime();
    if (runtime === undefined || this.#host.isClosing()) {
      return { accept: false, response: textResponse(503, "Server is shutting down", { "retry-after": "5" }) };
    }
    const overload = runtime.overload(request);
    return overload === undefined ? undefined : this.#overloaded(request, overload);
  }

  /** Over a connection limit: 503 before the upgrade, or (onOverload "close") accept then 1013. */
  #overloaded(request: UpgradeRequest, overload: "total" | "ip"): UpgradeDecision | undefined {
    const runtime = this.#host.runtime() as ServerRuntime;
    runtime.counters.connectionsRejected++;
    log(
      this.#host.logger(),
      "info",
      { ip: request.remoteAddress, limit: overload },
      "connection refused: over the connection limit",
    );
    if (this.#host.onOverload() === "reject") {
      return { accept: false, response: textResponse(503, "Server overloaded", { "retry-after": "5" }) };
    }
    const socket = new ServerSocket<unknown, unknown>(runtime, {}, request, "", undefined);
    socket.openNotice = { refuse: true, message: undefined, code: CloseCode.TRY_AGAIN_LATER, reason: "Server overloaded" };
    return accepted(socket, "", []);
  }

  #assertOffered(request: UpgradeRequest, protocol: string): void {
    if (protocol !== "" && !request.protocols.includes(protocol)) {
      throw new Error(`Subprotocol "${protocol}" was chosen but the client offered ${JSON.stringify(request.protocols)}`);
    }
  }

  #acceptRoute(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    headers: Headers | undefined,
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
    if (isThenable(verified)) return Promise.resolve(verified).then(proceed, () => this.#authFailed(request, route, auth));
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
      this.#host.runtime() as ServerRuntime,
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
    return accepted(socket, protocol, []);
  }

  #runHook(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    headers: Headers | undefined,
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
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (settled) => this.#accept(request, route, settled, headers, auth),
        (error: unknown) => this.#hookFailed(error),
      );
    }
    return this.#accept(request, route, result, headers, auth);
  }

  #hookFailed(error: unknown): UpgradeDecision {
    return this.#failed("the upgrade hook failed", error);
  }

  #failed(message: string, error: unknown): UpgradeDecision {
    this.#host.logError(message, error);
    return finalRefusal({ accept: false, response: textResponse(500, "Internal Server Error") });
  }

  #accept(
    request: UpgradeRequest,
    route: WebSocketRoute<unknown>,
    result: UpgradeHookResult<unknown>,
    headers: Headers | undefined,
    auth: AuthOutcome | undefined,
  ): UpgradeDecision {
    const runtime = this.#host.runtime() as ServerRuntime;
    if (result instanceof Response) return { accept: false, response: result };
    let data: unknown;
    let protocol = chooseProtocol(request.protocols, this.#policy(route, "protocols"));
    // A token carried in Sec-WebSocket-Protocol is answered with its marker, unless something else was chosen.
    if (protocol === "" && auth?.carrier === "protocol") protocol = auth.options.protocol ?? "bearer";
    // A session client (it offered the Verb protocol) is told the server speaks it, when nothing else was chosen.
    if (protocol === "" && runtime.sessions !== undefined && request.protocols.includes(SUBPROTOCOL)) protocol = SUBPROTOCOL;
    let pairs = headerPairs(headers);
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
        for (const [name, value] of extra) {
          const lower = String(name).toLowerCase();
          if (HANDSHAKE_HEADERS.has(lower) || BODY_HEADERS.has(lower)) {
            const hint = lower === "sec-websocket-protocol" ? ": return { protocol } to choose a subprotocol" : "";
            return this.#hookFailed(
              new TypeError(`The upgrade hook may not set the "${lower}" header on the 101 response${hint}`),
            );
          }
          if (pairs === NO_HEADERS) pairs = [];
          pairs.push([lower, value]);
        }
      }
    }
    try {
      this.#assertOffered(request, protocol);
      // Header names and values are checked as HTTP allows: no CR/LF can reach the 101.
      if (pairs.length > 0) {
        const checked = new Headers();
        for (const [name, value] of pairs) checked.append(name, value);
      }
    } catch (error) {
      return this.#hookFailed(error);
    }
    let announcement: string | undefined;
    if (auth?.user !== undefined) {
      data = typeof data === "object" && data !== null ? { ...data, user: auth.user } : { user: auth.user };
      try {
        announcement = this.#announcement(auth.user, auth.options);
      } catch (error) {
        return this.#hookFailed(error);
      }
    }
    // Last, once nothing can fail: a socket counts against the limits from its creation.
    const refused = this.#admit(request);
    if (refused !== undefined) return refused;
    const socket = new ServerSocket<unknown, unknown>(runtime, route as WebSocketHandlers<unknown>, request, protocol, data);
    if (auth?.user !== undefined) {
      if (announcement !== undefined) socket.openNotice = { refuse: false, message: announcement };
      const id = (auth.user as { id?: unknown }).id;
      if (typeof id === "string" || typeof id === "number") this.#host.users.bind(socket, id);
    }
    return accepted(socket, protocol, pairs);
  }

  /** The auth success message sent on open, if the auth options ask for one. */
  #announcement(user: unknown, options: AuthOptions<unknown>): string | undefined {
    const { announce, onFailure } = options;
    const shown =
      typeof announce === "function"
        ? announce(user)
        : announce === true || (announce === undefined && onFailure === "close")
          ? describeUser(user)
          : undefined;
    return shown === undefined ? undefined : JSON.stringify({ type: "auth", status: "success", user: shown });
  }
}
