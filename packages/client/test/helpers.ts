/**
 * Test helpers: a real Verb server on a free port (@verb/core from the sources, the Node adapter
 * by default or VERB_ADAPTER), clients over real sockets (ws on Node 20, the global WebSocket where
 * there is one), a TCP proxy that can cut or stall connections, and bounded waits.
 */

import { createServer as createTcpServer, Socket, type Server as TcpServer } from "node:net";
import { type ClientOptions, createClient, type MessageDefinitions, type VerbClient } from "@verb/client";
import { createServer, type ServerHandle, type ServerOptions, type VerbSocket } from "@verb/core";
import WebSocket from "ws";

/** The engine the servers of the tests run on. */
export const adapter = (process.env.VERB_ADAPTER as "node" | "bun" | "uws" | undefined) ?? "node";

export interface TestServer {
  handle: ServerHandle;
  port: number;
  url: string;
  /** Sockets open on the server, most recent last. */
  sockets: VerbSocket<Record<string, unknown>>[];
  close(options?: Parameters<ServerHandle["close"]>[0]): Promise<void>;
}

/** Starts a Verb server on a free port; the `open` and `close` hooks given are wrapped to track sockets. */
export async function startServer(options: ServerOptions<Record<string, unknown>> = {}): Promise<TestServer> {
  const sockets: VerbSocket<Record<string, unknown>>[] = [];
  const websocket = options.websocket ?? {};
  const app = createServer().withOptions({
    ...options,
    adapter,
    websocket: {
      idleTimeout: 0,
      ...websocket,
      open: (ws) => {
        sockets.push(ws);
        return websocket.open?.(ws);
      },
      close: (ws, code, reason) => {
        const at = sockets.indexOf(ws);
        if (at !== -1) sockets.splice(at, 1);
        return websocket.close?.(ws, code, reason);
      },
    },
  });
  const handle = await app.listen(0, "127.0.0.1");
  return {
    handle,
    port: handle.port,
    url: `ws://127.0.0.1:${handle.port}/`,
    sockets,
    close: (closeOptions) => handle.close({ timeout: 500, grace: 200, ...closeOptions }),
  };
}

/**
 * A server reached through a proxy, so that its URL stays the same when it restarts (a restart on
 * the same port is refused on uWS for a minute: the closed connections' TIME-WAIT holds it).
 */
export class Site {
  server: TestServer | undefined;
  readonly proxy: TcpProxy;

  private constructor(proxy: TcpProxy) {
    this.proxy = proxy;
  }

  static async start(options: ServerOptions<Record<string, unknown>> = {}): Promise<Site> {
    const server = await startServer(options);
    const site = new Site(await TcpProxy.start(server.port));
    site.server = server;
    return site;
  }

  get url(): string {
    return this.proxy.url;
  }

  /** Stops the server (gracefully: `close` options as `app.close`). */
  async stop(options?: Parameters<ServerHandle["close"]>[0]): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close(options);
  }

  /** A new server (a new process, as far as clients can tell: new epoch, no sessions) at the same URL. */
  async restart(options: ServerOptions<Record<string, unknown>> = {}): Promise<TestServer> {
    await this.stop();
    const server = await startServer(options);
    this.proxy.target = server.port;
    this.server = server;
    return server;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.proxy.close();
  }
}

/** A client with test-sized timings; closed by {@link closeAll}. */
const clients: VerbClient<MessageDefinitions>[] = [];
export function connect<const D extends MessageDefinitions = MessageDefinitions>(
  url: string | (() => string),
  options: ClientOptions<D> = {},
): VerbClient<D> {
  const client = createClient<D>(url, {
    WebSocket,
    reconnect: { initialDelay: 20, maxDelay: 100 },
    connectTimeout: 2000,
    requestTimeout: 2000,
    ...options,
  });
  clients.push(client as unknown as VerbClient<MessageDefinitions>);
  return client;
}

export async function closeAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((client) => client.close()));
}

/** Waits until `predicate` holds, polling; fails after `timeout` ms with `what`. */
export async function until(predicate: () => boolean, what: string, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with the next `open` of the client (after a welcome). */
export function opened<D extends MessageDefinitions>(client: VerbClient<D>, timeout = 3000): Promise<{ resumed: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Timed out waiting for open")), timeout);
    const off = client.on("open", (info) => {
      clearTimeout(timer);
      off();
      resolve(info);
    });
  });
}

