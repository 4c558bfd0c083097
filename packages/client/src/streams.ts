/**
 * Streams: the client's position (epoch + last sequence number) in every stream the server sends
 * it, checked on every message. A repeat (`seq ≤ last`) is dropped; a gap in a live stream
 * (`seq > last + 1`) asks for a replay and holds what follows (bounded, with a deadline) until it
 * is filled; what cannot be recovered is reported as a discontinuity, never silently skipped.
 */

import type { Cursor, Gap, Payload, StreamStart } from "@verb/protocol";
import { numberOption } from "./options.js";

/** A break in a stream the client could not (or the server did not) fill. */
export interface Discontinuity {
  /** The stream (a topic, `verb:user:<id>`, `verb:room:<id>`, ...). */
  stream: string;
  /** The first sequence number missing. */
  from: number;
  /** The last one missing; `null` when unknown (the stream's history was reset). */
  to: number | null;
  /**
   * `"retention"`: beyond the server's history (`websocket.resume`); `"epoch"`: the server
   * restarted or the stream was reset; `"overflow"`: more than `resume.maxHeld` messages arrived
   * while a gap was open; `"timeout"`: the replay did not fill the gap within `resume.gapTimeout`.
   */
  reason: "retention" | "epoch" | "overflow" | "timeout";
}

/** Streams' limits. */
export interface StreamOptions {
  /** Messages held per stream while a gap is being filled. Default 1000. */
  maxHeld?: number;
  /** Milliseconds a gap may stay open before it is reported and skipped. Default 5000. */
  gapTimeout?: number;
}

export interface StreamHooks {
  /** A message, in order, exactly once. */
  deliver(payload: Payload, stream: string, seq: number): void;
  /** Ask the server for the messages of `stream` from `from` on. */
  replay(stream: string, from: number): void;
  discontinuity(gap: Discontinuity): void;
}

interface Held {
  seq: number;
  /** `undefined` for a skip. */
  payload: Payload | undefined;
}

interface StreamState {
  readonly name: string;
  /** The name as a JSON string: how sequenced headers spell it. */
  readonly quoted: string;
  /** `""` until the server's `verb:stream` told it. */
  epoch: string;
  /** The last sequence number received. */
  seq: number;
  /** Messages after a gap, in order; null when there is no gap. */
  held: Held[] | null;
  /** When the gap was noticed (or last asked for). */
  gapSince: number;
}

/** Streams remembered at most (the server takes at most 10 000 cursors in a hello). */
const MAX_STREAMS = 10_000;

export class StreamTracker {
  readonly #hooks: StreamHooks;
  readonly #maxHeld: number;
  readonly #gapTimeout: number;
  readonly #streams = new Map<string, StreamState>();
  readonly #byQuoted = new Map<string, StreamState>();
  readonly #gapped = new Set<StreamState>();
  /** The stream of the last message: most messages come from the same stream as the previous one. */
  #last: StreamState | undefined;
  /** Cursors changed since the last save. */
  dirty = false;
  duplicates = 0;
  replays = 0;
  discontinuities = 0;

  constructor(options: StreamOptions | undefined, hooks: StreamHooks) {
    this.#maxHeld = numberOption("resume.maxHeld", options?.maxHeld, 1000, 1);
    this.#gapTimeout = numberOption("resume.gapTimeout", options?.gapTimeout, 5000, 1);
    this.#hooks = hooks;
  }

