/**
 * Typed message routing (the spec's `messageHandlers`): JSON messages dispatched by their `type`,
 * payloads validated with any Standard Schema library, binary messages dispatched on their first
 * byte, and every failure answered with an error reply instead of a crash.
 */

import type { ClientType, MessageDefinitions, ReplyInput, ServerReceives } from "@verb/protocol";
import { isThenable } from "./guards.js";
import type { IncomingRequest, Message } from "./handlers.js";
import { VerbOptionsError } from "./options.js";
import { TokenBucket } from "./rate-limit.js";
import type { ServerSocket, VerbSocket } from "./socket.js";
import { type InferOutput, issuePath, type SchemaResult, type StandardSchemaV1 } from "./standard-schema.js";

/** The error reply the router sends. */
export interface ErrorReply {
  type: "error";
  message: string;
  /** For validation failures: which fields, and what is wrong with them. */
  issues?: { path: string; message: string }[];
  /** For rate limits: when to try again. */
  retryAfterMs?: number;
}

/** Options of {@link createMessageRouter}. */
export interface MessageRouterOptions<Data> {
  /**
   * Refuse messages from sockets that did not authenticate (`ws.data.user` unset) with
   * "Authentication required". `true`, or a predicate for custom rules. Default false.
   */
  requireAuth?: boolean | ((ws: VerbSocket<Data>) => boolean);
  /**
   * Rate limits per message type and connection, e.g. `{ chat: { messages: 5, per: 1 } }`: over it
   * a message gets `{"type":"error","message":"Rate limit exceeded for chat","retryAfterMs":N}`
   * and its handler does not run. Counted in `metrics().rateLimited`.
   */
  rateLimits?: Record<string, { messages: number; per?: number; burst?: number }>;
  /**
   * Message definitions shared with the client (`defineMessages` of @verb/protocol): a type's
   * `payload` schema validates its messages (a handler added without a schema uses it), and
   * handlers are typed from them, requests' replies included.
   */
  messages?: MessageDefinitions;
}

/** A message of a known type, before validation. */
export type TypedMessage<Type extends string> = { type: Type } & Record<string, unknown>;

interface Route<Data> {
  schema: StandardSchemaV1 | undefined;
  handler: (ws: VerbSocket<Data>, data: unknown, request?: IncomingRequest) => unknown;
}

type Handler = (ws: VerbSocket<unknown>, data: unknown, request?: IncomingRequest) => unknown;

/**
 * Runs a handler; a failure gets an error reply and is rethrown for the `error` hook. `type` is
 * the message type, or the first byte of a binary message (the reply is built only on failure).
 */
function runHandler(
  ws: VerbSocket<unknown>,
  handler: Handler,
  data: unknown,
  type: string | number,
  request: IncomingRequest | undefined,
): unknown {
  let result: unknown;
  try {
    result = handler(ws, data, request);
  } catch (error) {
    replyFailure(ws, type, request);
    throw error;
  }
  if (!isThenable(result)) return result;
  return Promise.resolve(result).catch((error: unknown) => {
    replyFailure(ws, type, request);
    throw error;
  });
}

function replyFailure(ws: VerbSocket<unknown>, type: string | number, request: IncomingRequest | undefined): void {
  const what = typeof type === "number" ? `binary message ${type}` : type;
  reply(ws, { type: "error", message: `Internal error handling ${what}` }, request);
}

/** An error reply: to a request (typed, with its number), or as an `{"type":"error"}` message. */
function reply(ws: VerbSocket<unknown>, error: ErrorReply, request?: IncomingRequest): void {
  if (request !== undefined) {
    const { type: _type, ...detail } = error;
    request.fail(detail);
  } else ws.send(JSON.stringify(error));
}

/** What a handler may return: the reply to a request (ignored for plain messages). */
type Answer<Reply> = Reply | Promise<Reply> | undefined | Promise<undefined> | void | Promise<void>;

/**
 * Routes messages by `type`. Use `router.handle` as the `message` hook (or call it from yours).
 * With `messages` definitions, handlers and replies are typed from them.
 */
export class MessageRouter<Data = Record<string, unknown>, Definitions extends MessageDefinitions = MessageDefinitions> {
  readonly #routes = new Map<string, Route<Data>>();
  readonly #binary = new Map<number, (ws: VerbSocket<Data>, payload: Buffer, request?: IncomingRequest) => unknown>();
  readonly #requireAuth: MessageRouterOptions<Data>["requireAuth"];
  readonly #limits: Map<string, { capacity: number; ratePerMs: number }> | undefined;
  /** Buckets per socket and type; a closed socket's buckets go with it. */
  readonly #buckets = new WeakMap<object, Map<string, TokenBucket>>();
  readonly #definitions: MessageDefinitions | undefined;

