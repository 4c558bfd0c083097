/**
 * @verb/deno: Verb on Deno.serve + Deno.upgradeWebSocket. Translation only; every shared behaviour lives in @verb/core.
 * What Deno lacks is emulated here: send statuses, the backpressure limit and drain from `bufferedAmount`, payload
 * limits under its fixed 64 MiB, the head limits it does not check, close handshakes that end, and terminate.
 */

import {
  type AdapterHost,
  type AdapterServer,
  CloseCode,
  CloseReason,
  headersToRecord,
  headTooLarge,
  MAX_HEAD_BYTES,
  MAX_HEADER_FIELDS,
  QueuedSends,
  type Serve,
  type ServerSocket,
  type SocketDriver,
  serveWith,
  toWebRequest,
  type UpgradeDecision,
  UpgradeRequest,
  type VerbAdapter,
} from "@verb/core";

const kSocket = Symbol("verb.socket");
const kCode = Symbol("verb.closeCode");
const kQueued = Symbol("verb.queued");
const kDeadline = Symbol("verb.closeDeadline");

interface TaggedWebSocket extends WebSocket {
  [kSocket]: ServerSocket<unknown, unknown>;
  /** The contract's close code once the adapter or an engine error decided it (then Deno's buffer is never read again). */
  [kCode]?: number;
  [kQueued]?: QueuedSends;
  /** After the server's close frame: when the connection is cut if the client has not ended it. */
  [kDeadline]?: number;
}

const MESSAGE_COST = 1024; // beyond its bytes, a queued message costs a copy and a write task: ~950 B on Deno 2.9 (measured)
const HIGH_WATER = 16 * 1024; // every send waits for its write task; past this many bytes waiting it is "buffered"
const CLOSE_TIMEOUT_MS = 5000; // a close handshake the client does not finish is cut (ws's default; Deno has none)
const FAIL_WAIT_MS = 20; // a failed connection is cut this long after its close frame (after the close timer ran)
const WATCH_MS = 10; // one timer looks at the sockets waiting for a drain or a close
const DISPOSE_WAIT_MS = 1000; // how long dispose waits for Deno's graceful shutdown

const REASON_FOR: Record<number, string> = {
  [CloseCode.MESSAGE_TOO_BIG]: CloseReason.MESSAGE_TOO_BIG,
  [CloseCode.INVALID_PAYLOAD]: CloseReason.INVALID_PAYLOAD,
  [CloseCode.PROTOCOL_ERROR]: CloseReason.PROTOCOL_ERROR,
};

/** Maps the error Deno reports before a close (fastwebsockets' messages) to the contract's code. */
function codeForError(message: string): number {
  if (message === "Frame too large") return CloseCode.MESSAGE_TOO_BIG;
  if (message === "Invalid UTF-8" || message === "Invalid string data") return CloseCode.INVALID_PAYLOAD;
  // Protocol violations; the rest (Unexpected EOF, I/O errors, the adapter's own cut) ended without a close frame.
  return /^(Invalid |Reserved bits|Control frame|Ping frame)/.test(message) ? CloseCode.PROTOCOL_ERROR : CloseCode.ABNORMAL;
}

/**
 * Deno has no terminate(): the resource close its own server uses ends the connection without a close frame,
 * reached through `Deno[Deno.internal].core` and the socket's `[[rid]]` slot. False where they are missing.
 */
function resourceClose(): (ws: WebSocket) => boolean {
  const internals = Deno as unknown as Record<string | symbol, { core?: { tryClose?: (rid: number) => void } }>;
  const tryClose = internals[internals.internal as unknown as symbol]?.core?.tryClose;
  let ridKey: symbol | undefined;
  return (ws) => {
    ridKey ??= Object.getOwnPropertySymbols(ws).find((key) => key.description === "[[rid]]");
    const rid = ridKey === undefined ? undefined : (ws as unknown as Record<symbol, unknown>)[ridKey];
    if (typeof tryClose !== "function" || typeof rid !== "number") return false;
    tryClose(rid);
    return true;
  };
}

