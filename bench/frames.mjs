// WebSocket framing helpers shared by the load generator and the null server: pre-built frames and a
// header-only parser (payload bytes are skipped, never unmasked, copied or decoded).

const MASK = [0x37, 0xfa, 0x21, 0x3d];

/**
 * One frame (FIN set) of `payloadLength` bytes of "x", or of `payload` (a Buffer) when given; masked
 * like a client's when `masked`.
 */
export function buildFrame(payloadLength, { opcode = 2, masked = true, payload } = {}) {
  const headerLength = (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + (masked ? 4 : 0);
  const frame = Buffer.alloc(headerLength + payloadLength);
  frame[0] = 0x80 | opcode;
  let offset = 2;
  if (payloadLength < 126) {
    frame[1] = payloadLength;
  } else if (payloadLength < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadLength, 2);
    offset = 4;
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
    frame.writeUInt32BE(payloadLength % 2 ** 32, 6);
    offset = 10;
  }
  if (masked) {
    frame[1] |= 0x80;
    for (let i = 0; i < 4; i++) frame[offset + i] = MASK[i];
    offset += 4;
  }
  for (let i = 0; i < payloadLength; i++) {
    const byte = payload === undefined ? 0x78 : payload[i];
    frame[offset + i] = masked ? byte ^ MASK[i % 4] : byte;
  }
  return frame;
}

/** A text frame of `text`, masked like a client's. */
export function textFrame(text) {
  const payload = Buffer.from(text);
  return buildFrame(payload.length, { opcode: 1, payload });
}

/**
 * Engine.io v4 (Socket.IO) over the websocket transport: the event `name` with a string of `length`
 * "x" as its data, `42["name","xxx"]`, as one masked text frame.
 */
export function eioEventFrame(name, length) {
  return textFrame(`42${JSON.stringify([name, "x".repeat(length)])}`);
}

/** The engine.io pong packet ("3"), the answer to the server's ping ("2"). */
export const EIO_PONG = textFrame("3");
/** The Socket.IO CONNECT packet of the main namespace ("40"). */
export const EIO_CONNECT = textFrame("40");

/** `count` copies of `frame` back to back: a write of k frames is `subarray(0, k * frame.length)`. */
export function repeatFrame(frame, count) {
  const all = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(all, i * frame.length);
  return all;
}

/**
 * Header-only frame parser for one byte stream. `feed(chunk)` returns how many complete data
 * messages (FIN data or continuation frames) the chunk finished. A close frame sets `closed`;
 * `lastLength` is the payload length of the last frame header seen. With `eio`, a one-byte final
 * data frame is an engine.io ping ("2": every engine.io message packet is longer): it counts in
 * `pings`, not as a message.
 */
export class FrameParser {
  constructor({ eio = false } = {}) {
    this.eio = eio;
    this.pings = 0;
    this.pendingPing = false;
    this.skip = 0; // payload bytes of the current frame still to come
    this.pendingData = false; // the frame being skipped is a final data frame
    this.partial = null; // an incomplete header carried to the next chunk
    this.closed = false;
    this.lastLength = 0;
  }

  feed(chunk) {
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    const len = buf.length;
    let i = 0;
    let messages = 0;
    if (this.skip > 0) {
      if (this.skip > len) {
        this.skip -= len;
        return 0;
      }
      i = this.skip;
      this.skip = 0;
      if (this.pendingPing) this.pings++;
      else if (this.pendingData) messages++;
      this.pendingData = false;
      this.pendingPing = false;
    }
    while (i < len) {
      if (len - i < 2) {
        this.partial = Buffer.from(buf.subarray(i));
        break;
      }
      const b0 = buf[i];
      const b1 = buf[i + 1];
      let payloadLength = b1 & 127;
      let header = 2;
      if (payloadLength === 126) header = 4;
      else if (payloadLength === 127) header = 10;
      if (b1 & 128) header += 4;
      if (len - i < header) {
        this.partial = Buffer.from(buf.subarray(i));
        break;
      }
      if (payloadLength === 126) payloadLength = (buf[i + 2] << 8) | buf[i + 3];
      else if (payloadLength === 127) payloadLength = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
      this.lastLength = payloadLength;
      const opcode = b0 & 15;
      let finalData = opcode < 8 && (b0 & 128) !== 0;
      const ping = this.eio && finalData && payloadLength === 1;
      if (ping) finalData = false;
      if (opcode === 8) this.closed = true;
      const end = i + header + payloadLength;
      if (end > len) {
        this.skip = end - len;
        this.pendingData = finalData;
        this.pendingPing = ping;
        break;
      }
      if (ping) this.pings++;
      if (finalData) messages++;
      i = end;
    }
    return messages;
  }
}

/**
 * A full reader of a server's (unmasked) frames for the few connections whose payloads matter (the
 * chat's latency probes): same interface as FrameParser, and the payload of every complete text
 * message is pushed to `texts` (the caller drains it). Fragmented messages are joined.
 */
export class TextFrameReader {
  constructor({ eio = false } = {}) {
    this.eio = eio;
    this.pings = 0;
    this.closed = false;
    this.lastLength = 0;
    this.texts = [];
    this.buffer = null;
    this.fragments = [];
  }

  feed(chunk) {
    const buf = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    this.buffer = null;
    let messages = 0;
    let i = 0;
    while (buf.length - i >= 2) {
      const b0 = buf[i];
      let length = buf[i + 1] & 127;
      let header = 2;
      if (length === 126) {
        if (buf.length - i < 4) break;
        length = buf.readUInt16BE(i + 2);
        header = 4;
      } else if (length === 127) {
        if (buf.length - i < 10) break;
        length = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
        header = 10;
      }
      if (buf.length - i < header + length) break;
      const payload = buf.subarray(i + header, i + header + length);
      i += header + length;
      this.lastLength = length;
      const opcode = b0 & 15;
      if (opcode === 8) this.closed = true;
      if (opcode >= 8) continue;
      this.fragments.push(payload);
      if ((b0 & 128) === 0) continue;
      const whole = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments);
      this.fragments = [];
      if (this.eio && whole.length === 1 && whole[0] === 0x32) {
        this.pings++;
        continue;
      }
      messages++;
      this.texts.push(whole.toString());
    }
    if (i < buf.length) this.buffer = Buffer.from(buf.subarray(i));
    return messages;
  }
}
