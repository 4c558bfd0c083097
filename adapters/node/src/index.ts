/**
 * @verb/node: Verb on Node.js `http` + `ws`. Translation only; every shared behaviour lives in @verb/core.
 * What ws lacks (backpressure limit, drain) is emulated here from `bufferedAmount` and the raw socket.
 */

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import {
  type AcceptUpgrade,
  type AdapterHost,
  type AdapterServer,
  addHeader,
  CloseCode,
  CloseReason,
  endHeaderList,
  HEAD_TIMEOUT_S,
  headTooLarge,
  MAX_HEAD_BYTES,
  MAX_HEADER_FIELDS,
  QueuedSends,
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
import { type PerMessageDeflateOptions, type WebSocket, WebSocketServer } from "ws";

type AnySocket = ServerSocket<unknown, unknown>;
type NetSocket = Duplex & { remoteAddress?: string; cork(): void; uncork(): void; destroyed: boolean };

const kSocket = Symbol("verb.socket");
const kDecision = Symbol("verb.decision");
const kCloseCode = Symbol("verb.closeCode");
const kQueued = Symbol("verb.queued");
const kWritten = Symbol("verb.written");

interface TaggedWebSocket extends WebSocket {
  [kSocket]: AnySocket;
  [kCloseCode]?: number;
  [kQueued]?: QueuedSends;
  [kWritten]?: () => void;
  _socket: NetSocket & { [kSocket]?: AnySocket };
}

interface TaggedRequest extends IncomingMessage {
  [kDecision]?: AcceptUpgrade;
}

function deflateOptions(limits: ResolvedWebSocketLimits): PerMessageDeflateOptions | false {
  if (limits.compression === "disabled") return false;
  // Verb decides per send whether to compress; ws's own threshold must never override it.
  const common: PerMessageDeflateOptions = { threshold: 0, concurrencyLimit: 10 };
  if (limits.compression === "shared") {
    return { ...common, serverNoContextTakeover: true, clientNoContextTakeover: true };
  }
  return common;
}

/**
 * What a queued message costs beyond its bytes: ws writes every frame as two chunks (header and
 * payload) into the socket's write queue, ~220–270 B of heap per message on Node 20–24 (measured).
 * Counting it makes maxBackpressure bound the memory a slow reader costs, not just its bytes.
 */
const MESSAGE_COST = 256;
/** Messages waiting for ws's asynchronous compressor are bounded apart from the wire bytes: at least this much. */
const COMPRESSOR_BACKLOG_FLOOR = 1024 * 1024;

/** The socket's callback for compressed writes, made once. */
function writtenCallback(ws: TaggedWebSocket): () => void {
  let written = ws[kWritten];
  if (written === undefined) {
    written = () => ws[kSocket].engineDrain();
    ws[kWritten] = written;
  }
  return written;
}

function createDriver(
  limits: ResolvedWebSocketLimits,
): SocketDriver<TaggedWebSocket> & { overLimit(ws: TaggedWebSocket): boolean } {
  const maxBackpressure = limits.maxBackpressure;
  const backlogLimit = Math.max(maxBackpressure, COMPRESSOR_BACKLOG_FLOOR);
  const sendOptions = [
    { binary: false, compress: false },
    { binary: false, compress: true },
    { binary: true, compress: false },
    { binary: true, compress: true },
  ] as const;

  /** Whether the socket's send queue is past the limit: wire bytes plus what each queued message costs, or too much waiting for the compressor. */
  function overLimit(ws: TaggedWebSocket): boolean {
    const buffered = ws.bufferedAmount;
    const queued = ws[kQueued];
    if (buffered === 0) {
      if (queued !== undefined) queued.settle(0);
      return false;
    }
    queued?.settle(buffered);
    const wire = ws._socket.writableLength;
    return wire + (queued?.count ?? 0) * MESSAGE_COST > maxBackpressure || buffered - wire > backlogLimit;
  }

  /** Records a send that stayed queued; "buffered" only when the socket is backed up (then `drain` follows). */
  function queuedStatus(ws: TaggedWebSocket, before: number): SendStatus {
    const grew = ws.bufferedAmount - before;
    if (grew > 0) {
      let queued = ws[kQueued];
      if (queued === undefined) {
        queued = new QueuedSends();
        ws[kQueued] = queued;
      }
      queued.push(grew);
    }
    return ws._socket.writableNeedDrain ? "buffered" : "sent";
  }

  return {
    overLimit,
    send(ws, data, isBinary, compress): SendStatus {
      if (overLimit(ws)) return "dropped";
      const before = ws.bufferedAmount;
      const options = sendOptions[(isBinary ? 2 : 0) + (compress ? 1 : 0)] as (typeof sendOptions)[number];
      // A compressed message is written later (ws compresses asynchronously): its write tells the socket
      // its buffer shrank, since the net socket's own drain only follows a full write buffer.
      if (compress) ws.send(data, options, writtenCallback(ws));
      else ws.send(data, options);
      return queuedStatus(ws, before);
    },
    ping(ws, data): SendStatus {
      if (overLimit(ws)) return "dropped";
      const before = ws.bufferedAmount;
      ws.ping(data);
      return queuedStatus(ws, before);
    },
    close(ws, code, reason) {
      ws.close(code, reason);
    },
    terminate(ws) {
      ws.terminate();
    },
    bufferedAmount(ws) {
      return ws.bufferedAmount;
    },
    cork(ws, fn) {
      const net = ws._socket;
      net.cork();
      try {
        return fn();
      } finally {
        process.nextTick(uncork, net);
      }
    },
  };
}

/** Maps a ws receive error to the contract's close code. */
function closeCodeForError(error: Error & { code?: string }): number {
  switch (error.code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
    case "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH":
      // Over the payload limit, or a 64-bit length no engine can hold: ws sends 1009 for both.
      return CloseCode.MESSAGE_TOO_BIG;
    case "WS_ERR_TOO_MANY_BUFFERED_PARTS":
      // More fragments in one message than the adapter lets ws hold (ws keeps each as its own buffer).
      return CloseCode.POLICY_VIOLATION;
    case "WS_ERR_INVALID_UTF8":
      return CloseCode.INVALID_PAYLOAD;
    default:
      // Inflate failures (zlib) are invalid payload data; everything else is a protocol error.
      return typeof error.code === "string" && error.code.startsWith("WS_ERR_")
        ? CloseCode.PROTOCOL_ERROR
        : CloseCode.INVALID_PAYLOAD;
  }
}

const REASON_FOR: Record<number, string> = {
  [CloseCode.POLICY_VIOLATION]: CloseReason.TOO_MANY_FRAGMENTS,
  [CloseCode.MESSAGE_TOO_BIG]: CloseReason.MESSAGE_TOO_BIG,
  [CloseCode.INVALID_PAYLOAD]: CloseReason.INVALID_PAYLOAD,
  [CloseCode.PROTOCOL_ERROR]: CloseReason.PROTOCOL_ERROR,
};

// Shared listeners: `this` is the emitter, so no closure is created per connection.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as TaggedWebSocket)[kSocket].engineMessage(isBinary ? data : data.toString("utf8"));
}

