/**
 * A fault-injecting TCP proxy on loopback for the client scenarios: it forwards bytes between a
 * client and a server (whose port may change, so a restarted server is reached at the same URL)
 * and on demand pauses (a dead path: the sockets stay open, nothing arrives), delays, cuts in the
 * middle of a WebSocket frame (the client gets half a frame, then the end) or resets (TCP RST).
 */

import { createServer, type Server, Socket } from "node:net";

/** One proxied connection: the client's socket, the server's, and the server → client frame reader. */
class Pair {
  paused = false;
  delayMs = 0;
  /** When the last delayed chunk of each direction goes out: later chunks never overtake it. */
  #releaseAt = { down: 0, up: 0 };
  /** Server → client bytes not yet forwarded: whole frames go out, so a cut can split one on purpose. */
  #down = Buffer.alloc(0);
  #upgraded = false;
  #cutMidFrame = false;
  #held: Array<{ to: Socket; chunk: Buffer }> = [];

  constructor(
    readonly client: Socket,
    readonly server: Socket,
  ) {}

  /** Forwards (or holds, or delays) a chunk. */
  #write(to: Socket, chunk: Buffer, direction: "down" | "up"): void {
    if (this.paused) {
      this.#held.push({ to, chunk });
      return;
    }
    if (this.delayMs === 0 && this.#releaseAt[direction] <= Date.now()) {
      to.write(chunk);
      return;
    }
    const at = Math.max(this.#releaseAt[direction], Date.now() + this.delayMs);
    this.#releaseAt[direction] = at;
    setTimeout(() => {
      if (to.writable) to.write(chunk);
    }, at - Date.now());
  }

  up(chunk: Buffer): void {
    this.#write(this.server, chunk, "up");
  }

  /** Server → client: after the HTTP head, frame by frame (server frames are unmasked). */
  down(chunk: Buffer): void {
    this.#down = Buffer.concat([this.#down, chunk]);
    if (!this.#upgraded) {
      const end = this.#down.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.#write(this.client, this.#down.subarray(0, end + 4), "down");
      this.#down = this.#down.subarray(end + 4);
      this.#upgraded = true;
    }
    for (;;) {
      const size = frameSize(this.#down);
      if (size === undefined) return;
      const frame = this.#down.subarray(0, size);
      this.#down = this.#down.subarray(size);
      if (this.#cutMidFrame) {
        // Half of this frame reaches the client, then the connection ends without a close frame.
        this.client.write(frame.subarray(0, Math.max(1, Math.floor(size / 2))), () => this.destroy());
        this.#cutMidFrame = false;
        this.#down = Buffer.alloc(0);
        return;
      }
      this.#write(this.client, frame, "down");
    }
  }

  /** Cuts inside the next server frame; if none comes within `ms`, cuts anyway. */
  cutMidFrame(ms = 100): void {
    this.#cutMidFrame = true;
    setTimeout(() => this.destroy(), ms).unref();
  }

  resume(): void {
    this.paused = false;
    for (const { to, chunk } of this.#held.splice(0)) if (to.writable) to.write(chunk);
  }

  end(): void {
    this.client.end();
    this.server.end();
  }

  destroy(): void {
    this.#held = [];
    this.client.destroy();
    this.server.destroy();
  }

  reset(): void {
    this.#held = [];
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
  }
}

/** The size of the first whole WebSocket frame in `buffer`, or undefined if it is not all there. */
function frameSize(buffer: Buffer): number | undefined {
  if (buffer.length < 2) return undefined;
  const masked = ((buffer[1] as number) & 0x80) !== 0;
  let length = (buffer[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const size = offset + (masked ? 4 : 0) + length;
  return buffer.length < size ? undefined : size;
}

export type Fault = "cut-mid-frame" | "reset" | "pause-then-cut" | "delay-then-cut";
export const FAULTS: readonly Fault[] = ["cut-mid-frame", "reset", "pause-then-cut", "delay-then-cut"];

export class FaultProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  /** Times (Date.now()) at which client connections were accepted. */
  readonly accepted: number[] = [];
  target: number;
  port = 0;
  /** While true, new connections are accepted and at once reset (the server looks unreachable). */
  refusing = false;

  private constructor(target: number) {
    this.target = target;
    this.#server = createServer((client) => {
      this.accepted.push(Date.now());
      if (this.refusing) {
        client.resetAndDestroy();
        return;
      }
      const server = new Socket();
      const pair = new Pair(client, server);
      this.#pairs.add(pair);
      server.connect(this.target, "127.0.0.1");
      client.on("data", (chunk: Buffer) => pair.up(chunk));
      server.on("data", (chunk: Buffer) => pair.down(chunk));
      // One side ended (even by a reset): the other gets what was forwarded, then the end, so a
      // close frame is never lost in the proxy. Only the injected faults end connections abruptly.
      const end = () => {
        this.#pairs.delete(pair);
        pair.end();
      };
      for (const socket of [client, server]) socket.on("close", end).on("error", end);
    });
  }

  static async start(target: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    proxy.port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Every current connection stops carrying bytes (held, not lost, until resume() or a cut); new ones are not affected. */
  pause(): void {
    for (const pair of this.#pairs) pair.paused = true;
  }

  resume(): void {
    for (const pair of this.#pairs) pair.resume();
  }

  /** Every current connection delays each chunk by `ms` (order kept). */
  delay(ms: number): void {
    for (const pair of this.#pairs) pair.delayMs = ms;
  }

  cut(): void {
    for (const pair of [...this.#pairs]) pair.destroy();
  }

  cutMidFrame(): void {
    for (const pair of this.#pairs) pair.cutMidFrame();
  }

  reset(): void {
    for (const pair of [...this.#pairs]) pair.reset();
  }

  /** One fault on every current connection; resolves once it has been dealt (the connections are gone). */
  async inject(fault: Fault): Promise<void> {
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    if (fault === "cut-mid-frame") this.cutMidFrame();
    else if (fault === "reset") this.reset();
    else if (fault === "pause-then-cut") {
      this.pause();
      await wait(30);
      this.cut();
    } else {
      this.delay(40);
      await wait(30);
      this.cut();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
