/**
 * @verb/core: one WebSocket server contract for Bun.serve, Node.js + ws and uWebSockets.js.
 */

export type {
  AcceptUpgrade,
  AdapterHost,
  AdapterServer,
  RejectUpgrade,
  SocketDriver,
  UpgradeDecision,
  VerbAdapter,
} from "./adapter.js";
export { createServer, type HttpHandler, type ServerHandle, ServerProtocol, VerbApp } from "./app.js";
export {
  assertSendableCloseCode,
  CloseCode,
  CloseReason,
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  truncateCloseReason,
} from "./close.js";
export type { HookResult, Message, SocketEvent, SocketEventMap, WebSocketHandlers } from "./handlers.js";
export type { CookieOptions } from "./http/cookies.js";
export { VerbRequest } from "./http/request.js";
export { type ResponseBody, VerbResponse } from "./http/response.js";
export {
  type AdapterName,
  type Compression,
  DEFAULT_LIMITS,
  type DefaultSocketData,
  type ResolvedWebSocketLimits,
  resolveWebSocketLimits,
  type ServerOptions,
  VerbOptionsError,
  type WebSocketLimits,
  type WebSocketOptions,
} from "./options.js";
export { type CloseSocketsOptions, WATCHDOG_TICK_MS } from "./runtime.js";
export { adapterFromModule, isBunRuntime, loadAdapter, resolveAdapter } from "./select-adapter.js";
export {
  ReadyState,
  type ReadyStateValue,
  type SendData,
  type SendOptions,
  type SendStatus,
  ServerSocket,
  type VerbSocket,
} from "./socket.js";
export { type HeaderRecord, UpgradeRequest } from "./upgrade-request.js";
