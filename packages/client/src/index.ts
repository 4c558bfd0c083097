/**
 * @verb/client: the Verb WebSocket client for browsers, Bun, Deno and Node (≥ 22, or 20 with
 * `ws`). It reconnects by itself, resumes without loss or duplicates, keeps a bounded outbox,
 * settles every request, restores subscriptions and watches the connection. README.md documents
 * the API, the close-code policy and the guarantees.
 */

export {
  type ClientMessage,
  type ClientPayload,
  type ClientType,
  type Cursor,
  defineMessages,
  type MessageDefinitions,
  type ReplyOf,
  type ServerMessage,
  type StandardSchemaV1,
} from "@verb/protocol";
export { type Backoff, type BackoffOptions, backoffDelay, backoffWindow, spreadDelay } from "./backoff.js";
export { createClient } from "./client.js";
export {
  AbortError,
  ClosedError,
  DroppedError,
  type DropReason,
  type Issue,
  RequestError,
  SubscriptionError,
  TimeoutError,
  ValidationError,
  VerbClientError,
} from "./errors.js";
export type { HeartbeatOptions } from "./heartbeat.js";
export type { DropPolicy, OutboxOptions } from "./outbox.js";
export { type CloseAction, type CloseReason, classifyClose } from "./policy.js";
export type { RequestOptions } from "./requests.js";
export { type ClientSnapshot, type ClientStorage, memoryStorage, type WebStorageLike, webStorage } from "./storage.js";
export type { Discontinuity, StreamOptions } from "./streams.js";
export type {
  ClientEvents,
  ClientOptions,
  ClientState,
  ClientStats,
  CloseInfo,
  DropInfo,
  IncomingMessage,
  JsonObject,
  OpenInfo,
  OutgoingMessage,
  ReceivedMessage,
  RequestArgs,
  SendData,
  SendOptions,
  SendResult,
  ServerNotice,
  ShutdownNotice,
  StateInfo,
  UrlSource,
  VerbClient,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
