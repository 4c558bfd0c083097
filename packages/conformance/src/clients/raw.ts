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
  rsv2: boolean;
  rsv3: boolean;
  /** Whether the MASK bit was set (a server must never set it). */
  masked: boolean;
  /** The length encoding the sender used: 7-bit, 16-bit or 64-bit. */
  lengthForm: 7 | 16 | 64;
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
  closeFrame: CloseFrameSeen | undefined;
}

/** A close frame as received. */
export interface CloseFrameSeen {
  /** The status code, undefined for an empty close frame. */
  code: number | undefined;
  reason: string;
  /** The whole payload (code and reason bytes). */
  payload: Buffer;
}

/** A data message as received: its frames put together (control frames in between skipped). */
export interface RawMessage {
  opcode: number;
  /** RSV1 of the first frame (permessage-deflate: compressed). */
  compressed: boolean;
  /** The payload of all frames, still compressed when `compressed`. */
  payload: Buffer;
  /** The frames it came in. */
  frames: Frame[];
  /** Index in `frames` of the message's first frame, and just after its last frame. */
  start: number;
  next: number;
}

/** What {@link RawClient.waitCloseOrEnd} saw first. */
export interface CloseOrEnd {
  /** The first close frame received, if one came before the TCP connection ended. */
  closeFrame: CloseFrameSeen | undefined;
  /** Whether the TCP connection has ended. */
  ended: boolean;
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
  /** The request line's HTTP version (default `1.1`). */
  httpVersion?: string;
}

/** How {@link buildFrame} shapes a frame: anything a conforming client would never send included. */
export interface FrameOptions {
  /** FIN bit (default true). */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** MASK bit and a masked payload (default true: clients must mask). */
  mask?: boolean;
  /** The 4-byte masking key (default: random). `Buffer.alloc(4)` is the all-zero key. */
  maskKey?: Buffer;
  /** Length encoding: 7-bit, 16-bit or 64-bit (default: the minimal one, as senders must use). */
  lengthForm?: 7 | 16 | 64;
  /** Value written in the length field instead of the payload's size (the payload is still appended as is). */
  declaredLength?: bigint;
}

