/**
 * A speaker of the Verb protocol (@verb/protocol) written from its specification alone, so the
 * suite checks the server's side of it independently of @verb/client: hello and welcome,
 * numbered messages, requests, subscriptions, sequenced streams and resume.
 */

import { type Cursor, encodeNumbered, openEnvelope, readSequenceHeader, SUBPROTOCOL, type Welcome } from "@verb/protocol";
import { TestClient } from "./ws-client.js";

/** One frame the speaker received, decoded. */
export type Heard =
  | { kind: "control"; message: { type: string } & Record<string, unknown> }
  | { kind: "sequenced"; stream: string; seq: number; skip: boolean; payload: string | Buffer }
  | { kind: "plain"; payload: string | Buffer; binary: boolean };

/** Options of {@link SessionSpeaker.open}. */
export interface SpeakerOptions {
  session?: string | null;
  cursors?: Record<string, Cursor>;
  topics?: string[];
  /** Query string (without `?`), e.g. `token=alice`. */
  query?: string;
  /** Send the hello (default true). */
  hello?: boolean;
}

export class SessionSpeaker {
  readonly client: TestClient;
  readonly heard: Heard[] = [];
  welcome: Welcome | undefined;
  /** The last client message number used. */
  n: number;
  #seen = 0;

  private constructor(client: TestClient, firstNumber: number) {
    this.client = client;
    this.n = firstNumber;
  }

  /** Connects offering `verb.v1` and (by default) says hello; resolves after the welcome. */
  static async open(port: number, options: SpeakerOptions = {}, firstNumber = 0): Promise<SessionSpeaker> {
    const query = options.query ? `?${options.query}` : "";
    const client = await TestClient.open(`ws://127.0.0.1:${port}/${query}`, { protocols: [SUBPROTOCOL] });
    const speaker = new SessionSpeaker(client, firstNumber);
    if (options.hello !== false) {
      client.send(
        JSON.stringify({
          type: "verb:hello",
          v: 1,
          session: options.session ?? null,
          cursors: options.cursors ?? {},
          topics: options.topics ?? [],
        }),
      );
      const welcome = await speaker.control("verb:welcome");
      speaker.welcome = welcome as unknown as Welcome;
    }
    return speaker;
  }

  /** Decodes what arrived since the last call (frames before the welcome are plain). */
  #decode(): void {
    const received = this.client.received;
    for (; this.#seen < received.length; this.#seen++) {
      const { data, isBinary, text } = received[this.#seen] as { data: Buffer; isBinary: boolean; text: string };
      const frame = isBinary ? new Uint8Array(data) : text;
      // Before the welcome every frame is plain (the server had not started the session).
      const envelope = this.welcome === undefined ? undefined : openEnvelope(frame);
      if (envelope === undefined) {
        if (!isBinary && text.startsWith('{"type":"verb:')) {
          const message = JSON.parse(text) as { type: string } & Record<string, unknown>;
          this.heard.push({ kind: "control", message });
          if (message.type === "verb:welcome") this.welcome = message as unknown as Welcome;
        } else this.heard.push({ kind: "plain", payload: isBinary ? data : text, binary: isBinary });
        continue;
      }
      const payload = typeof envelope.payload === "string" ? envelope.payload : Buffer.from(envelope.payload);
      const sequenced = readSequenceHeader(envelope.header);
      if (sequenced !== undefined) this.heard.push({ kind: "sequenced", ...sequenced, payload });
      else this.heard.push({ kind: "plain", payload, binary: isBinary });
    }
  }

  /** Waits for the first frame (from index `from`) matching `accept`; returns it. */
  async next(accept: (heard: Heard) => boolean, what: string, timeoutMs = 5000, from = 0): Promise<Heard> {
    await this.client.until(
      () => {
        this.#decode();
        return this.heard.slice(from).some(accept);
      },
      what,
      timeoutMs,
    );
    return this.heard.slice(from).find(accept) as Heard;
  }

  /** Waits for a control message of `type` (and matching `accept`). */
  async control(type: string, accept: (message: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000) {
    const found = await this.next((h) => h.kind === "control" && h.message.type === type && accept(h.message), type, timeoutMs);
    return (found as Extract<Heard, { kind: "control" }>).message;
  }

  /** Every sequenced frame of `stream` heard so far. */
  sequenced(stream: string): Extract<Heard, { kind: "sequenced" }>[] {
    this.#decode();
    return this.heard.filter((h): h is Extract<Heard, { kind: "sequenced" }> => h.kind === "sequenced" && h.stream === stream);
  }

  /** Waits until `count` sequenced frames of `stream` arrived. */
  async until(stream: string, count: number, timeoutMs = 5000): Promise<Extract<Heard, { kind: "sequenced" }>[]> {
    await this.client.until(() => this.sequenced(stream).length >= count, `${count} messages of ${stream}`, timeoutMs);
    return this.sequenced(stream);
  }

  /** Sends an application message, numbered (`n` given: a repeat of that number). */
  send(message: string | Buffer, n = ++this.n, request = false): number {
    const frame = encodeNumbered(n, typeof message === "string" ? message : new Uint8Array(message), request);
    this.client.send(typeof frame === "string" ? frame : Buffer.from(frame));
    return n;
  }

  /** Sends a request (a numbered message the server must answer); returns its number. */
  request(message: object, n = ++this.n): number {
    return this.send(JSON.stringify(message), n, true);
  }

  /** Waits for the reply to request `n`. */
  async reply(n: number, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return this.control("verb:res", (m) => m.n === n, timeoutMs);
  }

  /** The replies to request `n` heard so far. */
  replies(n: number): Record<string, unknown>[] {
    this.#decode();
    return this.heard.flatMap((h) =>
      h.kind === "control" && h.message.type === "verb:res" && h.message.n === n ? [h.message] : [],
    );
  }

  /** Sends a control message. */
  controlSend(message: { type: string } & Record<string, unknown>): void {
    this.client.send(JSON.stringify(message));
  }

  /** The cursor reached in `stream` (its epoch from verb:stream). */
  cursor(stream: string): Cursor {
    this.#decode();
    const start = [...this.heard]
      .reverse()
      .find((h) => h.kind === "control" && h.message.type === "verb:stream" && h.message.stream === stream);
    const epoch = start?.kind === "control" ? String(start.message.epoch) : "";
    const last = this.sequenced(stream).at(-1);
    const startSeq = start?.kind === "control" ? Number(start.message.seq) : 0;
    return { epoch, seq: last === undefined ? startSeq : last.seq };
  }

  terminate(): void {
    this.client.terminate();
  }
}
