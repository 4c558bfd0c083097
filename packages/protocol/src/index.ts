/**
 * @verb/protocol: the wire protocol Verb servers and clients speak on top of WebSocket (sessions
 * that resume, sequenced streams, numbered client messages, requests and replies). No server or
 * engine code: the server (@verb/core) and the client (@verb/client) both import it. README.md
 * describes the protocol for clients in other languages.
 */

export {
  type Envelope,
  encodeEscaped,
  encodeNumbered,
  encodeSequenced,
  needsEscape,
  openEnvelope,
  type Payload,
  RS,
  readNumberHeader,
  readSequenceHeader,
  sequenceHeader,
} from "./frames.js";
export {
  type ClientControl,
  type Cursor,
  type Gap,
  type Hello,
  isControl,
  type Ping,
  type Pong,
  type Refused,
  type Replay,
  type Reply,
  type ReplyError,
  SESSION_REPLACED_CODE,
  SESSION_REPLACED_REASON,
  type ServerControl,
  type ShutdownNotice,
  type StreamStart,
  SUBPROTOCOL,
  type Subscribe,
  type Subscribed,
  type Unsubscribe,
  VERSION,
  type Welcome,
} from "./messages.js";
export {
  type ClientMessage,
  type ClientPayload,
  type ClientType,
  defineMessages,
  type InferInput,
  type InferOutput,
  issuePath,
  type MessageDefinitions,
  type ReplyInput,
  type ReplyOf,
  type SchemaIssue,
  type SchemaResult,
  type ServerMessage,
  type ServerReceives,
  type StandardSchemaV1,
} from "./schema.js";