  /** Cursors of the streams whose epoch is known: for the hello and the storage. */
  cursors(): Record<string, Cursor> {
    const cursors: Record<string, Cursor> = {};
    for (const state of this.#streams.values())
      if (state.epoch !== "") cursors[state.name] = { epoch: state.epoch, seq: state.seq };
    return cursors;
  }

  /** Starts from saved cursors (a page reload). */
  load(cursors: Record<string, Cursor>): void {
    for (const [name, cursor] of Object.entries(cursors)) {
      if (typeof cursor?.epoch !== "string" || !Number.isSafeInteger(cursor.seq) || cursor.seq < 0) continue;
      const state = this.#state(name);
      state.epoch = cursor.epoch;
      state.seq = cursor.seq;
    }
  }

  /** Forgets a stream (unsubscribed): subscribing again starts from the stream's position then. */
  forget(name: string): void {
    const state = this.#streams.get(name);
    if (state === undefined) return;
    this.#streams.delete(name);
    this.#byQuoted.delete(state.quoted);
    this.#gapped.delete(state);
    if (this.#last === state) this.#last = undefined;
    this.dirty = true;
  }

  /** The connection ended: open gaps are moot (the next connection replays from the cursors). */
  reset(): void {
    for (const state of this.#gapped) {
      state.held = null;
      state.gapSince = 0;
    }
    this.#gapped.clear();
  }

  /** Forgets every stream (without resume, every connection starts from the streams' positions). */
  clear(): void {
    this.#streams.clear();
    this.#byQuoted.clear();
    this.#gapped.clear();
    this.#last = undefined;
  }

  /** `verb:stream`: what follows are the messages after `seq` in `epoch`. */
  started(start: StreamStart): void {
    const state = this.#state(start.stream);
    if (state.epoch === start.epoch && start.seq < state.seq) {
      // The same epoch behind our cursor: the server's stream was reset (e.g. forgotten and made again).
      this.#report({ stream: state.name, from: state.seq + 1, to: null, reason: "epoch" });
      state.seq = start.seq;
    } else if (state.epoch !== start.epoch || start.seq > state.seq) state.seq = start.seq;
    state.epoch = start.epoch;
    this.#closeGap(state);
    this.dirty = true;
  }

  /** `verb:gap`: messages the server no longer has. */
  gap(gap: Gap): void {
    const state = this.#state(gap.stream);
    this.#report({ stream: gap.stream, from: gap.from, to: gap.to, reason: gap.reason === "epoch" ? "epoch" : "retention" });
    this.dirty = true;
    if (gap.to === null) {
      // A new epoch: its verb:stream follows.
      state.seq = 0;
      this.#closeGap(state);
      return;
    }
    if (gap.to > state.seq) state.seq = gap.to;
    if (state.held !== null) this.#drain(state);
  }

  /**
   * A sequenced text envelope (`"\u001e"` + `"stream",seq[,s]` + `"\n"` + payload); `nl` is the
   * index of the newline. Returns false when the header is not a sequenced one.
   */
  receiveText(frame: string, nl: number): boolean {
    let end = nl;
    let skip = false;
    if (frame.charCodeAt(end - 1) === 0x73 && frame.charCodeAt(end - 2) === 0x2c) {
      skip = true;
      end -= 2;
    }
    // The sequence number, read backwards up to its comma.
    let seq = 0;
    let scale = 1;
    let comma = end - 1;
    for (; comma > 1; comma--) {
      const digit = frame.charCodeAt(comma) - 48;
      if (digit === -4) break; // ","
      if (digit < 0 || digit > 9 || scale > 1e15) return false;
      seq += digit * scale;
      scale *= 10;
    }
    if (comma <= 1 || scale === 1 || seq < 1) return false;
    let state = this.#last;
    if (state === undefined || state.quoted.length !== comma - 1 || !frame.startsWith(state.quoted, 1)) {
      state = this.#byQuoted.get(frame.slice(1, comma)) ?? this.#fromQuoted(frame.slice(1, comma));
      if (state === undefined) return false;
      this.#last = state;
    }
    this.#sequenced(state, seq, skip ? undefined : frame.slice(nl + 1));
    return true;
  }

  /** A sequenced binary envelope, its header already read. */
  receive(stream: string, seq: number, payload: Payload | undefined): void {
    this.#sequenced(this.#state(stream), seq, payload);
  }

  /** Checks open gaps against their deadline. */
  tick(now: number): void {
    if (this.#gapped.size === 0) return;
    for (const state of [...this.#gapped]) {
      const held = state.held;
      if (held === null || now - state.gapSince < this.#gapTimeout) continue;
      const first = held[0] as Held;
      this.#report({ stream: state.name, from: state.seq + 1, to: first.seq - 1, reason: "timeout" });
      state.seq = first.seq - 1;
      this.#drain(state);
    }
  }

  #sequenced(state: StreamState, seq: number, payload: Payload | undefined): void {
    const last = state.seq;
    if (seq <= last) {
      this.duplicates++;
      return;
    }
    if (seq === last + 1) {
      state.seq = seq;
      this.dirty = true;
      if (payload !== undefined) this.#hooks.deliver(payload, state.name, seq);
      if (state.held !== null) this.#drain(state);
      return;
    }
    this.#hold(state, seq, payload);
  }

  #hold(state: StreamState, seq: number, payload: Payload | undefined): void {
    let held = state.held;
    if (held === null) {
      held = state.held = [];
      state.gapSince = Date.now();
      this.#gapped.add(state);
      this.replays++;
      this.#hooks.replay(state.name, state.seq + 1);
    }
    // Usually in order: append; otherwise insert in place (repeats ignored).
    let at = held.length;
    while (at > 0 && (held[at - 1] as Held).seq > seq) at--;
    if (at > 0 && (held[at - 1] as Held).seq === seq) return;
    held.splice(at, 0, { seq, payload });
    if (held.length > this.#maxHeld) {
      const first = held[0] as Held;
      this.#report({ stream: state.name, from: state.seq + 1, to: first.seq - 1, reason: "overflow" });
      state.seq = first.seq - 1;
      this.#drain(state);
    }
  }

  /** Delivers held messages that follow on; asks again if another gap remains. */
  #drain(state: StreamState): void {
    for (;;) {
      const held = state.held;
      if (held === null) return;
      const next = held[0];
      if (next === undefined) {
        this.#closeGap(state);
        return;
      }
      if (next.seq > state.seq + 1) {
        // Another gap further on: ask for it.
        state.gapSince = Date.now();
        this.replays++;
        this.#hooks.replay(state.name, state.seq + 1);
        return;
      }
      held.shift();
      if (next.seq <= state.seq) {
        this.duplicates++;
        continue;
      }
      state.seq = next.seq;
      this.dirty = true;
      if (next.payload !== undefined) this.#hooks.deliver(next.payload, state.name, next.seq);
    }
  }

  #closeGap(state: StreamState): void {
    state.held = null;
    state.gapSince = 0;
    this.#gapped.delete(state);
  }

  #report(gap: Discontinuity): void {
    this.discontinuities++;
    this.#hooks.discontinuity(gap);
  }

  #fromQuoted(quoted: string): StreamState | undefined {
    let name: unknown;
    try {
      name = JSON.parse(quoted);
    } catch {
      return undefined;
    }
    return typeof name === "string" ? this.#state(name) : undefined;
  }

  #state(name: string): StreamState {
    let state = this.#streams.get(name);
    if (state !== undefined) return state;
    if (this.#streams.size >= MAX_STREAMS) {
      const oldest = this.#streams.keys().next().value as string;
      this.forget(oldest);
    }
    state = { name, quoted: JSON.stringify(name), epoch: "", seq: 0, held: null, gapSince: 0 };
    this.#streams.set(name, state);
    this.#byQuoted.set(state.quoted, state);
    return state;
  }
}
