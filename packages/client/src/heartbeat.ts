/**
 * Liveness, judged by timestamps at each tick rather than by timers that background tabs
 * throttle: the client pings when the server has been silent for `interval`, judges the
 * connection dead after `interval + grace` of silence, and distrusts the socket when the clock
 * jumped between two ticks (the machine slept) while nothing arrived.
 */

import { numberOption } from "./options.js";

/** Client-side liveness. */
export interface HeartbeatOptions {
  /** Milliseconds of silence from the server after which the client pings (`verb:ping`). Default 15 000. */
  interval?: number;
  /** Milliseconds more without anything from the server before the connection is judged dead. Default 10 000. */
  grace?: number;
  /** The server's heartbeat text (`websocket.heartbeat.message`). Default `{"type":"heartbeat"}`. */
  message?: string;
  /** The client's answer (`websocket.heartbeat.reply`). Default `{"type":"heartbeat"}`. */
  reply?: string;
  /** A tick this many ms late, with nothing received meanwhile, means the machine slept: reconnect. Default 10 000. */
  wakeThreshold?: number;
}

/** What a tick found. */
export type Verdict = "ok" | "ping" | "dead" | "wake";

export const HEARTBEAT_TEXT = '{"type":"heartbeat"}';

export class Liveness {
  readonly interval: number;
  readonly grace: number;
  readonly wakeThreshold: number;
  /** How often the client checks. */
  readonly tickMs: number;
  /** When something last arrived, as seen by a tick. */
  #heard = 0;
  /** The received counter at the last tick. */
  #count = 0;
  #lastTick = 0;
  #pinged = false;
  #probeDeadline = 0;
  #probeCount = 0;

  constructor(options: HeartbeatOptions | false | undefined) {
    const off = options === false;
    this.interval = off ? Number.POSITIVE_INFINITY : numberOption("heartbeat.interval", options?.interval, 15_000, 1);
    this.grace = off ? Number.POSITIVE_INFINITY : numberOption("heartbeat.grace", options?.grace, 10_000, 1);
    this.wakeThreshold = off ? 10_000 : numberOption("heartbeat.wakeThreshold", options?.wakeThreshold, 10_000, 1);
    this.tickMs = Math.max(10, Math.min(1000, this.interval / 4, this.grace / 4, this.wakeThreshold / 4));
  }

  /** A connection started (its welcome arrived). */
  start(now: number, received: number): void {
    this.#heard = now;
    this.#lastTick = now;
    this.#count = received;
    this.#pinged = false;
    this.#probeDeadline = 0;
  }

  /** The page became visible or the network came back: the answer to a ping must come within `grace`. */
  probe(now: number, received: number): void {
    this.#probeDeadline = now + Math.min(this.grace, 10_000);
    this.#probeCount = received;
  }

  /** One tick: `received` counts every message received so far; `hidden` tells a throttled background page. */
  check(now: number, received: number, hidden: boolean): Verdict {
    const late = now - this.#lastTick - this.tickMs;
    this.#lastTick = now;
    const heard = received !== this.#count;
    if (heard) {
      this.#count = received;
      this.#heard = now;
      this.#pinged = false;
    }
    if (late > this.wakeThreshold && !heard && !hidden) return "wake";
    if (this.#probeDeadline !== 0) {
      if (received !== this.#probeCount) this.#probeDeadline = 0;
      else if (now >= this.#probeDeadline) return "dead";
    }
    const silent = now - this.#heard;
    if (silent >= this.interval + this.grace) return "dead";
    if (silent >= this.interval && !this.#pinged) {
      this.#pinged = true;
      return "ping";
    }
    return "ok";
  }
}