function onPong(this: WebSocket, data: Buffer): void {
  (this as TaggedWebSocket)[kSocket].enginePong(data);
}
function onError(this: WebSocket, error: Error): void {
  (this as TaggedWebSocket)[kCloseCode] = closeCodeForError(error);
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const ws = this as TaggedWebSocket;
  const mapped = ws[kCloseCode];
  if (mapped !== undefined) ws[kSocket].engineClose(mapped, REASON_FOR[mapped] ?? "");
  else ws[kSocket].engineClose(code, code === CloseCode.ABNORMAL ? "" : reason.toString("utf8"));
}
function onNetDrain(this: NetSocket & { [kSocket]?: AnySocket }): void {
  this[kSocket]?.engineDrain();
}
function ignoreError(): void {}

function snapshot(req: IncomingMessage): UpgradeRequest {
  // Node's raw list, copied so common names and values share one string (the record is made
  // only if the application reads it).
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) addHeader(raw[i] as string, raw[i + 1] as string);
  return new UpgradeRequest(req.method ?? "GET", req.url ?? "/", endHeaderList(), req.socket.remoteAddress ?? "");
}

function uncork(net: NetSocket): void {
  net.uncork();
}

function webRequest(req: IncomingMessage): Request | Response {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return toWebRequest(
    req.method ?? "GET",
    req.headers.host,
    req.url ?? "/",
    headers,
    () => Readable.toWeb(req) as ReadableStream<Uint8Array>,
  );
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // A client that goes away cancels the stream, so its producer stops.
  const onClose = () => {
    reader.cancel().catch(() => {});
  };
  res.once("close", onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const settle = () => {
            res.off("drain", settle);
            res.off("close", settle);
            resolve();
          };
          res.once("drain", settle);
          res.once("close", settle);
        });
      }
      if (res.destroyed) break;
    }
  } catch (error) {
    // The body failed part-way: cut the connection (reported by the caller), so the client
    // cannot take what it got for the whole.
    res.destroy();
    throw error;
  } finally {
    res.off("close", onClose);
    reader.releaseLock();
  }
  if (!res.destroyed) res.end();
}

async function writeRejection(socket: NetSocket, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}\r\n`;
  // Core's refusals carry their content type and `connection: close`.
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie" && name !== "content-length") head += `${name}: ${value}\r\n`;
  });
  for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
  head += `content-length: ${body.length}\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
}