/**
 * A TCP proxy in front of a server: `cut()` destroys every connection (both sides see an abrupt
 * end), `pause()` stops forwarding (a dead network path: sockets stay open, nothing arrives).
 */
export class TcpProxy {
  readonly #server: TcpServer;
  readonly #pairs = new Set<[Socket, Socket]>();
  #paused = false;
  #blockedUntil = 0;
  port = 0;

  private constructor(target: number) {
    this.target = target;
    this.#server = createTcpServer((inbound) => {
      if (Date.now() < this.#blockedUntil) {
        inbound.destroy();
        return;
      }
      const outbound = new Socket();
      outbound.connect(this.target, "127.0.0.1");
      const pair: [Socket, Socket] = [inbound, outbound];
      this.#pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on("data", (chunk) => {
          if (!this.#paused) to.write(chunk);
        });
      const cut = () => {
        inbound.destroy();
        outbound.destroy();
      };
      const { dropDown, cutUp } = this;
      if (cutUp === undefined) forward(inbound, outbound);
      else this.#frames(inbound, outbound, (text) => (cutUp(text) ? "cut" : "forward"), cut);
      if (dropDown === undefined) forward(outbound, inbound);
      else this.#frames(outbound, inbound, (text) => (dropDown(text) ? "drop" : "forward"), cut);
      // One side closed: the other gets what was forwarded, then the end (a close frame is not lost).
      const end = () => {
        this.#pairs.delete(pair);
        inbound.end();
        outbound.end();
      };
      const fail = () => {
        this.#pairs.delete(pair);
        cut();
      };
      inbound.on("close", end).on("error", fail);
      outbound.on("close", end).on("error", fail);
    });
  }

  /** Server → client: whole WebSocket frames for which this returns true are swallowed (a lossy path). */
  dropDown: ((text: string) => boolean) | undefined;
  /** Client → server: a frame for which this returns true cuts the connection before it is forwarded. */
  cutUp: ((text: string) => boolean) | undefined;
  /** Where connections go: may change, so that a server restarted on another port is reached at the same URL. */
  target: number;

  /**
   * Forwards whole WebSocket frames (after the HTTP head, uncompressed), unmasking client frames to
   * show `decide` their text: forward them, drop them, or cut the connection.
   */
  #frames(from: Socket, to: Socket, decide: (text: string) => "forward" | "drop" | "cut", cut: () => void): void {
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    from.on("data", (chunk: Buffer) => {
      if (this.#paused) return;
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        to.write(buffered.subarray(0, end + 4));
        buffered = buffered.subarray(end + 4);
        upgraded = true;
      }
      for (;;) {
        if (buffered.length < 2) return;
        const masked = ((buffered[1] as number) & 0x80) !== 0;
        let length = (buffered[1] as number) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffered.length < 4) return;
          length = buffered.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffered.length < 10) return;
          length = Number(buffered.readBigUInt64BE(2));
          offset = 10;
        }
        const key = masked ? buffered.subarray(offset, offset + 4) : undefined;
        if (masked) offset += 4;
        if (buffered.length < offset + length) return;
        const frame = buffered.subarray(0, offset + length);
        buffered = buffered.subarray(offset + length);
        const payload = Buffer.from(frame.subarray(offset));
        if (key !== undefined)
          for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i % 4] as number);
        const verdict = decide(payload.toString("utf8"));
        if (verdict === "cut") {
          cut();
          return;
        }
        if (verdict === "forward") to.write(frame);
      }
    });
  }

  static async start(
    target: number,
    filters: { dropDown?: (text: string) => boolean; cutUp?: (text: string) => boolean } = {},
  ): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.dropDown = filters.dropDown;
    proxy.cutUp = filters.cutUp;
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

  cut(): void {
    for (const [inbound, outbound] of this.#pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    this.#pairs.clear();
  }

  /** Refuses new connections for `ms` (they are cut at once). */
  block(ms: number): void {
    this.#blockedUntil = Date.now() + ms;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