  /** Throws {@link VerbOptionsError} naming any option that cannot be honoured. */
  constructor(options: MessageRouterOptions<Data> & { messages?: Definitions } = {}) {
    const scope = "createMessageRouter";
    if (typeof options !== "object" || options === null) {
      throw new VerbOptionsError(scope, `options must be an object; got ${String(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== "requireAuth" && key !== "rateLimits" && key !== "messages") {
        throw new VerbOptionsError(`${scope}.${key}`, "is not a Verb option. Known options: requireAuth, rateLimits, messages");
      }
    }
    const requireAuth: unknown = options.requireAuth;
    if (requireAuth !== undefined && typeof requireAuth !== "boolean" && typeof requireAuth !== "function") {
      throw new VerbOptionsError(
        `${scope}.requireAuth`,
        `must be true, false or a predicate (ws) => boolean; got ${String(requireAuth)}`,
      );
    }
    this.#requireAuth = options.requireAuth;
    const messages: unknown = options.messages;
    if (messages !== undefined) {
      if (typeof messages !== "object" || messages === null) {
        throw new VerbOptionsError(`${scope}.messages`, "must be message definitions (defineMessages of @verb/protocol)");
      }
      for (const [type, definition] of Object.entries((messages as MessageDefinitions).client ?? {})) {
        const schema = definition?.payload;
        if (schema !== undefined && typeof schema["~standard"]?.validate !== "function") {
          throw new VerbOptionsError(
            `${scope}.messages.client.${type}.payload`,
            "is not a Standard Schema (zod, valibot, arktype, ...)",
          );
        }
      }
      this.#definitions = messages as MessageDefinitions;
    }
    if (options.rateLimits !== undefined) {
      this.#limits = new Map();
      for (const [type, limit] of Object.entries(options.rateLimits)) {
        const name = `${scope}.rateLimits.${type}`;
        for (const key of Object.keys(limit)) {
          if (key !== "messages" && key !== "per" && key !== "burst") {
            throw new VerbOptionsError(`${name}.${key}`, "is not a Verb option. Known options: messages, per, burst");
          }
        }
        const per = limit.per ?? 1;
        const burst = limit.burst ?? limit.messages;
        if (!(typeof limit.messages === "number" && limit.messages > 0 && Number.isFinite(limit.messages))) {
          throw new VerbOptionsError(`${name}.messages`, `must be a number above 0; got ${String(limit.messages)}`);
        }
        if (!(typeof per === "number" && per > 0 && Number.isFinite(per))) {
          throw new VerbOptionsError(`${name}.per`, `must be a number of seconds above 0; got ${String(per)}`);
        }
        if (!(typeof burst === "number" && burst >= 1 && Number.isFinite(burst))) {
          throw new VerbOptionsError(`${name}.burst`, `must be a number of messages, at least 1; got ${String(burst)}`);
        }
        this.#limits.set(type, { capacity: burst, ratePerMs: limit.messages / (per * 1000) });
      }
    }
  }

  /**
   * Handles messages of a type of the router's `messages` definitions, validated by its `payload`
   * schema; a request's reply is what the handler returns (typed by the `reply` schema).
   */
  on<Type extends ClientType<Definitions>>(
    type: Type,
    handler: (
      ws: VerbSocket<Data>,
      data: ServerReceives<Definitions, Type>,
      request?: IncomingRequest,
    ) => Answer<ReplyInput<Definitions, Type>>,
  ): this;
  /** Handles messages of `type`, validated by `schema`; the handler gets the schema's output type. */
  on<Type extends string, Schema extends StandardSchemaV1>(
    type: Type,
    schema: Schema,
    handler: (ws: VerbSocket<Data>, data: InferOutput<Schema>, request?: IncomingRequest) => unknown,
  ): this;
  /** Handles messages of `type`, unvalidated (unless the router's `messages` define it). */
  on<Type extends string>(
    type: Type,
    handler: (ws: VerbSocket<Data>, data: TypedMessage<Type>, request?: IncomingRequest) => unknown,
  ): this;
  on(
    type: string,
    schemaOrHandler: StandardSchemaV1 | ((ws: VerbSocket<Data>, data: never, request?: IncomingRequest) => unknown),
    maybeHandler?: (ws: VerbSocket<Data>, data: never, request?: IncomingRequest) => unknown,
  ): this {
    if (typeof type !== "string" || type.length === 0) throw new TypeError("A message type must be a non-empty string");
    if (this.#routes.has(type)) throw new TypeError(`Message type "${type}" already has a handler`);
    const schema =
      typeof schemaOrHandler === "function" ? this.#definitions?.client?.[type]?.payload : (schemaOrHandler as StandardSchemaV1);
    const handler = typeof schemaOrHandler === "function" ? schemaOrHandler : maybeHandler;
    if (typeof handler !== "function") throw new TypeError(`The handler of message type "${type}" must be a function`);
    if (schema !== undefined && typeof schema["~standard"]?.validate !== "function") {
      throw new TypeError(`The schema of message type "${type}" is not a Standard Schema (zod, valibot, arktype, ...)`);
    }
    this.#routes.set(type, { schema, handler: handler as Route<Data>["handler"] });
    return this;
  }

  /** Handles binary messages whose first byte is `typeByte`; the handler gets the rest of the message. */
  binary(typeByte: number, handler: (ws: VerbSocket<Data>, payload: Buffer, request?: IncomingRequest) => unknown): this {
    if (!Number.isInteger(typeByte) || typeByte < 0 || typeByte > 255)
      throw new RangeError("A binary message type is a byte: 0-255");
    if (this.#binary.has(typeByte)) throw new TypeError(`Binary message type ${typeByte} already has a handler`);
    this.#binary.set(typeByte, handler);
    return this;
  }

  /** Whether a message type has a handler. */
  handles(type: string): boolean {
    return this.#routes.has(type);
  }

  /**
   * The `message` hook: parse, dispatch, validate, run; error replies for every failure. For a
   * request (`request`, from a session client) the handler's return value is the reply and every
   * failure answers the request instead of sending an error message.
   */
  readonly handle = (ws: VerbSocket<Data>, message: Message, request?: IncomingRequest): unknown => {
    const socket = ws as VerbSocket<unknown>;
    const requireAuth = this.#requireAuth;
    if (requireAuth !== undefined && requireAuth !== false) {
      const allowed = requireAuth === true ? (ws.data as { user?: unknown } | undefined)?.user !== undefined : requireAuth(ws);
      if (!allowed) return reply(socket, { type: "error", message: "Authentication required" }, request);
    }
    if (typeof message !== "string") return this.#dispatchBinary(ws, message, request);
    let data: unknown;
    try {
      data = JSON.parse(message);
    } catch {
      return reply(socket, { type: "error", message: "Invalid message format" }, request);
    }
    if (
      typeof data !== "object" ||
      data === null ||
      Array.isArray(data) ||
      typeof (data as { type?: unknown }).type !== "string"
    ) {
      return reply(socket, { type: "error", message: "Invalid message format" }, request);
    }
    const type = (data as { type: string }).type;
    const route = this.#routes.get(type);
    if (route === undefined) return reply(socket, { type: "error", message: `Unknown message type: ${type}` }, request);
    if (this.#limits !== undefined && this.#overLimit(socket, type, request)) return;
    if (route.schema === undefined) return this.#run(ws, type, route, data, request);
    const result = route.schema["~standard"].validate(data);
    if (isThenable(result)) return result.then((settled) => this.#validated(ws, type, route, settled, request));
    return this.#validated(ws, type, route, result, request);
  };

  /** Whether a message of `type` exceeds its rate limit (then the error reply is already sent). */
  #overLimit(ws: VerbSocket<unknown>, type: string, request: IncomingRequest | undefined): boolean {
    const limit = (this.#limits as Map<string, { capacity: number; ratePerMs: number }>).get(type);
    if (limit === undefined) return false;
    let buckets = this.#buckets.get(ws);
    if (buckets === undefined) {
      buckets = new Map();
      this.#buckets.set(ws, buckets);
    }
    const now = Date.now();
    let bucket = buckets.get(type);
    if (bucket === undefined) {
      bucket = new TokenBucket(limit.capacity, limit.ratePerMs, now);
      buckets.set(type, bucket);
    }
    if (bucket.take(now)) return false;
    const counters = (ws as Partial<ServerSocket<unknown, unknown>>).runtime?.counters;
    if (counters !== undefined) counters.rateLimited++;
    reply(ws, { type: "error", message: `Rate limit exceeded for ${type}`, retryAfterMs: bucket.waitMs(now) }, request);
    return true;
  }

  #validated(
    ws: VerbSocket<Data>,
    type: string,
    route: Route<Data>,
    result: SchemaResult<unknown>,
    request: IncomingRequest | undefined,
  ): unknown {
    if (result.issues !== undefined) {
      const issues = result.issues.map((issue) => ({ path: issuePath(issue), message: issue.message }));
      const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
      return reply(ws as VerbSocket<unknown>, { type: "error", message: `Invalid ${type} message: ${summary}`, issues }, request);
    }
    return this.#run(ws, type, route, result.value, request);
  }

  #run(ws: VerbSocket<Data>, type: string, route: Route<Data>, data: unknown, request: IncomingRequest | undefined): unknown {
    return runHandler(ws as VerbSocket<unknown>, route.handler as Handler, data, type, request);
  }

  #dispatchBinary(ws: VerbSocket<Data>, message: Buffer, request: IncomingRequest | undefined): unknown {
    const handler = message.length > 0 ? this.#binary.get(message[0] as number) : undefined;
    if (handler === undefined) {
      const kind = message.length > 0 ? String(message[0]) : "(empty)";
      return reply(ws as VerbSocket<unknown>, { type: "error", message: `Unknown binary message type: ${kind}` }, request);
    }
    return runHandler(ws as VerbSocket<unknown>, handler as Handler, message.subarray(1), message[0] as number, request);
  }
}

/** Creates a message router; with `messages` (shared with the client), typed from those definitions. */
export function createMessageRouter<
  Data = Record<string, unknown>,
  const Definitions extends MessageDefinitions = MessageDefinitions,
>(options?: MessageRouterOptions<Data> & { messages?: Definitions }): MessageRouter<Data, Definitions> {
  return new MessageRouter<Data, Definitions>(options);
}