function closeNow(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // a leading U+FEFF is kept
const encoder = new TextEncoder();

type DenoDriver = SocketDriver<TaggedWebSocket> & { fail(ws: TaggedWebSocket, code: number): void };

function createDriver(maxBackpressure: number): DenoDriver {
  const cut = resourceClose();
  const watched = new Set<TaggedWebSocket>(); // waiting for their buffer to empty (a drain) or their close to end
  let timer: ReturnType<typeof setInterval> | undefined;
  const watch = (ws: TaggedWebSocket) => {
    watched.add(ws);
    timer ??= setInterval(look, WATCH_MS);
  };

  function look(): void {
    const now = Date.now();
    for (const ws of watched) {
      const deadline = ws[kDeadline];
      if (ws.readyState === 3) watched.delete(ws);
      else if (deadline !== undefined) {
        if (now >= deadline) terminate(ws);
      } else if (ws[kCode] === undefined && ws.bufferedAmount === 0) {
        watched.delete(ws);
        ws[kQueued]?.settle(0);
        ws[kSocket].engineDrain();
      }
    }
    if (watched.size > 0) return;
    clearInterval(timer);
    timer = undefined;
  }

  /** Whether the send queue is past the limit: its bytes plus what each queued message costs. */
  function overLimit(ws: TaggedWebSocket): boolean {
    const buffered = ws.bufferedAmount;
    const queued = ws[kQueued];
    queued?.settle(buffered);
    return buffered + (queued?.count ?? 0) * MESSAGE_COST > maxBackpressure;
  }

  function close(ws: TaggedWebSocket, code: number, reason: string, waitMs = CLOSE_TIMEOUT_MS): void {
    ws[kDeadline] = Date.now() + waitMs;
    watch(ws);
    // From a timer: when Deno's read loop finds client data after close(), it drops the connection before its close
    // frame is written, unless the loop was already waiting (as it is outside its own message dispatch).
    setTimeout(closeNow, 0, ws, code, reason);
  }

  function terminate(ws: TaggedWebSocket): void {
    // Deno panics on the buffer of a cut socket that still says OPEN: a close code keeps the driver off it.
    ws[kCode] ??= CloseCode.ABNORMAL;
    watched.delete(ws);
    if (!cut(ws)) ws.close();
  }

  return {
    /** Fails the connection (RFC 6455 §7.1.7): the close frame, then the connection ends without waiting. */
    fail(ws, code) {
      ws[kCode] = code;
      close(ws, code, REASON_FOR[code] ?? "", FAIL_WAIT_MS);
    },
    send(ws, data, isBinary) {
      if (ws.readyState !== 1 || ws[kCode] !== undefined) return "dropped";
      if (overLimit(ws)) {
        watch(ws); // core waits for a drain after a drop
        return "dropped";
      }
      const before = ws.bufferedAmount;
      if (isBinary) ws.send(typeof data === "string" ? encoder.encode(data) : data);
      else ws.send(typeof data === "string" ? data : decoder.decode(data));
      // Deno's send returns nothing: the status comes from its buffer.
      const buffered = ws.bufferedAmount;
      if (buffered > before) {
        ws[kQueued] ??= new QueuedSends();
        ws[kQueued].push(buffered - before);
      }
      if (buffered <= HIGH_WATER) return "sent";
      watch(ws);
      return "buffered";
    },
    ping: () => "dropped", // Deno has no ping(): nothing is sent
    close,
    terminate,
    bufferedAmount: (ws) => (ws[kCode] === undefined ? ws.bufferedAmount : 0),
    cork: (_ws, fn) => fn(), // nothing to batch: Deno writes only after the callback returns
  };
}

/** The request target (path and query): Deno's `url` is "http://" + the Host header as sent + the target. */
function targetOf(req: Request): string {
  const url = req.url;
  const authority = url.indexOf("://") + 3;
  const host = req.headers.get("host");
  if (host !== null && url.startsWith(host, authority)) return url.slice(authority + host.length) || "/";
  const slash = url.indexOf("/", authority);
  return slash === -1 ? "/" : url.slice(slash);
}

/** Whether the head is over the contract's limits (Deno takes 64 KiB and 128 fields); repeated names are merged, each counts once. */
function headOverLimits(req: Request, target: string): boolean {
  let fields = 0;
  let bytes = req.method.length + target.length + 12;
  req.headers.forEach((value, name) => {
    fields++;
    bytes += name.length + value.length + 4;
  });
  return fields > MAX_HEADER_FIELDS || bytes > MAX_HEAD_BYTES;
}

async function listen(host: AdapterHost): Promise<AdapterServer> {
  if (typeof Deno === "undefined") throw new Error("@verb/deno runs under Deno; under Node.js use @verb/node");
  const maxPayload = host.limits.maxPayloadLength;
  const driver = createDriver(host.limits.maxBackpressure);

  // Shared listeners: `this` is the socket, so no closure is created per connection.
  function onOpen(this: WebSocket): void {
    (this as TaggedWebSocket)[kSocket].engineOpen(this, driver as SocketDriver<unknown>);
  }
  function onMessage(this: WebSocket, event: MessageEvent): void {
    const ws = this as TaggedWebSocket;
    if (ws[kCode] !== undefined) return;
    const data = event.data as string | ArrayBuffer;
    // Server sockets receive binary as a fresh ArrayBuffer per message: a Buffer over it may be kept.
    const message = typeof data === "string" ? data : Buffer.from(data);
    // Deno's own limit is a fixed 64 MiB: a smaller one is applied here, once the message is complete.
    const size = typeof message === "string" && message.length * 3 > maxPayload ? Buffer.byteLength(message) : message.length;
    if (size > maxPayload) driver.fail(ws, CloseCode.MESSAGE_TOO_BIG);
    else ws[kSocket].engineMessage(message);
  }
  function onError(this: WebSocket, event: Event): void {
    const ws = this as TaggedWebSocket;
    if (ws.readyState === 0)
      ws[kSocket].abandon(); // the upgrade failed
    else ws[kCode] ??= codeForError((event as ErrorEvent).message);
  }
  function onClose(this: WebSocket, event: CloseEvent): void {
    const ws = this as TaggedWebSocket;
    const mapped = ws[kCode] ?? (event.code === 0 ? CloseCode.ABNORMAL : undefined);
    if (mapped !== undefined) ws[kSocket].engineClose(mapped, REASON_FOR[mapped] ?? "");
    else ws[kSocket].engineClose(event.code, event.reason);
  }

  const finishUpgrade = (req: Request, decision: UpgradeDecision): Response => {
    if (!decision.accept) return decision.response; // core's refusals carry `connection: close`
    let upgrade: { response: Response; socket: WebSocket };
    try {
      // No protocol option: Deno would check it against the offer split on ", " only; core chose an offered one.
      upgrade = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    } catch {
      decision.socket.abandon();
      return new Response("WebSocket upgrade failed", { status: 400 });
    }
    const ws = upgrade.socket as TaggedWebSocket;
    ws[kSocket] = decision.socket;
    ws.addEventListener("open", onOpen);
    ws.addEventListener("message", onMessage);
    ws.addEventListener("error", onError);
    ws.addEventListener("close", onClose);
    // Writable since Deno 2.5.5: the 101 carries core's answer and headers.
    const headers = upgrade.response.headers;
    if (decision.protocol !== "") headers.set("sec-websocket-protocol", decision.protocol);
    for (const [name, value] of decision.headers) headers.append(name, value);
    // Deno has no permessage-deflate: whatever core chose, the 101 answers no extension, and the socket says so.
    decision.socket.extensions = "";
    return upgrade.response;
  };

  const server = Deno.serve(
    {
      port: host.port,
      hostname: host.hostname,
      onListen() {},
      onError(error) {
        host.reportError(error);
        return new Response("Internal Server Error", { status: 500 });
      },
    },
    (req, info) => {
      const target = targetOf(req);
      if (headOverLimits(req, target)) return headTooLarge();
      const remoteAddress = info.remoteAddr.hostname;
      if (req.headers.get("upgrade") === null) {
        // Deno's url keeps dot segments and a Host that is not host[:port]: core gets the URL every engine gives.
        const hostHeader = req.headers.get("host") ?? undefined;
        const request = toWebRequest(req.method, hostHeader, target, req.headers, () => req.body as ReadableStream<Uint8Array>);
        return request instanceof Response ? request : host.fetch(request, remoteAddress);
      }
      // Copied before anything awaits: upgradeWebSocket consumes the request.
      const decision = host.upgrade(new UpgradeRequest(req.method, target, headersToRecord(req.headers), remoteAddress));
      if (decision instanceof Promise) return decision.then((settled) => finishUpgrade(req, settled));
      return finishUpgrade(req, decision);
    },
  );
  let shutdown: Promise<void> | undefined;
  // Closes the listener at once; settles when every connection has ended.
  const stop = () => (shutdown ??= server.shutdown().catch(host.reportError));

  return {
    port: server.addr.port,
    stopAccepting: async () => void stop(),
    async dispose() {
      // A connection that never ends (a stream, a cut socket whose peer stopped reading) is left to finish in the
      // background: once its graceful shutdown began, Deno cannot force one.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([stop(), new Promise((resolve) => (timer = setTimeout(resolve, DISPOSE_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}

/** The Deno.serve adapter. */
export const adapter: VerbAdapter = { name: "deno", listen };

/** Serves `app` on Deno.serve: `app.withOptions({ ...options, adapter }).listen()`. */
export const serve: Serve = serveWith(adapter);

export default adapter;
