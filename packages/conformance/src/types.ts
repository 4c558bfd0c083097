/**
 * Types of the conformance suite: checks, their context, and the report.
 */

import type { RawClient, RawConnectOptions } from "./clients/raw.js";
import type { TestClient, TestClientOptions } from "./clients/ws-client.js";

/**
 * Outcome of one check on one adapter. `deviation`: a documented engine limit, observed exactly as
 * documented. `absent`: the engine does not exist for this runtime by design (uWebSockets.js ships
 * no binary for that Node's ABI): the column is there, named, with the reason, and nothing ran.
 */
export type CheckStatus = "pass" | "fail" | "skip" | "deviation" | "absent";

/** One row of the JSON report. */
export interface CheckResult {
  id: string;
  title: string;
  category: string;
  adapter: string;
  /**
   * The runtime and version of this column, e.g. `node 24.11.0`, `bun 1.4.5` or `deno 2.9.6`: the one the
   * fixture reported, else the command's own `--version` (empty only when the command does not run).
   */
  runtime: string;
  status: CheckStatus;
  detail: string;
  ms: number;
}

/** What the fixture recorded for a connection. */
export interface FixtureEvent {
  type: string;
  at: number;
  [key: string]: unknown;
}

/** Handed to every check: where the fixture listens and helpers to talk to it. */
export interface CheckContext {
  /** Adapter label (`bun`, `node`, `uws`, or the module path). */
  readonly adapter: string;
  /** Port of a fixture profile. */
  port(profile?: string): number;
  /** A fresh connection id, unique in this run. */
  id(): string;
  /** `ws://127.0.0.1:port/path?id=...` for a profile. */
  wsUrl(profile: string, id: string, extraQuery?: string): string;
  /** Opens a `ws` client on a profile with the given connection id. */
  open(profile: string, id: string, options?: TestClientOptions & { query?: string }): Promise<TestClient>;
  /** Opens a raw client on a profile. */
  raw(profile: string, id: string, options?: RawConnectOptions & { query?: string }): Promise<RawClient>;
  /** Events the fixture recorded for a connection id. */
  events(id: string): Promise<FixtureEvent[]>;
  /** Waits until the fixture recorded an event matching `predicate`; returns it. */
  waitEvent(id: string, predicate: (event: FixtureEvent) => boolean, what: string, timeoutMs?: number): Promise<FixtureEvent>;
  /** An HTTP request to a profile. */
  http(profile: string, path: string, init?: RequestInit): Promise<Response>;
  /** Registers cleanup (clients to close) run after the check. */
  defer(cleanup: () => void): void;
}

/** What a check may return instead of passing silently. */
export interface CheckOutcome {
  status: Exclude<CheckStatus, "fail" | "absent">;
  detail?: string;
}

/** One conformance check. Throwing fails it; the message becomes the report's detail. */
export interface Check {
  /** Stable id, `category.name`. */
  id: string;
  title: string;
  category: string;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Long checks start first so the suite finishes sooner. */
  slow?: boolean;
  /**
   * Runs alone, before the others: checks that load the fixture's CPU or memory (floods), so that
   * they neither starve the timers other checks measure nor measure other checks' memory.
   */
  exclusive?: boolean;
  run(ctx: CheckContext): Promise<void | CheckOutcome>;
}
