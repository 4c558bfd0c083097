/**
 * A raw WebSocket client over a TCP socket: hand-made handshake and frames, so checks can see
 * the wire (RSV1, close frames or their absence, exact sizes) and send what libraries refuse to
 * (invalid UTF-8, bad close codes, oversized or fragmented frames), and can stop reading.
 */

import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from "node:zlib";

/** WebSocket opcodes. */
export const Opcode = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** A frame as received. */
export interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
  /** Bytes the frame took on the wire (header + payload). */
  wireLength: number;
  /** Which TCP read completed the frame (frames written in one batch usually share it). */
  chunk: number;
}

/** How the TCP connection ended. */
export interface RawEnd {
  /** The close frame received before the end, if any. */
  closeFrame: { code: number | undefined; reason: string } | undefined;
}

/** Handshake response. */
export interface HandshakeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Options of {@link RawClient.connect}. */
export interface RawConnectOptions {
  path?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function encodeFrame(opcode: number, payload: Buffer, fin: boolean, rsv1: boolean, mask: boolean): Buffer {
  const length = payload.length;
  const headerLength = 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (mask ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  let offset = 2;
  if (length < 126) {
    frame[1] = (mask ? 0x80 : 0) | length;
  } else if (length < 65536) {
    frame[1] = (mask ? 0x80 : 0) | 126;
    frame.writeUInt16BE(length, 2);
    offset = 4;
  } else {
    frame[1] = (mask ? 0x80 : 0) | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
    offset = 10;
  }
  if (mask) {
    const key = randomBytes(4);
    key.copy(frame, offset);
    offset += 4;
    for (let i = 0; i < length; i++) frame[offset + i] = (payload[i] as number) ^ (key[i & 3] as number);
  } else {
    payload.copy(frame, offset);
  }
  return frame;
}

/** Compresses one message as permessage-deflate does (sync flush, trailing 00 00 ff ff removed). */
export function deflateMessage(data: Buffer): Buffer {
  const compressed = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return compressed.subarray(0, compressed.length - 4);
}

/** Inflates one permessage-deflate message compressed without context takeover. */
export function inflateMessage(data: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([data, Buffer.from([0x00, 0x00, 0xff, 0xff])]), {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  });
}

/** A raw client connection. */
export class RawClient {
  readonly socket: Socket;
  readonly response: HandshakeResponse;
  readonly frames: Frame[] = [];
  /** Bytes of frames received so far (header + payload). */
  bytesReceived = 0;
  readonly ended: Promise<RawEnd>;
  #buffer: Buffer;
  #waiters: (() => void)[] = [];
  #closeFrame: RawEnd["closeFrame"];
  #isEnded = false;
  #chunks = 0;

  private constructor(socket: Socket, response: HandshakeResponse, rest: Buffer) {
    this.socket = socket;
    this.response = response;
    this.#buffer = rest;
    this.ended = new Promise<RawEnd>((resolve) => {
      socket.once("close", () => {
        this.#isEnded = true;
        this.#wake();
        resolve({ closeFrame: this.#closeFrame });
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.#chunks++;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    this.#parse();
  }

  /** Whether the TCP connection has closed. */
  get isEnded(): boolean {
    return this.#isEnded;
  }

  /** Opens a TCP connection and performs the handshake. Resolves even for a non-101 answer (see `response.status`). */
  static connect(port: number, options: RawConnectOptions = {}): Promise<RawClient> {
    const path = options.path ?? "/";
    const key = randomBytes(16).toString("base64");
    const headers: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
      ...options.headers,
    };
    let request = `GET ${path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
    request += "\r\n";
    return new Promise<RawClient>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`handshake timed out after ${options.timeoutMs ?? 5000} ms`));
      }, options.timeoutMs ?? 5000);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number((lines[0] ?? "").split(" ")[1]);
        const responseHeaders: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          responseHeaders[name] = responseHeaders[name] === undefined ? value : `${responseHeaders[name]}, ${value}`;
        }
        let rest = head.subarray(end + 4);
        if (status !== 101) {
          // Read the body by Content-Length, then hand back the answer.
          const length = Number(responseHeaders["content-length"] ?? "0");
          if (rest.length < length) return;
          const body = rest.subarray(0, length).toString("utf8");
          rest = Buffer.alloc(0);
          socket.off("data", onData);
          clearTimeout(timer);
          const client = new RawClient(socket, { status, headers: responseHeaders, body }, rest);
          resolve(client);
          return;
        }
        socket.off("data", onData);
        clearTimeout(timer);
        resolve(new RawClient(socket, { status, headers: responseHeaders, body: "" }, rest));
      };
      socket.on("data", onData);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => socket.write(request));
    });
  }

  /** Sends one frame (masked unless told otherwise). */
  sendFrame(opcode: number, payload: Buffer | string, options: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {}): void {
    const data = typeof payload === "string" ? Buffer.from(payload) : payload;
    this.socket.write(encodeFrame(opcode, data, options.fin ?? true, options.rsv1 ?? false, options.mask ?? true));
  }

  sendText(text: string): void {
    this.sendFrame(Opcode.TEXT, text);
  }

  sendBinary(data: Buffer): void {
    this.sendFrame(Opcode.BINARY, data);
  }

  /** Sends a close frame; without a code the payload is empty. */
  sendClose(code?: number, reason = ""): void {
    if (code === undefined) {
      this.sendFrame(Opcode.CLOSE, Buffer.alloc(0));
      return;
    }
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.sendFrame(Opcode.CLOSE, payload);
  }

  /** Waits for the next frame matching `accept` (already received frames count), up to `timeoutMs`. */
  async nextFrame(accept: (frame: Frame) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    for (;;) {
      for (; index < this.frames.length; index++) {
        const frame = this.frames[index] as Frame;
        if (accept(frame)) return frame;
      }
      if (this.#isEnded) throw new Error("connection ended before the expected frame");
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching frame within ${timeoutMs} ms (got ${this.frames.length} frames)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the TCP connection ends, up to `timeoutMs`. */
  async waitEnd(timeoutMs = 5000): Promise<RawEnd> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading from the socket (the kernel buffers fill, the server sees backpressure). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #parse(): void {
    let progressed = false;
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) break;
      const first = buffer[0] as number;
      const second = buffer[1] as number;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (second & 0x80) !== 0;
      if (masked) offset += 4;
      if (buffer.length < offset + length) break;
      let payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (masked) {
        const key = buffer.subarray(offset - 4, offset);
        payload = Buffer.from(payload.map((byte, i) => byte ^ (key[i & 3] as number)));
      }
      const frame: Frame = {
        fin: (first & 0x80) !== 0,
        rsv1: (first & 0x40) !== 0,
        opcode: first & 0x0f,
        payload,
        wireLength: offset + length,
        chunk: this.#chunks,
      };
      this.bytesReceived += frame.wireLength;
      if (frame.opcode === Opcode.CLOSE) {
        this.#closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
          reason: payload.length > 2 ? payload.subarray(2).toString("utf8") : "",
        };
      }
      this.frames.push(frame);
      this.#buffer = buffer.subarray(offset + length);
      progressed = true;
    }
    if (progressed) this.#wake();
  }
}
