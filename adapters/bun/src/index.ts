/**
 * @verb/bun: Verb on Bun.serve. Translation only; every shared behaviour lives in @verb/core.
 */

import {
  type AdapterHost,
  type AdapterServer,
  CloseCode,
  CloseReason,
  headTooLarge,
  MAX_HEADER_FIELDS,
  type ResolvedWebSocketLimits,
  type SendStatus,
  type Serve,
  type ServerSocket,
  type SocketDriver,
  serveWith,
  type UpgradeDecision,
  UpgradeRequest,
  type VerbAdapter,
} from "@verb/core";
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";

type AnySocket = ServerSocket<unknown, unknown>;
type BunSocket = ServerWebSocket<AnySocket>;

function statusOf(result: number, empty: boolean): SendStatus {
  if (result > 0) return "sent";
  if (result === -1) return "buffered";
  // Bun returns 0 both for a dropped message and for a successful empty one.
  return empty ? "sent" : "dropped";
}

function sizeOf(data: string | ArrayBuffer | Uint8Array): number {
  return typeof data === "string" ? data.length : data.byteLength;
}

// ignoreBOM: a text message that starts with U+FEFF keeps it (the default decoder strips it).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

const driver: SocketDriver<BunSocket> = {
  send(ws, data, isBinary, compress) {
    const result = isBinary
      ? ws.sendBinary(typeof data === "string" ? Buffer.from(data) : data, compress)
      : ws.sendText(typeof data === "string" ? data : decoder.decode(data), compress);
    return statusOf(result, sizeOf(data) === 0);
  },
  ping(ws, data) {
    return statusOf(ws.ping(data), data.byteLength === 0);
  },
  close(ws, code, reason) {
    ws.close(code, reason);
  },
  terminate(ws) {
    ws.terminate();
  },
  bufferedAmount(ws) {
    return ws.getBufferedAmount();
  },
  cork(ws, fn) {
    return ws.cork(fn);
  },
  subscribe(ws, topic) {
    ws.subscribe(topic);
  },
  unsubscribe(ws, topic) {
    ws.unsubscribe(topic);
  },
  publish(ws, topic, data, isBinary, compress) {
    if (isBinary) ws.publishBinary(topic, typeof data === "string" ? Buffer.from(data) : data, compress);
    else ws.publishText(topic, typeof data === "string" ? data : decoder.decode(data), compress);
  },
};

/** Maps Bun's close report to the contract's code and reason. */
function contractClose(code: number, reason: string): [number, string] {
  if (code !== CloseCode.ABNORMAL || reason.length === 0) return [code, reason];
  // "Received too big control frame" is a protocol error; only a message is "too big".
  if (reason.startsWith("Received too big message")) return [CloseCode.MESSAGE_TOO_BIG, CloseReason.MESSAGE_TOO_BIG];
  if (reason.includes("UTF-8") || reason.includes("inflation") || reason.includes("compress")) {
    return [CloseCode.INVALID_PAYLOAD, CloseReason.INVALID_PAYLOAD];
  }
  if (reason.startsWith("Received")) return [CloseCode.PROTOCOL_ERROR, CloseReason.PROTOCOL_ERROR];
  return [CloseCode.ABNORMAL, ""];
}

function deflateOption(limits: ResolvedWebSocketLimits): WebSocketHandler<AnySocket>["perMessageDeflate"] {
  if (limits.compression === "disabled") return false;
  if (limits.compression === "shared") return { compress: "shared", decompress: "shared" };
  return { compress: "dedicated", decompress: "dedicated" };
}

/** Header fields of a request (Bun merges repeated names: each name counts once). */
function headerFields(headers: Headers): number {
  let count = 0;
  headers.forEach(() => {
    count++;
  });
  return count;
}

function snapshot(req: Request, remoteAddress: string): UpgradeRequest {
  // The raw list (a copy: the adapter rewrites the extensions header for Bun's negotiation).
  const headers: string[] = [];
  req.headers.forEach((value, name) => {
    headers.push(name, value);
  });
  const url = req.url;
  const slash = url.indexOf("/", url.indexOf("://") + 3);
  return new UpgradeRequest(req.method, slash === -1 ? "/" : url.slice(slash), headers, remoteAddress);
}

