/**
 * A client on the `ws` library with a message queue, for checks that need a well-behaved peer
 * (answers pings, negotiates compression, reassembles fragments).
 */

import WebSocket, { type ClientOptions } from "ws";

/** A received message. */
export interface Received {
  data: Buffer;
  isBinary: boolean;
  text: string;
}

/** How the connection closed, as the client saw it. */
export interface ClientClose {
  code: number;
  reason: string;
  /** The client library's error before the close (an invalid frame from the server, a reset), if any. */
  error?: string;
}

/** Options of {@link TestClient.open}. */
export interface TestClientOptions extends ClientOptions {
  protocols?: string | string[];
  timeoutMs?: number;
}

/** A `ws` client with awaitable messages. */
export class TestClient {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  readonly pings: Buffer[] = [];
  readonly pongs: Buffer[] = [];
  readonly closed: Promise<ClientClose>;
  #waiters: (() => void)[] = [];
  #closeInfo: ClientClose | undefined;
  #error: string | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      this.received.push({ data, isBinary, text: isBinary ? "" : data.toString("utf8") });
      this.#wake();
    });
    ws.on("ping", (data: Buffer) => {
      this.pings.push(data);
      this.#wake();
    });
    ws.on("pong", (data: Buffer) => {
      this.pongs.push(data);
      this.#wake();
    });
    this.closed = new Promise<ClientClose>((resolve) => {
      ws.once("close", (code: number, reason: Buffer) => {
        this.#closeInfo = { code, reason: reason.toString("utf8") };
        if (this.#error !== undefined) this.#closeInfo.error = this.#error;
        this.#wake();
        resolve(this.#closeInfo);
      });
    });
    ws.on("error", (error: Error & { code?: string }) => {
      this.#error ??= error.code === undefined ? error.message : `${error.code}: ${error.message}`;
    });
  }

  /** Opens a connection; rejects with the HTTP status when the server refuses the upgrade. */
  static open(url: string, options: TestClientOptions = {}): Promise<TestClient> {
    const { protocols, timeoutMs = 5000, ...clientOptions } = options;
    return new Promise<TestClient>((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...clientOptions });
      const client = new TestClient(ws);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`connection to ${url} did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once("open", () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`upgrade refused with HTTP ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
        ws.terminate();
      });
      ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The close as seen so far, if the connection closed. */
  get closeInfo(): ClientClose | undefined {
    return this.#closeInfo;
  }

  /** Waits for the `index`-th message (0-based; default: the next unread one). */
  async message(index = this.#read, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length <= index) {
      if (this.#closeInfo !== undefined) {
        const { code, reason, error } = this.#closeInfo;
        const cause = error === undefined ? "" : `; client error: ${error}`;
        throw new Error(`connection to ${this.ws.url} closed (${code} ${reason}${cause}) before message #${index}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`message #${index} did not arrive within ${timeoutMs} ms`);
      await this.#sleepUntilWoken(remaining);
    }
    this.#read = Math.max(this.#read, index + 1);
    return this.received[index] as Received;
  }
  #read = 0;

  /** Waits until `predicate` holds (re-checked on every event), up to `timeoutMs`. */
  async until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.#sleepUntilWoken(Math.min(remaining, 100));
    }
  }

  /** Waits for the close, up to `timeoutMs`. */
  async waitClose(timeoutMs = 5000): Promise<ClientClose> {
    await this.until(() => this.#closeInfo !== undefined, "the connection to close", timeoutMs);
    return this.#closeInfo as ClientClose;
  }

  send(data: string | Buffer, options: { binary?: boolean; compress?: boolean } = {}): void {
    this.ws.send(data, options);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  #sleepUntilWoken(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
