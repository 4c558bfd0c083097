/**
 * Engine deviations: wire behaviours that belong to an engine and that no adapter can change.
 * A check may report `deviation` only when what it observed matches an entry here exactly;
 * anything else is a failure. A check without an observation of its own reports one when its
 * failure message is exactly an entry's `observed` (the runner compares them). The handler-side contract (what hooks and `send` report) has no
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
    check: "upgrade.http-1.0",
    observed: "plain GET 505 HTTP Version Not Supported; upgrade 505",
    why: 'uWS parses only "HTTP/1.1" request lines (uNetworking/uWebSockets src/HttpParser.h:327) and answers anything else with its own 505 before any adapter sees the request: HTTP/1.0 clients (old proxies, `curl -0`, ab) get no page and no WebSocket. Node, Bun and Deno serve both.',
    app: "HTTP/1.0 requests and upgrades never reach the application (505)",
  },
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
  {
    adapter: "deno",
    check: "messages.same-socket",
    observed: "the fixture did not record the ping hook within 5000 ms (recorded: open, message)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "control.client-ping",
    observed: "the fixture did not record the ping hook within 5000 ms (recorded: open)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The pong is answered.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "control.server-ping",
    observed: "timed out after 5000 ms waiting for the server's ping",
    why: "Deno's WebSocket has no ping() (deno#15430) and its own pings are internal to its idle timer (_serverHandleIdleTimeout, ext/websocket/01_websocket.js): the adapter's ping sends nothing and returns \"dropped\".",
    app: 'ws.ping() sends nothing and returns "dropped" (Deno\'s WebSocket has no ping)',
  },
  {
    adapter: "deno",
    check: "errors.every-hook",
    observed: "no matching frame within 5000 ms (got 0 frames)",
    why: "The pong case waits for a server ping, which Deno cannot send (no ping(), deno#15430), and the ping case for a ping hook Deno never lets run (Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430).) The open, close and drain hooks pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "errors.every-listener",
    observed: "no matching frame within 5000 ms (got 0 frames)",
    why: "The pong case waits for a server ping, which Deno cannot send (no ping(), deno#15430), and the ping case for a ping listener Deno never lets run. The message, close and drain listeners pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "timeouts.idle-silent-client",
    observed: "connection ended before the expected frame",
    why: 'No ping can be sent (Deno\'s WebSocket has no ping(), deno#15430): the silent client is cut off at the idle timeout without one (1006 "idle timeout", within the window: checked without the ping).',
    app: "idleTimeout with sendPings: no ping is sent and pongs are not seen; only client messages keep a connection alive",
  },
  {
    adapter: "deno",
    check: "timeouts.idle-pong-keeps-alive",
    observed: "timed out after 8000 ms waiting for three automatic pings",
    why: "No ping can be sent (no ping(), deno#15430) and Deno answers and hides the client's pongs (Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430).): a client that only answers pings is idle and is cut off at T.",
    app: "idleTimeout with sendPings: no ping is sent and pongs are not seen; only client messages keep a connection alive",
  },
  {
    adapter: "deno",
    check: "resilience.health-check",
    observed: "the server pinged first",
    why: 'The health check pings and waits for pongs: Deno cannot send a ping (no ping(), deno#15430) and reports no pong (Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno\'s own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430).). The silent client is closed 4408 "ping timeout" without a ping; so is a client that would answer.',
    app: "healthCheck closes every client at its first timeout (no ping is sent, no pong is seen)",
  },
  {
    adapter: "deno",
    check: "hostile.ping-flood",
    observed: "the server through the flood: not reached within 20000 ms",
    why: "Deno answers each ping itself with no backpressure limit (set_auto_pong(true), ext/websocket/lib.rs:740) and fastwebsockets 0.8.1's read loop waits until each pong is written (read_frame, src/lib.rs): from a client that stopped reading, nothing behind the flood is read (no pong dropped or counted) until it reads again. Memory stays bounded by the kernel's buffers.",
  },
  {
    adapter: "deno",
    check: "wire.fragmentation.ping-between",
    observed: "the fixture did not record the ping hook within 5000 ms (recorded: open, message)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The pong comes first and the message stays intact.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "wire.fragmentation.pong-between",
    observed: "the fixture did not record the pong hook within 5000 ms (recorded: open, message)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The message stays intact.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "wire.control.ping-empty",
    observed: "the fixture did not record the ping hook within 5000 ms (recorded: open)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The pong carries the ping's payload.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "wire.control.ping-125",
    observed: "the fixture did not record the ping hook within 5000 ms (recorded: open)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The pong carries the ping's payload.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "wire.control.pong-unsolicited",
    observed: "the fixture did not record the pong hook within 5000 ms (recorded: open, message)",
    why: "Deno answers every client ping itself (set_auto_pong(true), ext/websocket/lib.rs:740) and its read loop skips it (`OpCode::Continuation | OpCode::Ping => continue`, op_ws_next_event, ext/websocket/lib.rs:1033); a pong only resets Deno's own idle timer (`case 2`, _eventLoop, ext/websocket/01_websocket.js:816): no event reaches any adapter, and the WebSocket has no ping() (deno#15430). The connection still echoes.",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "protocol.corrupt-deflate",
    observed: "The input did not match the regular expression /permessage-deflate/. Input: ''",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "limits.after-inflation",
    observed: "The input did not match the regular expression /permessage-deflate/. Input: ''",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "limits.compressed-accepted",
    observed: "the fixture did not record the message hook within 5000 ms (recorded: open, close)",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "limits.max-compressed-size",
    observed: "close hook code 1002 protocol error 1002 !== 1009",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.shared-negotiated",
    observed:
      "the 101's Sec-WebSocket-Extensions + actual - expected + '' - 'permessage-deflate; client_no_context_takeover; server_no_context_takeover'",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.shared-large-compressed",
    observed: "an 8000-byte message must be compressed false !== true",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.shared-override",
    observed: "compress: true must compress a small message false !== true",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.shared-client-to-server",
    observed: "the fixture did not record the message hook within 5000 ms (recorded: open, close)",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.dedicated-negotiated",
    observed: "the 101's Sec-WebSocket-Extensions + actual - expected + '' - 'permessage-deflate'",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.dedicated-large-compressed",
    observed: "an 8000-byte message must be compressed false !== true",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.dedicated-override",
    observed: "compress: true must compress a small message false !== true",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.dedicated-client-to-server",
    observed: "the fixture did not record the message hook within 5000 ms (recorded: open, close)",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.window-bits-offer",
    observed: "Expected values to be strictly equal: + actual - expected + '' - 'permessage-deflate; server_max_window_bits=10'",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "topics.compression",
    observed: "an 8000-byte publish must be compressed false !== true",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.shared-burst-under-limit",
    observed: "statuses ssssbbbbbbbbbddddddddddddddddddddddddddd: nothing may be dropped (40 × ~30 compressed bytes)",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so. Uncompressed, 40 × 4 KiB is over the 64 KiB limit: sends go sent, then buffered (a drain follows), then dropped, in that order.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.plain",
    observed: 'the offer "permessage-deflate" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.client-max-window-bits",
    observed: 'the offer "permessage-deflate; client_max_window_bits" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.client-max-window-bits-10",
    observed: 'the offer "permessage-deflate; client_max_window_bits=10" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.first-offer-invalid",
    observed:
      'the offer "permessage-deflate; x_unknown_parameter, permessage-deflate; client_max_window_bits" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.unknown-extension-first",
    observed: 'the offer "x-unknown-extension, permessage-deflate" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.fragmented-compressed",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on shared: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.shared.corrupt",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on shared: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "compression.dedicated-burst-under-limit",
    observed: "statuses ssssbbbbbbbbbddddddddddddddddddddddddddd: nothing may be dropped (40 × ~30 compressed bytes)",
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so. Uncompressed, 40 × 4 KiB is over the 64 KiB limit: sends go sent, then buffered (a drain follows), then dropped, in that order.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.plain",
    observed: 'the offer "permessage-deflate" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.client-max-window-bits",
    observed: 'the offer "permessage-deflate; client_max_window_bits" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.client-max-window-bits-10",
    observed: 'the offer "permessage-deflate; client_max_window_bits=10" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.first-offer-invalid",
    observed:
      'the offer "permessage-deflate; x_unknown_parameter, permessage-deflate; client_max_window_bits" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.unknown-extension-first",
    observed: 'the offer "x-unknown-extension, permessage-deflate" must be accepted; the 101 has no extensions',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.fragmented-compressed",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on dedicated: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.dedicated.corrupt",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on dedicated: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.rsv1-control",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on shared: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.rsv1-continuation",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on shared: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "wire.deflate.limits.inflated-over-limit",
    observed:
      '"permessage-deflate; client_max_window_bits" must be accepted on limits: got undefined, expected "permessage-deflate"',
    why: "Deno has no permessage-deflate (deno#7681): Deno.upgradeWebSocket's 101 carries upgrade, connection, sec-websocket-accept and the protocol only (ext/http/02_websocket.ts:70-90), and fastwebsockets 0.8.1 refuses RSV1 on every frame (ReservedBitsNotZero, parse_frame_header, src/lib.rs:657). The adapter answers no extension, and ws.extensions says so.",
    app: "compression is never negotiated: ws.extensions is empty, messages go uncompressed, a compressed client frame closes with 1002",
  },
  {
    adapter: "deno",
    check: "protocol.invalid-utf8-wire",
    observed: "no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.length-msb",
    observed: "hook 1009 message too big; wire no close frame; TCP closed",
    why: "Any frame of 64 MiB or more fails with FrameTooLarge (`payload_len >= self.max_message_size`, 64 << 20, fastwebsockets 0.8.1 src/lib.rs:559,708), which the adapter reports as 1009; no close frame is sent: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.rsv1-no-extension",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.rsv2",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.rsv3",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.reserved-data-opcodes",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.framing.reserved-control-opcodes",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.fragmentation.continuation-without-start",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.fragmentation.text-while-open",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.fragmentation.binary-while-open",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.control.ping-126",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.control.ping-fragmented",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.utf8.overlong-2",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.utf8.overlong-3",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.utf8.surrogate",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.utf8.above-max",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.utf8.invalid-last-fragment",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "Deno fails the connection without a close frame: fastwebsockets 0.8.1 reports the error without an answer (parse_frame_header, src/lib.rs:632-712; read_frame_inner, src/lib.rs:570) and Deno's read loop then closes the resource (`case 3`, _eventLoop, ext/websocket/01_websocket.js:821). The adapter maps the error's message to the contract's code: the close hook gets it.",
  },
  {
    adapter: "deno",
    check: "wire.close.one-byte-payload",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed",
    why: "fastwebsockets 0.8.1 refuses a 1-byte close payload without an answer (`1 => return (Err(WebSocketError::InvalidCloseFrame), None)`, read_frame_inner, src/lib.rs:590); Deno's read loop then closes the resource (ext/websocket/01_websocket.js:821). The close hook still gets 1002.",
  },
  {
    adapter: "deno",
    check: "wire.close.invalid-utf8-reason",
    observed: "hook 1007 invalid payload; wire no close frame; TCP closed",
    why: "fastwebsockets 0.8.1 refuses a close reason that is not UTF-8 without an answer (read_frame_inner, src/lib.rs:602); Deno's read loop then closes the resource (ext/websocket/01_websocket.js:821). The close hook still gets 1007.",
  },
  {
    adapter: "deno",
    check: "protocol.unmasked-frame",
    observed: 'read as masked: echoed \u0011"3DdU@i',
    why: "fastwebsockets 0.8.1 reads the MASK bit but never requires it from a client (parse_frame_header, src/lib.rs:662,694): the unmasked 8-byte frame is delivered as sent (its first 4 bytes are the check's key, 11 22 33 44), so the echo is those 8 bytes, not a decoded text. No adapter sees the bit.",
    app: "an unmasked frame is not refused: the message hook gets its payload as sent",
  },
  {
    adapter: "deno",
    check: "wire.framing.unmasked",
    observed: "hook 1002 protocol error; wire no close frame; TCP closed; 1 message(s) reached the message hook",
    why: 'fastwebsockets 0.8.1 never requires the MASK bit (parse_frame_header, src/lib.rs:662,694): the unmasked frame is delivered as a message (4 zero bytes + "unmasked"); the 4 bytes after it then parse as a frame with RSV2 set, which fails the connection without a close frame. Whether the echo or the close hook is seen first is a race: the other observation is listed too.',
    app: "an unmasked frame is not refused: the message hook gets its payload as sent",
  },
  {
    adapter: "deno",
    check: "wire.framing.unmasked",
    observed: 'not rejected: echoed "\u0000\u0000\u0000\u0000unmasked"',
    why: 'fastwebsockets 0.8.1 never requires the MASK bit (parse_frame_header, src/lib.rs:662,694): the unmasked frame is delivered as a message and echoed (4 zero bytes + "unmasked"); the 4 bytes after it then fail the connection. Whether the echo or the close hook is seen first is a race: the other observation is listed too.',
    app: "an unmasked frame is not refused: the message hook gets its payload as sent",
  },
  {
    adapter: "deno",
    check: "wire.utf8.truncated-end",
    observed: "the fixture did not record the close hook within 5000 ms (recorded: open, message)",
    why: 'fastwebsockets 0.8.1 validates fragmented text incrementally and, on the final fragment, returns the message without checking that no incomplete character is left (Fragments::accumulate, src/fragment.rs:285): "price: 5" is delivered without its trailing E2 82, the connection stays open.',
    app: "a fragmented text message that ends inside a character is delivered without the incomplete bytes, not refused",
  },
  {
    adapter: "deno",
    check: "wire.control.close-126",
    observed:
      "hook 1000 rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr; wire close frame 1000",
    why: "fastwebsockets 0.8.1 checks the 125-byte control limit for pings only (`opcode == OpCode::Ping && payload_len > 125`, parse_frame_header, src/lib.rs:704): a 126-byte close frame is accepted and echoed, its 124-byte reason reaches the close hook.",
    app: "a close frame over 125 bytes is accepted: the close hook gets its code and a reason of up to 124 bytes",
  },
  {
    adapter: "deno",
    check: "wire.close.codes-1012-1014",
    observed:
      "1012 → hook 1012 bye 1012; wire close frame 1012 / 1013 → hook 1013 bye 1013; wire close frame 1013 / 1014 → hook 1002 protocol error; wire close frame 1002",
    why: "fastwebsockets 0.8.1 knows 1012 and 1013 but not 1014 (`_ => Bad(code)`, CloseCode::from, src/close.rs:123): 1014 is refused as an invalid code and answered with 1002 (read_frame_inner, src/lib.rs:609).",
    app: "client close code 1014 reaches the close hook as 1002",
  },
  {
    adapter: "deno",
    check: "hostile.slow-head",
    observed: "still open after 20000 ms",
    why: "Deno.serve has no deadline for a request head: its HTTP/1.1 parser waits for the head as long as the client keeps the connection (serve_http11_raw, ext/http/http_next.rs:4357; deno_http_h1 has no read timeout), and no adapter code runs before the head is complete. A trickled head and a silent connection stay open.",
  },
  {
    adapter: "deno",
    check: "hostile.head-too-large",
    observed: "GET with 150 fields 400 !== 431",
    why: "Deno answers 400 Bad Request, before any handler runs, to a head of more than 128 fields (MAX_HEADERS, libs/http_h1/parse.rs:5) or 64 KiB (MAX_HEAD_BYTES, libs/http_h1/conn.rs:40); within those the adapter answers 431 with Connection: close (a 20 KB header gets 431 on GET and upgrade, checked without the 150-field case).",
  },
  {
    adapter: "deno",
    check: "hostile.upgrade-deadline",
    observed: "connection still open after 2000 ms",
    why: "Deno keeps a connection alive after a response that says Connection: close: serve_http11_raw closes only for a 101, a request without keep-alive or a cancelled server (ext/http/http_next.rs:4395,4468), never from the response's headers. The refusal itself (status, headers, body, Connection: close) is as on every engine.",
  },
  {
    adapter: "deno",
    check: "upgrade.hook-rejects-after-timer",
    observed: "connection still open after 5000 ms",
    why: "Deno keeps a connection alive after a response that says Connection: close: serve_http11_raw closes only for a 101, a request without keep-alive or a cancelled server (ext/http/http_next.rs:4395,4468), never from the response's headers. The refusal itself (status, headers, body, Connection: close) is as on every engine.",
  },
  {
    adapter: "deno",
    check: "realtime.auth-abandoned",
    observed: "the abandoned upgrade no longer pending: not reached within 5000 ms",
    why: "Deno does not tell a handler that the client of an upgrade request left: request.signal stays unaborted, info.completed resolves, and Deno.upgradeWebSocket on it neither opens nor fails (ext/http/02_websocket.ts:113-135). The adapter cannot abandon the socket; core's pending expiry (10 s) drops it and the user never comes online.",
  },
  {
    adapter: "deno",
    check: "resilience.rate-limit-close",
    observed:
      "Expected values to be strictly deep-equal: + actual - expected { + code: 1006, + reason: '' - code: 1008, - reason: 'Rate limit exceeded' }",
    why: "Once the server closed, Deno's read loop drops the connection at the next data frame from the client instead of waiting for its close frame (`this[_readyState] == CLOSING && kind <= 3`, _eventLoop, ext/websocket/01_websocket.js:761): a client still sending gets a reset (its data unread) and may lose the close frame. The adapter closes from a timer, which avoids it for data that had already arrived; the close hook gets the server's code. Sometimes passes.",
  },
  {
    adapter: "deno",
    check: "upgrade.res-upgrade-bounded",
    observed:
      "Expected values to be strictly deep-equal: + actual - expected { + code: 1006, + reason: '' - code: 1008, - reason: 'no message listener' }",
    why: "Once the server closed, Deno's read loop drops the connection at the next data frame from the client instead of waiting for its close frame (`this[_readyState] == CLOSING && kind <= 3`, _eventLoop, ext/websocket/01_websocket.js:761): a client still sending gets a reset (its data unread) and may lose the close frame. The adapter closes from a timer, which avoids it for data that had already arrived; the close hook gets the server's code. Sometimes passes.",
  },
  {
    adapter: "deno",
    check: "control.cork",
    observed: "without cork the three sends (25 ms apart) arrived in 1 TCP read: the check cannot tell",
    why: "Deno writes every send from a task that runs only after the JavaScript callback returns (deno_core::unsync::spawn in send_binary / op_ws_send_text, ext/websocket/lib.rs): sends made in one callback leave together, corked or not, so the check cannot tell them apart. Sometimes passes.",
  },
  {
    adapter: "deno",
    check: "control.cork",
    observed: "the corked frames arrived in 2 TCP reads 2 !== 1",
    why: "Deno has no cork: every send is its own write, from a task of its own (deno_core::unsync::spawn in send_binary / op_ws_send_text, ext/websocket/lib.rs; writev off), run after the JavaScript callback returns. Frames sent in one callback usually leave together, corked or not, but a busy reader can see them in separate reads. Sometimes passes.",
  },
  {
    adapter: "deno",
    check: "control.cork",
    observed: "the corked frames arrived in 3 TCP reads 3 !== 1",
    why: "Deno has no cork: every send is its own write, from a task of its own (deno_core::unsync::spawn in send_binary / op_ws_send_text, ext/websocket/lib.rs; writev off), run after the JavaScript callback returns. Frames sent in one callback usually leave together, corked or not, but a busy reader can see them in separate reads. Sometimes passes.",
  },
  {
    adapter: "deno",
    check: "errors.every-hook",
    observed: "the fixture did not record the error hook after the ping hook threw within 5000 ms (recorded: open)",
    why: "The ping and pong cases run at once and the first to time out is reported: here the ping hook, which Deno never lets run (it answers client pings itself and skips them in its read loop: set_auto_pong(true), ext/websocket/lib.rs:740; `OpCode::Continuation | OpCode::Ping => continue`, ext/websocket/lib.rs:1033). The other hooks pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "errors.every-hook",
    observed: "the fixture did not record the error hook after the ping hook rejected within 5000 ms (recorded: open)",
    why: "The ping and pong cases run at once and the first to time out is reported: here the ping hook, which Deno never lets run (it answers client pings itself and skips them in its read loop: set_auto_pong(true), ext/websocket/lib.rs:740; `OpCode::Continuation | OpCode::Ping => continue`, ext/websocket/lib.rs:1033). The other hooks pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "errors.every-listener",
    observed: "the fixture did not record the error hook after the ping listener threw within 5000 ms (recorded: open)",
    why: "The ping and pong cases run at once and the first to time out is reported: here the ping listener, which Deno never lets run (it answers client pings itself and skips them in its read loop: set_auto_pong(true), ext/websocket/lib.rs:740; `OpCode::Continuation | OpCode::Ping => continue`, ext/websocket/lib.rs:1033). The other listeners pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
  {
    adapter: "deno",
    check: "errors.every-listener",
    observed: "the fixture did not record the error hook after the ping listener rejected within 5000 ms (recorded: open)",
    why: "The ping and pong cases run at once and the first to time out is reported: here the ping listener, which Deno never lets run (it answers client pings itself and skips them in its read loop: set_auto_pong(true), ext/websocket/lib.rs:740; `OpCode::Continuation | OpCode::Ping => continue`, ext/websocket/lib.rs:1033). The other listeners pass (checked without the ping and pong cases).",
    app: "the ping and pong hooks never run: Deno answers client pings itself and reports neither pings nor pongs",
  },
];

/**
 * Returns a `deviation` outcome when `observed` is exactly the documented deviation of this
 * adapter for this check; otherwise throws with `failure`.
 */
export function deviationOrFail(adapter: string, check: string, observed: string, failure: string): CheckOutcome {
  const entry = ENGINE_DEVIATIONS.find((d) => d.adapter === adapter && d.check === check && d.observed === observed);
  if (entry !== undefined) return { status: "deviation", detail: `${observed} (${entry.why})` };
  throw new Error(`${failure} (observed: ${observed})`);
}
