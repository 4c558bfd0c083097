/**
 * @verb/core: one WebSocket server contract for Bun.serve, Node.js + ws and uWebSockets.js.
 */

export { defineMessages, type MessageDefinitions, SUBPROTOCOL } from "@verb/protocol";
export type {
  AcceptUpgrade,
  AdapterHost,
  AdapterServer,
  RejectUpgrade,
  SocketDriver,
  UpgradeDecision,
  VerbAdapter,
} from "./adapter.js";
export {
  type CloseOptions,
  createServer,
  type ErrorHandler,
  type HandlerResult,
  type HttpHandler,
  type Middleware,
  type Serve,
  type ServerHandle,
  ServerProtocol,
  type SignalOptions,
  serveWith,
  VerbApp,
} from "./app.js";
export { type AuthOptions, describeUser, extractToken, type TokenCarrier } from "./auth.js";
export type {
  Backplane,
  BackplaneMessage,
  BackplaneSink,
  DurableLog,
  LogRange,
  Presence,
  SequencedMessage,
} from "./backplane.js";
export {
  assertSendableCloseCode,
  CloseCode,
  CloseReason,
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  truncateCloseReason,
} from "./close.js";
export type {
  AuthUser,
  HookResult,
  IncomingRequest,
  Message,
  OriginPolicy,
  SocketEvent,
  SocketEventMap,
  UpgradeAccept,
  UpgradeHookResult,
  UpgradePolicy,
  UpgradeReject,
  WebSocketHandlers,
  WebSocketRoute,
} from "./handlers.js";
export type { CookieOptions } from "./http/cookies.js";
export { HEAD_TIMEOUT_S, headTooLarge, MAX_HEAD_BYTES, MAX_HEADER_FIELDS } from "./http/head-limits.js";
export { headersToRecord, requestUrl, VerbRequest } from "./http/request.js";
export { type ResponseBody, type ResUpgradeOptions, VerbResponse } from "./http/response.js";
export type { SendFileOptions } from "./http/send-file.js";
export { toWebRequest } from "./http/web-request.js";
export { type Logger, type LogMethod, quietLogger } from "./logger.js";
export { createMessageRouter, type ErrorReply, MessageRouter, type MessageRouterOptions, type TypedMessage } from "./messages.js";
export { type Metrics, toPrometheus } from "./metrics.js";
export { MemoryOfflineStore, type OfflineStore, type QueueBounds, type QueuedMessage } from "./offline-queue.js";
export {
  type AdapterName,
  type Compression,
  DEFAULT_LIMITS,
  type DefaultSocketData,
  type HealthCheckOptions,
  type HeartbeatOptions,
  type OfflineQueueOptions,
  type RateLimitOptions,
  type ResilienceOptions,
  type ResolvedResilience,
  type ResolvedWebSocketLimits,
  resolveResilience,
  resolveWebSocketLimits,
  type ServerOptions,
  VerbOptionsError,
  type WebSocketLimits,
  type WebSocketOptions,
} from "./options.js";
export { type Client, ClientRegistry, RESERVED_TOPIC_PREFIX } from "./registry.js";
export { type CloseSocketsOptions, WATCHDOG_TICK_MS } from "./runtime.js";
export { adapterFromModule, isBunRuntime, isDenoRuntime, loadAdapter, resolveAdapter } from "./select-adapter.js";
export { QueuedSends } from "./send-queue.js";
export {
  ReadyState,
  type ReadyStateValue,
  type SendData,
  type SendOptions,
  type SendStatus,
  ServerSocket,
  type VerbSocket,
} from "./socket.js";
export type { InferOutput, SchemaIssue, SchemaResult, StandardSchemaV1 } from "./standard-schema.js";
export {
  addHeader,
  addHeaderValueFirst,
  clientAddress,
  endHeaderList,
  type HeaderRecord,
  UpgradeRequest,
} from "./upgrade-request.js";
export { UserDirectory } from "./users.js";
