/**
 * @verb/uws: Verb on uWebSockets.js. Translation only; every shared behaviour lives in @verb/core.
 *
 * uWS specifics handled here: the request object dies at the first `await` (everything is copied
 * first), async answers need `onAborted` and `cork`, message buffers are neutered after the
 * handler returns (binary messages are copied), and any call on a closed socket throws (core
 * never makes one after `engineClose`).
 */

import type * as uWS from "uWebSockets.js";
import { STATUS_CODES } from "node:http";
import { createServer as createNetServer } from "node:net";
import {
  type AcceptUpgrade,
  type AdapterHost,
  type AdapterServer,
  addHeader,
  CloseCode,
  CloseReason,
  endHeaderList,
  HEAD_TIMEOUT_S,
  MAX_HEAD_BYTES,
  type ResolvedWebSocketLimits,
  type SendStatus,
  type Serve,
  type ServerSocket,
  type SocketDriver,
  serveWith,
  toWebRequest,
  type UpgradeDecision,
  UpgradeRequest,
  type VerbAdapter,
} from "@verb/core";

type AnySocket = ServerSocket<unknown, unknown>;
interface UserData {
  verb: AnySocket;
}
type UwsSocket = uWS.WebSocket<UserData>;

const STATUS: readonly SendStatus[] = ["buffered", "sent", "dropped"];
// ignoreBOM: a text message that starts with U+FEFF keeps it (the default decoder strips it).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** True while core's own send runs: its drops are reported by the send status, not by `dropped`. */
let sending = false;

/**
 * The WebSocket that opened last and is still open, in any server of this process (uWS has one
 * loop per thread): its cork carries the upgrades decided asynchronously (see `upgradeLater`).
 */
let corkHolder: UwsSocket | undefined;
/** Upgrades waiting for their async decision, in any server of this process: one can hold the cork for another. */
const awaitingDecision = new Set<uWS.HttpResponse>();
/** The socket being upgraded without a cork holder, to recognise uWS closing it (see `upgradeLater`). */
let upgradingAlone: AnySocket | undefined;

/**
 * Server-wide publishes wait until the current uWS callback has returned. Inside a callback uWS
 * writes a publish to each subscriber at once (a system call per subscriber per message); from
 * outside it batches them, one write per subscriber for many messages (measured: ~20× the fan-out).
 * Anything else the application does with a socket first flushes what waits, so a subscriber
 * still sees publishes and sends in the order they were made.
 */
interface PendingPublish {
  app: uWS.TemplatedApp;
  topic: string;
  data: string | ArrayBuffer | Uint8Array;
  isBinary: boolean;
  compress: boolean;
}
let waiting: PendingPublish[] = [];
let flushScheduled = false;

function flushPublishes(): void {
  const batch = waiting;
  waiting = [];
  for (const p of batch) p.app.publish(p.topic, p.data, p.isBinary, p.compress);
}

function deferPublish(entry: PendingPublish): void {
  // The application may reuse its buffer after publish() returns: keep a copy.
  const data = entry.data;
  if (data instanceof ArrayBuffer) entry.data = data.slice(0);
  // TypedArray slice copies (Buffer's own slice would only make a view).
  else if (typeof data !== "string") entry.data = Uint8Array.prototype.slice.call(data);
  waiting.push(entry);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    flushPublishes();
  });
}

const driver: SocketDriver<UwsSocket> = {
  send(ws, data, isBinary, compress) {
    if (waiting.length > 0) flushPublishes();
    sending = true;
    const status = ws.send(data, isBinary, compress);
    sending = false;
    return STATUS[status] as SendStatus;
  },
  ping(ws, data) {
    if (waiting.length > 0) flushPublishes();
    sending = true;
    const status = ws.ping(data);
    sending = false;
    return STATUS[status] as SendStatus;
  },
  close(ws, code, reason) {
    if (waiting.length > 0) flushPublishes();
    ws.end(code, reason);
  },
  terminate(ws) {
    if (waiting.length > 0) flushPublishes();
    ws.close();
  },
  bufferedAmount(ws) {
    return ws.getBufferedAmount();
  },
  cork(ws, fn) {
    if (waiting.length > 0) flushPublishes();
    let result: ReturnType<typeof fn> | undefined;
    ws.cork(() => {
      result = fn();
    });
    return result as ReturnType<typeof fn>;
  },
  subscribe(ws, topic) {
    if (waiting.length > 0) flushPublishes();
    ws.subscribe(topic);
  },
  unsubscribe(ws, topic) {
    if (waiting.length > 0) flushPublishes();
    ws.unsubscribe(topic);
  },
  publish(ws, topic, data, isBinary, compress) {
    if (waiting.length > 0) flushPublishes();
    ws.publish(topic, data, isBinary, compress);
  },
};

