// The load generator's ceiling: a raw TCP server that does no WebSocket work. It answers the upgrade,
// parses only frame headers, and answers each complete client frame with a pre-built unmasked frame of
// the same payload length (echo), or, on /pub, writes one pre-built frame per publish to every /sub
// connection. Its numbers are what the generator can drive, not what a server can do.
import { createHash } from "node:crypto";
import net from "node:net";
import { buildFrame, FrameParser, repeatFrame } from "../frames.mjs";
import { HOST, PORT, ready } from "./common.mjs";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const BATCH = 1024;
const replies = new Map(); // payload length -> BATCH unmasked frames
const subscribers = new Set();

function replyFrames(length) {
  let frames = replies.get(length);
  if (frames === undefined) {
    frames = repeatFrame(buildFrame(length, { masked: false }), BATCH);
    replies.set(length, frames);
  }
  return frames;
}

function write(socket, frames, frameLength, count) {
  for (let left = count; left > 0; left -= BATCH) socket.write(frames.subarray(0, Math.min(left, BATCH) * frameLength));
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const parser = new FrameParser();
  let head = null;
  let path = "/";
  const onFrames = (chunk) => {
    const n = parser.feed(chunk);
    if (n === 0) return;
    const frames = replyFrames(parser.lastLength);
    const frameLength = frames.length / BATCH;
    if (path === "/pub") for (const subscriber of subscribers) write(subscriber, frames, frameLength, n);
    else if (path !== "/sub") write(socket, frames, frameLength, n);
  };
  const onHandshake = (chunk) => {
    head = head === null ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    const lines = head.toString("latin1", 0, end).split("\r\n");
    path = lines[0].split(" ")[1] ?? "/";
    const keyLine = lines.find((line) => line.toLowerCase().startsWith("sec-websocket-key:")) ?? "";
    const accept = createHash("sha1")
      .update(keyLine.slice(keyLine.indexOf(":") + 1).trim() + GUID)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.off("data", onHandshake);
    socket.on("data", onFrames);
    if (path === "/sub") subscribers.add(socket);
    const rest = head.subarray(end + 4);
    if (rest.length > 0) onFrames(rest);
  };
  socket.on("data", onHandshake);
  socket.on("error", () => {});
  socket.on("close", () => subscribers.delete(socket));
});
server.listen(PORT, HOST, () => ready(server.address().port));
