// WebSocket framing helpers shared by the load generator and the null server: pre-built frames and a
// header-only parser (payload bytes are skipped, never unmasked, copied or decoded).

const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** One frame (FIN set) of `payloadLength` bytes of "x"; masked like a client's when `masked`. */
export function buildFrame(payloadLength, { opcode = 2, masked = true } = {}) {
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
  for (let i = 0; i < payloadLength; i++) frame[offset + i] = masked ? 0x78 ^ MASK[i % 4] : 0x78;
  return frame;
}

/** `count` copies of `frame` back to back: a write of k frames is `subarray(0, k * frame.length)`. */
export function repeatFrame(frame, count) {
  const all = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(all, i * frame.length);
  return all;
}

/**
 * Header-only frame parser for one byte stream. `feed(chunk)` returns how many complete data
 * messages (FIN data or continuation frames) the chunk finished. A close frame sets `closed`;
 * `lastLength` is the payload length of the last frame header seen.
 */
export class FrameParser {
  constructor() {
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
      if (this.pendingData) messages++;
      this.pendingData = false;
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
      const finalData = opcode < 8 && (b0 & 128) !== 0;
      if (opcode === 8) this.closed = true;
      const end = i + header + payloadLength;
      if (end > len) {
        this.skip = end - len;
        this.pendingData = finalData;
        break;
      }
      if (finalData) messages++;
      i = end;
    }
    return messages;
  }
}