function copyBytes(data: ArrayBuffer): Buffer {
  // uWS neuters `data` when the handler returns: copy it. Small copies share Node's buffer pool
  // (one backing store per 8 KiB instead of one per message: far less work for the GC).
  const copy = Buffer.allocUnsafe(data.byteLength);
  copy.set(new Uint8Array(data));
  return copy;
}

/** uWS copies the user data's properties onto its socket object: read them there, without a native call. */
function socketOf(ws: UwsSocket): AnySocket {
  return (ws as unknown as UserData).verb;
}

/** Maps uWS's close report to the contract's code and reason. */
function contractClose(code: number, message: ArrayBuffer): [number, string] {
  const reason = decoder.decode(message);
  if (code !== CloseCode.ABNORMAL) return [code === 0 ? CloseCode.NO_STATUS : code, reason];
  if (reason.startsWith("Received too big message")) return [CloseCode.MESSAGE_TOO_BIG, CloseReason.MESSAGE_TOO_BIG];
  if (reason.includes("UTF-8")) return [CloseCode.INVALID_PAYLOAD, CloseReason.INVALID_PAYLOAD];
  if (reason.startsWith("Received invalid")) return [CloseCode.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR];
  return [CloseCode.ABNORMAL, ""];
}

function compressionOption(engine: typeof uWS, limits: ResolvedWebSocketLimits): number {
  if (limits.compression === "shared") return engine.SHARED_COMPRESSOR | engine.SHARED_DECOMPRESSOR;
  if (limits.compression === "dedicated") return engine.DEDICATED_COMPRESSOR_256KB | engine.DEDICATED_DECOMPRESSOR;
  return engine.DISABLED;
}

let loaded: Promise<typeof uWS> | undefined;

/**
 * Loads uWebSockets.js on first listen. It reads its request-head limit from the environment once,
 * when the addon loads: set to the contract's 16 KiB (its own default is 4 KiB), as on the other engines.
 */
function loadEngine(): Promise<typeof uWS> {
  process.env.UWS_HTTP_MAX_HEADERS_SIZE ??= String(MAX_HEAD_BYTES);
  loaded ??= import("uWebSockets.js").then(
    (mod) => ((mod as { default?: typeof uWS }).default ?? mod) as typeof uWS,
    (error: unknown) => {
      loaded = undefined;
      const code = (error as { code?: string }).code;
      if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
        throw new Error(
          'The Verb adapter "@verb/uws" needs "uWebSockets.js", which is not installed. Install it: npm install uNetworking/uWebSockets.js#v20.57.0 (uWebSockets.js is published on GitHub, not on the npm registry)',
          { cause: error },
        );
      }
      throw error;
    },
  );
  return loaded;
}

function copyRequest(res: uWS.HttpResponse, req: uWS.HttpRequest): UpgradeRequest {
  // Copied before the request dies, as the raw list (the record is made only if read).
  req.forEach(addHeader);
  const headers = endHeaderList();
  const query = req.getQuery();
  const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
  const remoteAddress = decoder.decode(res.getRemoteAddressAsText());
  return new UpgradeRequest(req.getCaseSensitiveMethod().toUpperCase(), url, headers, remoteAddress);
}

/** Writes status and headers of a web Response. */
function writeHead(res: uWS.HttpResponse, response: Response): void {
  res.writeStatus(`${response.status} ${STATUS_CODES[response.status] ?? ""}`);
  response.headers.forEach((value, name) => {
    // uWS writes Content-Length, Transfer-Encoding and Connection itself (`end(body, true)` closes).
    if (name === "content-length" || name === "transfer-encoding" || name === "set-cookie" || name === "connection") return;
    res.writeHeader(name, value);
  });
  for (const cookie of response.headers.getSetCookie()) res.writeHeader("set-cookie", cookie);
}

interface Aborted {
  aborted: boolean;
  /** Run once when the client goes away (body readers, response streams). */
  onAbort?: () => void;
}

/** Adds work to run when the client goes away. */
function whenAborted(state: Aborted, work: () => void): void {
  const previous = state.onAbort;
  state.onAbort = () => {
    previous?.();
    work();
  };
}