/** Encodes one frame as a client would send it, or as `options` bend it. */
export function buildFrame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const length = data.length;
  const mask = options.mask ?? true;
  const form = options.lengthForm ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const declared = options.declaredLength ?? BigInt(length);
  const headerLength = 2 + (form === 7 ? 0 : form === 16 ? 2 : 8) + (mask ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] =
    ((options.fin ?? true) ? 0x80 : 0) |
    (options.rsv1 ? 0x40 : 0) |
    (options.rsv2 ? 0x20 : 0) |
    (options.rsv3 ? 0x10 : 0) |
    (opcode & 0x0f);
  let offset = 2;
  if (form === 7) {
    frame[1] = (mask ? 0x80 : 0) | Number(declared & 0x7fn);
  } else if (form === 16) {
    frame[1] = (mask ? 0x80 : 0) | 126;
    frame.writeUInt16BE(Number(declared & 0xffffn), 2);
    offset = 4;
  } else {
    frame[1] = (mask ? 0x80 : 0) | 127;
    frame.writeBigUInt64BE(declared & 0xffffffffffffffffn, 2);
    offset = 10;
  }
  if (mask) {
    const key = options.maskKey ?? randomBytes(4);
    key.copy(frame, offset, 0, 4);
    offset += 4;
    for (let i = 0; i < length; i++) frame[offset + i] = (data[i] as number) ^ (key[i & 3] as number);
  } else {
    data.copy(frame, offset);
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

const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Negotiated permessage-deflate rules for one direction (RFC 7692 §7.1). */
export interface DeflateRules {
  /** LZ77 window of the sender: 8–15 bits (15 when not negotiated). */
  windowBits: number;
  /** Whether the sender keeps its context from message to message (no `*_no_context_takeover`). */
  contextTakeover: boolean;
}

/**
 * Inflates the server's messages as a client bound by `rules` must: with a window of exactly
 * `windowBits` (a stream that refers further back fails: the output is taken 64 bytes at a time,
 * so zlib cannot reach back through its output buffer) and with or without the previous messages
 * as context.
 */
export class MessageInflater {
  readonly rules: DeflateRules;
  #stream: Buffer[] = [];
  #produced = 0;

  constructor(rules: DeflateRules) {
    this.rules = rules;
  }

  inflate(payload: Buffer): Buffer {
    const options = { windowBits: this.rules.windowBits, chunkSize: 64, finishFlush: zlibConstants.Z_SYNC_FLUSH };
    if (!this.rules.contextTakeover) return inflateRawSync(Buffer.concat([payload, DEFLATE_TAIL]), options);
    this.#stream.push(payload, DEFLATE_TAIL);
    const all = inflateRawSync(Buffer.concat(this.#stream), options);
    const message = all.subarray(this.#produced);
    this.#produced = all.length;
    return Buffer.from(message);
  }
}

/**
 * Compresses client messages within `rules`: a window of `windowBits`, and with context takeover
 * the previous messages as the preset dictionary (the receiver's window holds exactly them).
 */
export class MessageDeflater {
  readonly rules: DeflateRules;
  #history = Buffer.alloc(0);

  constructor(rules: DeflateRules) {
    this.rules = rules;
  }

  deflate(data: Buffer): Buffer {
    const dictionary = this.rules.contextTakeover && this.#history.length > 0 ? this.#history : undefined;
    const compressed = deflateRawSync(data, {
      windowBits: this.rules.windowBits,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      ...(dictionary === undefined ? {} : { dictionary }),
    });
    if (this.rules.contextTakeover) this.#history = Buffer.concat([this.#history, data]).subarray(-32768);
    return compressed.subarray(0, compressed.length - 4);
  }
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
    let request = `GET ${path} HTTP/${options.httpVersion ?? "1.1"}\r\n`;
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
  sendFrame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): void {
    this.socket.write(buildFrame(opcode, payload, options));
  }

  /** Writes bytes as they are (e.g. several frames from {@link buildFrame} in one TCP write). */
  write(bytes: Buffer | Buffer[]): void {
    this.socket.write(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
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

  /**
   * Waits for the next complete data message from frame index `from` on: its frames put together,
   * pings and pongs in between skipped. Throws if a close frame or the end of the connection comes first.
   */
  async nextMessage(from = 0, timeoutMs = 5000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    let start = -1;
    const parts: Frame[] = [];
    for (;;) {
      const remaining = deadline - Date.now();
      const frame = await this.nextFrame(() => true, Math.max(remaining, 1), index).catch((error: Error) => {
        const close = this.#closeFrame;
        const seen = close === undefined ? "" : `; close frame ${close.code ?? "without a code"}`;
        throw new Error(`no complete message within ${timeoutMs} ms: ${error.message}${seen}`);
      });
      const at = this.frames.indexOf(frame, index);
      index = at + 1;
      if (frame.opcode === Opcode.PING || frame.opcode === Opcode.PONG) continue;
      if (frame.opcode === Opcode.CLOSE) {
        throw new Error(
          `close frame ${frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : "without a code"} instead of a message`,
        );
      }
      if (start === -1) start = at;
      parts.push(frame);
      if (frame.fin) {
        const head = parts[0] as Frame;
        return {
          opcode: head.opcode,
          compressed: head.rsv1,
          payload: Buffer.concat(parts.map((p) => p.payload)),
          frames: parts,
          start,
          next: index,
        };
      }
    }
  }

  /** Waits until a close frame arrives or the TCP connection ends, whichever comes first, up to `timeoutMs`. */
  async waitCloseOrEnd(timeoutMs = 5000): Promise<CloseOrEnd> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#closeFrame !== undefined || this.#isEnded) return { closeFrame: this.#closeFrame, ended: this.#isEnded };
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`neither a close frame nor the end of the connection within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
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
      const lengthForm = (second & 0x7f) === 126 ? 16 : (second & 0x7f) === 127 ? 64 : 7;
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
        rsv2: (first & 0x20) !== 0,
        rsv3: (first & 0x10) !== 0,
        masked,
        lengthForm,
        opcode: first & 0x0f,
        payload,
        wireLength: offset + length,
        chunk: this.#chunks,
      };
      this.bytesReceived += frame.wireLength;
      if (frame.opcode === Opcode.CLOSE) {
        this.#closeFrame ??= {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
          reason: payload.length > 2 ? payload.subarray(2).toString("utf8") : "",
          payload,
        };
      }
      this.frames.push(frame);
      this.#buffer = buffer.subarray(offset + length);
      progressed = true;
    }
    if (progressed) this.#wake();
  }
}
