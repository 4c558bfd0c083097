/**
 * Engine deviations: wire behaviours that belong to an engine and that no adapter can change.
 * A check may report `deviation` only when what it observed matches an entry here exactly;
 * anything else is a failure. The handler-side contract (what hooks and `send` report) has no
 * entries, except where the engine destroys the information before any adapter sees it.
 */

import type { CheckOutcome } from "./types.js";

/** One documented deviation. */
export interface EngineDeviation {
  /** Adapter name. */
  adapter: string;
  /** Check id. */
  check: string;
  /** What the check observes on that engine (compared exactly). */
  observed: string;
  /** Why, and where it comes from. */
  why: string;
}

export const ENGINE_DEVIATIONS: readonly EngineDeviation[] = [
  {
    adapter: "uws",
    check: "limits.over-limit-wire",
    observed: "no close frame; TCP closed",
    why: "uWS closes the TCP connection without a 1009 close frame on an oversized message (deliberate: library-originated closes are 1006, uNetworking/uWebSockets#1321). The close hook still gets 1009.",
  },
  {
    adapter: "uws",
    check: "protocol.invalid-utf8-wire",
    observed: "no close frame; TCP closed",
    why: "uWS closes without a 1007 close frame on invalid UTF-8. The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "protocol.corrupt-deflate",
    observed: "1009 message too big",
    why: 'uWS reports a compressed message that fails to inflate and one that inflates beyond maxPayloadLength with the same close reason ("Received too big message, or other inflation error"); the adapter cannot tell them apart and reports 1009.',
  },
  {
    adapter: "uws",
    check: "protocol.invalid-close-code-wire",
    observed: "close frame without a code",
    why: "uWS answers an invalid close code with an empty close frame instead of 1002. The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "close.client-registered-codes",
    observed: "3001 → 1002 protocol error; 1012 → 1002 protocol error",
    why: "uWS accepts only 1000-1003, 1007-1011 and 4000-4999 from clients (uWebSockets src/WebSocketProtocol.h) and drops the connection on 1012-1014 and 3000-3999 before any adapter sees the code.",
  },
  {
    adapter: "uws",
    check: "protocol.unmasked-frame",
    observed: "read as masked: echoed uws-read",
    why: "uWS does not check the mask bit of client frames: it reads an unmasked frame as if masked, taking the next 4 bytes as the key (uWebSockets src/WebSocketProtocol.h consumeMessage). No adapter sees the bit.",
  },
  {
    adapter: "node",
    check: "hostile.fragments-over-cap",
    observed: "closed 1008 too many fragments",
    why: "ws keeps every fragment of a message as its own buffer until the last one (~150 B of heap each, measured); unbounded, a 16 MiB message of one-byte fragments would hold ~2.5 GB. The adapter caps fragments per message at maxPayloadLength / 64 (at least 16,384; ws option maxFragments), and ws closes with 1008 above it. Bun and uWS append fragments to one buffer and need no cap.",
  },
];

/**
 * Returns a `deviation` outcome when `observed` is exactly the documented deviation of this
 * adapter for this check; otherwise throws with `failure`.
 */
export function deviationOrFail(adapter: string, check: string, observed: string, failure: string): CheckOutcome {
  const entry = ENGINE_DEVIATIONS.find((d) => d.adapter === adapter && d.check === check);
  if (entry !== undefined && entry.observed === observed) return { status: "deviation", detail: `${observed} (${entry.why})` };
  throw new Error(`${failure} (observed: ${observed})`);
}