async function writeResponse(res: uWS.HttpResponse, state: Aborted, response: Response, head: boolean): Promise<void> {
  const length = response.headers.get("content-length");
  if (response.body === null || head) {
    if (!state.aborted) {
      res.cork(() => {
        writeHead(res, response);
        if (head && length !== null) res.endWithoutBody(Number(length));
        else res.end();
      });
    }
    return;
  }
  if (length === null) {
    await streamBody(res, state, response, response.body.getReader());
    return;
  }
  const total = Number(length);
  if (total <= SMALL_BODY) {
    // A small body of known size goes out in one corked write.
    const body = new Uint8Array(await response.arrayBuffer());
    if (state.aborted) return;
    res.cork(() => {
      writeHead(res, response);
      res.end(body);
    });
    return;
  }
  await sendKnownLength(res, state, response, total, response.body.getReader());
}

const SMALL_BODY = 64 * 1024;

/**
 * Starts a streamed answer: writes the head, cancels the body's reader when the client leaves, and
 * returns a function that waits until uWS can take more (resolving with its write offset).
 */
function startStream(
  res: uWS.HttpResponse,
  state: Aborted,
  response: Response,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): () => Promise<number> {
  let wake: (() => void) | undefined;
  whenAborted(state, () => {
    reader.cancel().catch(() => {});
    wake?.();
  });
  res.cork(() => writeHead(res, response));
  return () =>
    new Promise<number>((resolve) => {
      wake = () => resolve(0);
      res.onWritable((offset) => {
        resolve(offset);
        return true;
      });
    });
}

/**
 * The next chunk of a body, or undefined at its end (a cancelled reader ends too). A body that
 * fails rejects: the caller reports it and closes the connection, so a cut body never looks whole.
 */
async function nextChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array | undefined> {
  const step = await reader.read();
  return step.done ? undefined : step.value;
}

/** Streams a body of known size with `tryEnd`, resuming on `onWritable` under backpressure. */
async function sendKnownLength(
  res: uWS.HttpResponse,
  state: Aborted,
  response: Response,
  total: number,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<void> {
  if (state.aborted) return;
  const writable = startStream(res, state, response, reader);
  for (let chunk = await nextChunk(reader); chunk !== undefined && !state.aborted; chunk = await nextChunk(reader)) {
    for (;;) {
      const start = res.getWriteOffset();
      let ok = false;
      let finished = false;
      const part: Uint8Array = chunk;
      res.cork(() => {
        [ok, finished] = res.tryEnd(part, total);
      });
      if (finished) return;
      if (ok) break;
      // Part of the chunk is still ours to resend once the socket drains.
      const resumeAt = await writable();
      if (state.aborted) return;
      chunk = chunk.subarray(resumeAt - start);
    }
  }
}

/** Streams a body of unknown size (chunked), resuming on `onWritable` under backpressure. */
async function streamBody(
  res: uWS.HttpResponse,
  state: Aborted,
  response: Response,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<void> {
  if (state.aborted) return;
  const writable = startStream(res, state, response, reader);
  for (let chunk = await nextChunk(reader); chunk !== undefined && !state.aborted; chunk = await nextChunk(reader)) {
    let ok = true;
    const part: Uint8Array = chunk;
    res.cork(() => {
      ok = res.write(part);
    });
    if (!ok) await writable();
  }
  if (!state.aborted) res.cork(() => res.end());
}

function readBody(res: uWS.HttpResponse, state: Aborted): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      whenAborted(state, () => {
        if (open) controller.error(new Error("the client aborted the request"));
        open = false;
      });
      res.onData((chunk, isLast) => {
        // The reader may have stopped early (e.g. the body limit): ignore the rest.
        if (!open) return;
        if (chunk.byteLength > 0) controller.enqueue(new Uint8Array(chunk.slice(0)));
        if (isLast) {
          open = false;
          controller.close();
        }
      });
    },
    cancel() {
      open = false;
    },
  });
}

/**
 * uWS only says that listening failed. Binding the same address with Node tells why, so the error
 * carries the same `code` as on the other engines (`EADDRINUSE`, `EADDRNOTAVAIL`, `EACCES`).
 */