async function listen(host: AdapterHost): Promise<AdapterServer> {
  const limits = host.limits;

  const finishUpgrade = (req: Request, server: Server<AnySocket>, decision: UpgradeDecision): Response | undefined => {
    // Core's refusals carry `connection: close`: the client must not reuse the connection.
    if (!decision.accept) return decision.response;
    const headers: [string, string][] = [["Sec-WebSocket-Protocol", decision.protocol]];
    for (const [name, value] of decision.headers) headers.push([name, value]);
    // Bun negotiates from the request's header: given core's answer, it answers exactly that.
    if (decision.extensions === "") req.headers.delete("sec-websocket-extensions");
    else req.headers.set("sec-websocket-extensions", decision.extensions);
    let upgraded = false;
    try {
      upgraded = server.upgrade(req, { data: decision.socket, headers });
    } catch (error) {
      decision.socket.abandon();
      throw error;
    }
    if (upgraded) return undefined;
    decision.socket.abandon();
    return new Response("WebSocket upgrade failed", { status: 400 });
  };

  const server = Bun.serve<AnySocket>({
    port: host.port,
    hostname: host.hostname,
    // HTTP requests may stream; the core bounds bodies itself.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch(req, server) {
      const remoteAddress = server.requestIP(req)?.address ?? "";
      if (req.headers.get("upgrade") === null) {
        if (headerFields(req.headers) > MAX_HEADER_FIELDS) return headTooLarge();
        // Bun's idleTimeout would cut a handler or a stream that takes longer than 10 s; the other engines do not.
        server.timeout(req, 0);
        return host.fetch(req, remoteAddress);
      }
      const request = snapshot(req, remoteAddress);
      if (request.headerCount > MAX_HEADER_FIELDS) return headTooLarge();
      const decision = host.upgrade(request);
      if (decision instanceof Promise)
        return decision.then((settled) => finishUpgrade(req, server, settled)) as Promise<Response>;
      return finishUpgrade(req, server, decision);
    },
    error(error) {
      host.reportError(error);
      return new Response("Internal Server Error", { status: 500 });
    },
    websocket: {
      maxPayloadLength: limits.maxPayloadLength,
      backpressureLimit: limits.maxBackpressure,
      // Core applies the close-at-limit rule (Bun cannot say which subscriber a publish dropped,
      // so with this option core emulates topics).
      closeOnBackpressureLimit: false,
      // Idle timeout, pings and lifetime run in core's watchdog, identically on every engine.
      idleTimeout: 0,
      sendPings: false,
      publishToSelf: false,
      perMessageDeflate: deflateOption(limits),
      open(ws) {
        ws.data.engineOpen(ws, driver as SocketDriver<unknown>);
      },
      message(ws, message) {
        ws.data.engineMessage(message);
      },
      ping(ws, data) {
        ws.data.enginePing(data);
      },
      pong(ws, data) {
        ws.data.enginePong(data);
      },
      drain(ws) {
        ws.data.engineDrain();
      },
      close(ws, code, reason) {
        const [contractCode, contractReason] = contractClose(code, reason);
        ws.data.engineClose(contractCode, contractReason);
      },
    },
  });

  return {
    port: server.port ?? host.port,
    async stopAccepting() {
      // Not awaited: stop(false) settles only when every connection has ended.
      void server.stop(false);
    },
    async dispose() {
      await server.stop(true);
    },
    publish(topic, data, isBinary, compress) {
      if (isBinary) server.publish(topic, typeof data === "string" ? Buffer.from(data) : data, compress);
      else server.publish(topic, typeof data === "string" ? data : decoder.decode(data), compress);
    },
    subscriberCount(topic) {
      return server.subscriberCount(topic);
    },
  };
}

/** The Bun.serve adapter. */
export const adapter: VerbAdapter = { name: "bun", listen };

/** Serves `app` on Bun.serve: `app.withOptions({ ...options, adapter }).listen()`. */
export const serve: Serve = serveWith(adapter);

export default adapter;
