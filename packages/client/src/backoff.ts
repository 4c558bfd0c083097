/**
 * Reconnect delays: exponential backoff with the cap applied before full jitter, so clients that
 * lost their connection together spread over the whole window instead of meeting at the cap; and
 * the server-directed spread of a shutdown notice.
 */

import { numberOption } from "./options.js";

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** The window of the first retry, in ms. Default 500. */
  initialDelay?: number;
  /** The largest window, in ms. Default 30 000. */
  maxDelay?: number;
  /** Growth of the window per attempt. Default 2. */
  factor?: number;
}

/** Backoff options with defaults filled in. */
export interface Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialDelay: 500, maxDelay: 30_000, factor: 2 };

/** The window of retry `attempt` (0 for the first): `min(maxDelay, initialDelay · factor^attempt)`. */
export function backoffWindow(attempt: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxDelay, backoff.initialDelay * backoff.factor ** Math.max(0, attempt));
}

/**
 * The delay before retry `attempt` (0 for the first): uniformly random in
 * `[0, min(maxDelay, initialDelay · factor^attempt))`. The cap is applied before the jitter.
 */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffWindow(attempt, backoff));
}

/** A delay spread uniformly over the server's `retryWindowMs`. */
export function spreadDelay(windowMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.max(0, windowMs));
}

/** Validates and fills in backoff options. */
export function resolveBackoff(options: BackoffOptions | undefined): Backoff {
  return {
    initialDelay: numberOption("reconnect.initialDelay", options?.initialDelay, DEFAULT_BACKOFF.initialDelay),
    maxDelay: numberOption("reconnect.maxDelay", options?.maxDelay, DEFAULT_BACKOFF.maxDelay),
    factor: numberOption("reconnect.factor", options?.factor, DEFAULT_BACKOFF.factor, 1),
  };
}