function listenError(hostname: string, port: number): Promise<Error> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    const fail = (code: string | undefined) => {
      const error = new Error(
        `uWebSockets.js could not listen on ${hostname}:${port}${code === undefined ? "" : ` (${code})`}`,
      ) as Error & { code?: string };
      if (code !== undefined) error.code = code;
      resolve(error);
    };
    probe.once("error", (error: Error & { code?: string }) => fail(error.code));
    probe.listen(port, hostname, () => probe.close(() => fail(undefined)));
  });
}

async function listen(host: AdapterHost): Promise<AdapterServer> {
  const limits = host.limits;
  const engine = await loadEngine();
  const app = engine.App();
  // The first request head must complete within 10 s, as on Bun (fixed there) and Node. Only some
  // builds of uWebSockets.js have the setter; the others keep their built-in 10 s.
  (app as { setIdleTimeout?: (seconds: number) => void }).setIdleTimeout?.(HEAD_TIMEOUT_S);

  // uWS copies the user data's properties onto its WebSocket during res.upgrade: one object serves
  // every upgrade.
  const userData: UserData = { verb: undefined as unknown as AnySocket };
  const upgradeNow = (res: uWS.HttpResponse, accept: AcceptUpgrade, key: string, context: uWS.us_socket_context_t) => {
    if (accept.headers.length > 0) {
      res.writeStatus("101 Switching Protocols");
      for (const [name, value] of accept.headers) res.writeHeader(name, value);
    }
    userData.verb = accept.socket;
    // uWS negotiates from the string it is given: given core's answer, it answers exactly that.
    res.upgrade<UserData>(userData, key, accept.protocol, accept.extensions, context);
  };

  const finishUpgrade = (
    res: uWS.HttpResponse,
    decision: UpgradeDecision,
    key: string,
    context: uWS.us_socket_context_t,
    state: Aborted,
  ): void => {
    awaitingDecision.delete(res);
    if (state.aborted) {
      if (decision.accept) decision.socket.abandon();
      return;
    }
    if (!decision.accept) {
      sendRejection(res, decision.response, state);
      return;
    }
    upgradeLater(res, decision, key, context);
  };

  /**
   * An upgrade decided after uWS's handler returned. uWebSockets.js 20.57 closes such a socket at
   * random right after it opens when `res.cork()` wraps the upgrade (uNetworking/uWebSockets#1928,
   * fixed in uWebSockets v20.79, which uWebSockets.js 20.57 predates): the WebSocket keeps the
   * HTTP socket's address, and cork() then reads leftover bytes as the HTTP response's state and may
   * find "connection: close" there. Measured: about one async upgrade in two thousand, seen as
   * `realtime.auth-carriers` failing on 1006 right after the open.
   *
   * While another socket holds the loop's cork, `res.cork()` only runs the upgrade (it cannot cork),
   * so that bug's code never runs, and uWS.js still counts the upgrade as corked (no warning). Any
   * open WebSocket of this process can hold it, or another upgrade still waiting for its decision
   * (an HTTP response still pending, which that code leaves alone). Without either, the upgrade
   * goes through `res.cork()`, and a socket uWS closes at once is logged as an error, never lost silently.
   */
  const upgradeLater = (res: uWS.HttpResponse, accept: AcceptUpgrade, key: string, context: uWS.us_socket_context_t) => {
    const upgrade = () => res.cork(() => upgradeNow(res, accept, key, context));
    const holder = corkHolder;
    if (holder !== undefined) {
      holder.cork(upgrade);
      return;
    }
    const waiting = awaitingDecision.values().next().value;
    if (waiting !== undefined) {
      waiting.cork(upgrade);
      return;
    }
    upgradingAlone = accept.socket;
    try {
      upgrade();
    } finally {
      upgradingAlone = undefined;
    }
  };

  const sendRejection = (res: uWS.HttpResponse, response: Response, state: Aborted): void => {
    response.arrayBuffer().then(
      (body) => {
        if (state.aborted) return;
        // Core's refusals carry their content type and `connection: close`.
        res.cork(() => {
          writeHead(res, response);
          res.end(body, true);
        });
      },
      (error: unknown) => {
        host.reportError(error);
        if (!state.aborted) res.close();
      },
    );
  };

  app.ws<UserData>("/*", {
    maxPayloadLength: limits.maxPayloadLength,
    maxBackpressure: limits.maxBackpressure,
    // Core applies the close-at-limit rule, to sends and (through `dropped`) to publishes.
    closeOnBackpressureLimit: false,
    // Idle timeout, pings and lifetime run in core's watchdog, identically on every engine
    // (and uWS aborts the process on some values of its own options).
    idleTimeout: 0,
    maxLifetime: 0,
    sendPingsAutomatically: false,
    compression: compressionOption(engine, limits),
    upgrade(res, req, context) {
      const request = copyRequest(res, req);
      // Core's decision never throws or rejects.
      const decision = host.upgrade(request);
      // Core checked the key; the copy has it (reading it from uWS again would make another string).
      const key = request.header("sec-websocket-key") ?? "";
      if (!(decision instanceof Promise) && decision.accept) {
        // Still inside uWS's handler (corked, not aborted): nothing to allocate but the socket.
        upgradeNow(res, decision, key, context);
        return;
      }
      const state: Aborted = { aborted: false };
      res.onAborted(() => {
        state.aborted = true;
        awaitingDecision.delete(res);
      });
      if (decision instanceof Promise) {
        awaitingDecision.add(res);
        decision.then((settled) => finishUpgrade(res, settled, key, context, state));
      } else {
        finishUpgrade(res, decision, key, context, state);
      }
    },
    open(ws) {
      corkHolder = ws;
      socketOf(ws).engineOpen(ws, driver as SocketDriver<unknown>);
    },
    message(ws, message, isBinary) {
      socketOf(ws).engineMessage(isBinary ? copyBytes(message) : decoder.decode(message));
    },
    ping(ws, data) {
      socketOf(ws).enginePing(copyBytes(data));
    },
    pong(ws, data) {
      socketOf(ws).enginePong(copyBytes(data));
    },
    drain(ws) {
      socketOf(ws).engineDrain();
    },
    dropped(ws) {
      // A publish skipped this subscriber over its backpressure limit.
      if (!sending) socketOf(ws).engineDropped();
    },
    close(ws, code, message) {
      if (corkHolder === ws) corkHolder = undefined;
      const [contractCode, contractReason] = contractClose(code, message);
      const socket = socketOf(ws);
      if (socket === upgradingAlone && socket.readyState === 1) {
        host.reportError(
          new Error(
            "uWebSockets.js closed a WebSocket right after its asynchronous upgrade (uNetworking/uWebSockets#1928, fixed in uWebSockets v20.79): the client sees 1006. Upgrading uWebSockets.js fixes it.",
          ),
        );
      }
      socket.engineClose(contractCode, contractReason);
    },
  });

  app.any("/*", (res, req) => {
    const request = copyRequest(res, req);
    const state: Aborted = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
      state.onAbort?.();
    });
    if (request.header("upgrade") !== undefined) {
      // uWS routes an upgrade it finds malformed (bad key, ...) here: answer it as the other engines do.
      Promise.resolve(host.upgrade(request)).then((decision) => {
        if (!decision.accept) {
          sendRejection(res, decision.response, state);
          return;
        }
        decision.socket.abandon();
        sendRejection(
          res,
          new Response("WebSocket upgrade failed", {
            status: 400,
            headers: { "content-type": "text/plain", connection: "close" },
          }),
          state,
        );
      });
      return;
    }
    const method = request.method;
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) headers.append(name, value);
    const webRequest = toWebRequest(method, request.headers.host, request.url, headers, () => readBody(res, state));
    (webRequest instanceof Response ? Promise.resolve(webRequest) : host.fetch(webRequest, request.remoteAddress))
      .then((response) => writeResponse(res, state, response, method === "HEAD"))
      .catch((error: unknown) => {
        host.reportError(error);
        if (!state.aborted) res.close();
      });
  });

  const token = await new Promise<uWS.us_listen_socket | false>((resolve) => {
    app.listen(host.hostname, host.port, (listenSocket) => resolve(listenSocket));
  });
  if (!token) {
    app.close();
    throw await listenError(host.hostname, host.port);
  }
  let listening = true;

  return {
    port: engine.us_socket_local_port(token),
    async stopAccepting() {
      if (listening) engine.us_listen_socket_close(token);
      listening = false;
    },
    dispose() {
      flushPublishes();
      app.close();
    },
    publish(topic, data, isBinary, compress) {
      deferPublish({ app, topic, data, isBinary, compress });
    },
    subscriberCount(topic) {
      return app.numSubscribers(topic);
    },
    reportsPublishDrops: true,
  };
}

/** The uWebSockets.js adapter. */
export const adapter: VerbAdapter = { name: "uws", listen };

/** Serves `app` on uWebSockets.js: `app.withOptions({ ...options, adapter }).listen()`. */
export const serve: Serve = serveWith(adapter);

export default adapter;