async function listen(host: AdapterHost): Promise<AdapterServer> {
  const limits = host.limits;
  const driver = createDriver(limits);
  // Pongs obey the send limit as on the other engines: over it a ping goes unanswered (counted), the socket stays.
  function onPing(this: WebSocket, data: Buffer): void {
    const ws = this as TaggedWebSocket;
    const dropped = driver.overLimit(ws);
    if (!dropped && ws.readyState === 1) ws.pong(data);
    ws[kSocket].enginePing(data, dropped);
  }
  const wss = new WebSocketServer({
    // Core fires the close hook itself; this only bounds how long a silent peer holds the socket.
    ...({ closeTimeout: 5000 } as object),
    noServer: true,
    clientTracking: false,
    maxPayload: limits.maxPayloadLength,
    perMessageDeflate: deflateOptions(limits),
    // The ping handler answers (ws's own answers ignore the send limit, and past 60 pending it drops the connection).
    autoPong: false,
    // ws keeps every fragment as its own buffer (~150 B each) until the message completes: bounded by the payload limit.
    maxFragments: Math.max(16 * 1024, Math.floor(limits.maxPayloadLength / 64)),
    allowSynchronousEvents: true,
    handleProtocols: (_offered, req) => (req as TaggedRequest)[kDecision]?.protocol || false,
  });
  wss.on("headers", (headers, req) => {
    const decision = (req as TaggedRequest)[kDecision];
    if (decision !== undefined) for (const [name, value] of decision.headers) headers.push(`${name}: ${value}`);
  });

  const accept = (req: TaggedRequest, netSocket: NetSocket, head: Buffer, decision: UpgradeDecision): void => {
    if (netSocket.destroyed) {
      if (decision.accept) decision.socket.abandon();
      return;
    }
    if (!decision.accept) {
      writeRejection(netSocket, decision.response).catch((error: unknown) => {
        host.reportError(error);
        netSocket.destroy();
      });
      return;
    }
    req[kDecision] = decision;
    // ws negotiates from the request's header: given core's answer, it answers exactly that (and an
    // absent header declines; an empty or invalid one would be a 400).
    if (decision.extensions === "") delete req.headers["sec-websocket-extensions"];
    else req.headers["sec-websocket-extensions"] = decision.extensions;
    // ws may still refuse the handshake (and destroy the socket) without calling back.
    const abandon = () => decision.socket.abandon();
    netSocket.once("close", abandon);
    wss.handleUpgrade(req, netSocket, head, (rawWs) => {
      netSocket.off("close", abandon);
      const ws = rawWs as TaggedWebSocket;
      const socket = decision.socket;
      ws[kSocket] = socket;
      const net = ws._socket;
      net[kSocket] = socket;
      ws.on("message", onMessage);
      ws.on("ping", onPing);
      ws.on("pong", onPong);
      ws.on("error", onError);
      ws.on("close", onClose);
      net.on("drain", onNetDrain);
      socket.engineOpen(ws, driver as SocketDriver<unknown>);
    });
  };

  const server = createHttpServer(
    {
      // The request head within 10 s of its first byte, checked every second (Node's default check
      // runs every 30 s); no limit on the whole request, as on the other engines.
      headersTimeout: HEAD_TIMEOUT_S * 1000,
      requestTimeout: 0,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: MAX_HEAD_BYTES,
    },
    (req, res) => {
      if (req.rawHeaders.length / 2 > MAX_HEADER_FIELDS) {
        writeResponse(headTooLarge(), res).catch(() => res.destroy());
        return;
      }
      const request = webRequest(req);
      (request instanceof Response ? Promise.resolve(request) : host.fetch(request, req.socket.remoteAddress ?? ""))
        .then((response) => writeResponse(response, res))
        .catch((error: unknown) => {
          host.reportError(error);
          res.destroy();
        });
    },
  );
  server.on("upgrade", (req: TaggedRequest, netSocket: NetSocket, head: Buffer) => {
    netSocket.on("error", ignoreError);
    if (req.rawHeaders.length / 2 > MAX_HEADER_FIELDS) {
      writeRejection(netSocket, headTooLarge()).catch(() => netSocket.destroy());
      return;
    }
    // Core's decision never throws or rejects.
    const decision = host.upgrade(snapshot(req));
    if (decision instanceof Promise) decision.then((settled) => accept(req, netSocket, head, settled));
    else accept(req, netSocket, head, decision);
  });
  server.on("clientError", (error: Error & { code?: string }, socket: NetSocket) => {
    if (socket.destroyed) return;
    // A head that did not complete in time is closed without an answer, as Bun and uWS do.
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") socket.destroy();
    else if (error.code === "HPE_HEADER_OVERFLOW") writeRejection(socket, headTooLarge()).catch(() => socket.destroy());
    else socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(host.port, host.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : host.port;
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));

  return {
    port,
    async stopAccepting() {
      server.close();
      server.closeIdleConnections();
    },
    async dispose() {
      server.closeAllConnections();
      wss.close();
      await closed;
    },
  };
}

/** The Node.js + ws adapter. */
export const adapter: VerbAdapter = { name: "node", listen };

/** Serves `app` on Node.js + ws: `app.withOptions({ ...options, adapter }).listen()`. */
export const serve: Serve = serveWith(adapter);

export default adapter;
