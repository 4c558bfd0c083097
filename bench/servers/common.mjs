// Shared by every bench server: where to listen, the engine limits every contender gets (Verb's
// defaults: 16 MiB payload and backpressure, no idle timeout, no compression), the ready line, and
// a stdin control channel ("mem" -> GC, then one JSON line with the RSS).
import { createInterface } from "node:readline";

export const HOST = "127.0.0.1";
export const PORT = Number(process.env.BENCH_PORT ?? 0);
export const MAX_PAYLOAD = 16 * 1024 * 1024;
export const MAX_BACKPRESSURE = 16 * 1024 * 1024;
export const TOPIC = "bench";

function collectGarbage() {
  if (globalThis.Bun !== undefined) {
    globalThis.Bun.gc(true);
  } else if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
}

/** Prints the ready line and starts the control channel; the server exits when stdin ends. */
export function ready(port, extra = {}) {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() === "mem") {
      collectGarbage();
      const { rss, heapUsed } = process.memoryUsage();
      process.stdout.write(`${JSON.stringify({ rss, heapUsed })}\n`);
    }
  });
  lines.on("close", () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ ready: true, port, ...extra })}\n`);
}

let reported = 0;
/** Reports the first few hook errors on stderr (the orchestrator shows them when a scenario fails). */
export function reportError(error) {
  if (reported++ < 3) console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

export function fail(message) {
  console.error(message);
  process.exit(1);
}

/**
 * The crossws hooks of every crossws contender: echo, /sub subscribes, /pub goes out through
 * `publish` (the adapter's server-wide publish).
 */
export function crosswsHooks(publish) {
  return {
    open(peer) {
      if (peer.namespace === "/sub") peer.subscribe(TOPIC);
    },
    message(peer, message) {
      if (peer.namespace === "/pub") publish(TOPIC, message.rawData);
      else peer.send(message.rawData);
    },
    error(_peer, error) {
      reportError(error);
    },
  };
}

/**
 * The Socket.IO handlers of both Socket.IO contenders (websocket transport only): connections whose
 * handshake query says `role=sub` join the room `bench`, `role=pub` connections' "pub" events go to
 * that room (`io.to(room).emit`, the server-wide broadcast), every other connection's "echo" events
 * come back to it.
 */
export function socketIoHandlers(io) {
  io.on("connection", (socket) => {
    const role = socket.handshake.query.role;
    if (role === "sub") socket.join(TOPIC);
    else if (role === "pub") socket.on("pub", (data) => io.to(TOPIC).emit("pub", data));
    else socket.on("echo", (data) => socket.emit("echo", data));
  });
}

/** Socket.IO server options every Socket.IO contender gets: the websocket transport only, no compression. */
export const SOCKET_IO_OPTIONS = {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: MAX_PAYLOAD,
};

/** The chat's history: at most 100 messages kept per room, the last 20 shown on join (the spec's ChatRoom). */
export class RoomHistory {
  #rooms = new Map();

  add(roomId, message) {
    let messages = this.#rooms.get(roomId);
    if (messages === undefined) {
      messages = [];
      this.#rooms.set(roomId, messages);
    }
    messages.push(message);
    if (messages.length > 100) messages.shift();
  }

  recent(roomId) {
    return (this.#rooms.get(roomId) ?? []).slice(-20);
  }
}
