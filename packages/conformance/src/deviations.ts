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
  /**
   * What the application sees differently (a close code, a message it should never get), when
   * the deviation is not on the wire alone. The main README's close section lists these.
   */
  app?: string;
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
    app: "a compressed message that does not inflate reaches the close hook as 1009, not 1007",
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
    app: "client close codes 1012–1014 and 3000–3999 reach the close hook as 1002",
  },
  {
    adapter: "uws",
    check: "protocol.unmasked-frame",
    observed: "read as masked: echoed uws-read",
    why: "uWS does not check the mask bit of client frames: it reads an unmasked frame as if masked, taking the next 4 bytes as the key (uWebSockets src/WebSocketProtocol.h consumeMessage). No adapter sees the bit.",
    app: "an unmasked frame is not refused: the message hook gets it, decoded as if masked",
  },
  {
    adapter: "node",
    check: "hostile.fragments-over-cap",
    observed: "closed 1008 too many fragments",
    why: "ws keeps every fragment of a message as its own buffer until the last one (~150 B of heap each, measured); unbounded, a 16 MiB message of one-byte fragments would hold ~2.5 GB. The adapter caps fragments per message at maxPayloadLength / 64 (at least 16,384; ws option maxFragments), and ws closes with 1008 above it. Bun and uWS append fragments to one buffer and need no cap.",
    app: 'a message in more than maxPayloadLength / 64 fragments closes with 1008 "too many fragments"',
  },
  {
    adapter: "uws",
    check: "wire.framing.length-msb",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: "uWS refuses a 64-bit length with the top bit set as too big (refusePayloadLength in consumeMessage, uNetworking/uWebSockets src/WebSocketProtocol.h:372) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook gets 1009, which the contract allows for this case.",
  },
  {
    adapter: "uws",
    check: "wire.framing.rsv1-no-extension",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects RSV1 without negotiated compression (uNetworking/uWebSockets src/WebSocketProtocol.h:488, consume) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.framing.rsv2",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects RSV2 (uNetworking/uWebSockets src/WebSocketProtocol.h:488, rsv23) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.framing.rsv3",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects RSV3 (uNetworking/uWebSockets src/WebSocketProtocol.h:488, rsv23) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.framing.reserved-data-opcodes",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects opcodes 3-7 (uNetworking/uWebSockets src/WebSocketProtocol.h:488) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.framing.reserved-control-opcodes",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects opcodes 0xB-0xF (uNetworking/uWebSockets src/WebSocketProtocol.h:489) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.framing.unmasked",
    observed: 'not rejected: echoed "unmasked!!!!"',
    why: "uWS never reads the MASK bit of client frames: a server always parses a 4-byte masking key after the length (SHORT/MEDIUM/LONG_MESSAGE_HEADER = 6/8/14 bytes, uNetworking/uWebSockets src/WebSocketProtocol.h:61-63; consume and consumeMessage never test the bit), so the unmasked frame's first 4 payload bytes became the key and the next 4 bytes on the wire completed its payload. No adapter sees the frame.",
    app: "an unmasked frame is not refused: the message hook gets it, decoded as if masked",
  },
  {
    adapter: "uws",
    check: "wire.fragmentation.continuation-without-start",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects a continuation frame with no message open (consumeMessage, uNetworking/uWebSockets src/WebSocketProtocol.h:366) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.fragmentation.text-while-open",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects a text frame inside an open fragmented message (consumeMessage, uNetworking/uWebSockets src/WebSocketProtocol.h:361) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.fragmentation.binary-while-open",
    observed: "not rejected: a binary message echoed (66 69 72 73 74 01 02 03)",
    why: 'uWS refuses a new data frame inside an open fragmented message only when its opcode is below 2 (`!lastFin && getOpCode(src) < 2`, consumeMessage, uNetworking/uWebSockets src/WebSocketProtocol.h:361), i.e. text but not binary: the binary frame is taken as the open message\'s final fragment and "first" + 01 02 03 is delivered as one binary message. No adapter sees the frames.',
    app: "a binary frame inside an open fragmented message completes it: the message hook gets one binary message",
  },
  {
    adapter: "uws",
    check: "wire.utf8.overlong-2",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.utf8.overlong-3",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.utf8.surrogate",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.utf8.above-max",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.utf8.invalid-last-fragment",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.utf8.truncated-end",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "uWS rejects invalid UTF-8 (ERR_INVALID_TEXT in handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:93,158) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1007.",
  },
  {
    adapter: "uws",
    check: "wire.control.ping-126",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects a control frame over 125 bytes (uNetworking/uWebSockets src/WebSocketProtocol.h:489) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.control.ping-fragmented",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects a control frame without FIN (uNetworking/uWebSockets src/WebSocketProtocol.h:489) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.control.close-126",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "uWS rejects a control frame over 125 bytes (uNetworking/uWebSockets src/WebSocketProtocol.h:489) and ends the TCP connection without a close frame: every protocol failure goes through forceClose → us_socket_close (uNetworking/uWebSockets src/WebSocketContext.h:55). The close hook still gets 1002.",
  },
  {
    adapter: "uws",
    check: "wire.close.codes-1012-1014",
    observed:
      "1012 → hook 1002 protocol error; wire close frame without a code / 1013 → hook 1002 protocol error; wire close frame without a code / 1014 → hook 1002 protocol error; wire close frame without a code",
    why: 'uWS accepts only 1000-1003, 1007-1011 and 4000-4999 from clients (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189): 1012-1014 are reported as 1006 "Received invalid close payload" (the code is gone; the adapter maps the reason to 1002) and answered with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182).',
    app: "client close codes 1012–1014 reach the close hook as 1002",
  },
  {
    adapter: "uws",
    check: "wire.close.codes-3000-3999",
    observed:
      "3000 → hook 1002 protocol error; wire close frame without a code / 3999 → hook 1002 protocol error; wire close frame without a code",
    why: 'uWS accepts only 1000-1003, 1007-1011 and 4000-4999 from clients (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189): 3000-3999 are reported as 1006 "Received invalid close payload" (the code is gone; the adapter maps the reason to 1002) and answered with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182).',
    app: "client close codes 3000–3999 reach the close hook as 1002",
  },
  {
    adapter: "uws",
    check: "wire.close.reserved-codes",
    observed: "hook 1002 protocol error; wire close frame without a code",
    why: 'uWS reports an invalid client close code as 1006 "Received invalid close payload" (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189) and answers with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182) instead of 1002. The close hook still gets 1002.',
  },
  {
    adapter: "uws",
    check: "wire.close.codes-below-1000",
    observed: "hook 1002 protocol error; wire close frame without a code",
    why: 'uWS reports an invalid client close code as 1006 "Received invalid close payload" (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189) and answers with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182) instead of 1002. The close hook still gets 1002.',
  },
  {
    adapter: "uws",
    check: "wire.close.codes-1016-2999",
    observed: "hook 1002 protocol error; wire close frame without a code",
    why: 'uWS reports an invalid client close code as 1006 "Received invalid close payload" (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189) and answers with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182) instead of 1002. The close hook still gets 1002.',
  },
  {
    adapter: "uws",
    check: "wire.close.codes-above-4999",
    observed: "hook 1002 protocol error; wire close frame without a code",
    why: 'uWS reports an invalid client close code as 1006 "Received invalid close payload" (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189) and answers with end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182) instead of 1002. The close hook still gets 1002.',
  },
  {
    adapter: "uws",
    check: "wire.close.one-byte-payload",
    observed: 'hook 1005 ""; wire close frame without a code',
    why: "uWS reads a close payload shorter than 2 bytes as no code at all (`if (length >= 2)`, parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:186): it reports 1005, which the adapter cannot tell from an empty close frame, and answers with an empty close frame.",
    app: "a 1-byte close payload reaches the close hook as 1005, not 1002",
  },
  {
    adapter: "uws",
    check: "wire.close.invalid-utf8-reason",
    observed: "hook 1002 protocol error; wire close frame without a code",
    why: 'uWS rejects a close reason that is not UTF-8 like an invalid code (parseClosePayload, uNetworking/uWebSockets src/WebSocketProtocol.h:189): one report, 1006 "Received invalid close payload", which the adapter can only map to 1002, and end(1006), which formatClosePayload sends as a close frame without a code (uNetworking/uWebSockets src/WebSocketProtocol.h:200, WebSocketContext.h:182).',
    app: "a close reason that is not UTF-8 reaches the close hook as 1002, not 1007",
  },
  {
    adapter: "uws",
    check: "wire.deflate.shared.corrupt",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: 'uWS reports a compressed message that fails to inflate with ERR_TOO_BIG_MESSAGE_INFLATION ("Received too big message, or other inflation error", handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:84,143), like one that inflates beyond the limit: the adapter can only report 1009; forceClose sends no close frame.',
    app: "a compressed message that does not inflate reaches the close hook as 1009, not 1007",
  },
  {
    adapter: "uws",
    check: "wire.deflate.dedicated.corrupt",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: 'uWS reports a compressed message that fails to inflate with ERR_TOO_BIG_MESSAGE_INFLATION ("Received too big message, or other inflation error", handleFragment, uNetworking/uWebSockets src/WebSocketContext.h:84,143), like one that inflates beyond the limit: the adapter can only report 1009; forceClose sends no close frame.',
    app: "a compressed message that does not inflate reaches the close hook as 1009, not 1007",
  },
  {
    adapter: "uws",
    check: "wire.deflate.rsv1-control",
    observed: "not rejected: pong answered",
    why: 'With compression negotiated uWS takes RSV1 on any frame as "this message is compressed": setCompressed (uNetworking/uWebSockets src/WebSocketContext.h:44) never looks at the opcode, and consume (uNetworking/uWebSockets src/WebSocketProtocol.h:488) rejects RSV1 only when compression is off. The ping is answered and the flag carries over to the next data message. No adapter sees the bit.',
    app: "RSV1 on a ping is not refused: the ping hook runs",
  },
  {
    adapter: "uws",
    check: "wire.deflate.rsv1-continuation",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: "uWS accepts RSV1 on a continuation frame (setCompressed ignores the opcode, uNetworking/uWebSockets src/WebSocketContext.h:44) and inflates the whole message; uncompressed data then fails with ERR_TOO_BIG_MESSAGE_INFLATION (uNetworking/uWebSockets src/WebSocketContext.h:143), which the adapter can only report as 1009; forceClose sends no close frame.",
    app: "RSV1 on a continuation frame reaches the close hook as 1009, not 1002",
  },
  {
    adapter: "uws",
    check: "wire.deflate.limits.inflated-over-limit",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: "uWS closes a message that inflates beyond maxPayloadLength with forceClose(ERR_TOO_BIG_MESSAGE_INFLATION) (uNetworking/uWebSockets src/WebSocketContext.h:84): no 1009 close frame (library-originated closes are 1006, uNetworking/uWebSockets#1321). The close hook still gets 1009.",
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
