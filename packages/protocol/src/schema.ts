/**
 * One module of message definitions for both sides: the server's `createMessageRouter({ messages })`
 * and the client's `createClient(url, { messages })` import the same object, so payloads and
 * replies are typed on both, and each side validates what it receives. Schemas are any Standard
 * Schema (zod, valibot, arktype); these are structural types only.
 */

/** One validation problem. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** A validation outcome: the value, or issues. */
export type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<SchemaIssue> };

/** A schema of any Standard Schema library (https://standardschema.dev). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The type a schema produces. */
export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["output"];

/** The type a schema accepts. */
export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["input"];

/**
 * A client → server message type: the schema of its fields (the message is `{ type, ...fields }`)
 * and, for requests, the schema of the reply.
 */
export interface ClientMessage {
  readonly payload?: StandardSchemaV1;
  readonly reply?: StandardSchemaV1;
}

/** Message definitions shared by server and client. */
export interface MessageDefinitions {
  /** What clients send (and request), by `type`. */
  readonly client?: { readonly [type: string]: ClientMessage };
  /** What the server sends, by `type` (validated by the client on receipt). */
  readonly server?: { readonly [type: string]: StandardSchemaV1 };
}

/** Declares message definitions (returns them as they are, with their exact types). */
export function defineMessages<const Definitions extends MessageDefinitions>(definitions: Definitions): Definitions {
  return definitions;
}

type ClientMessages<D extends MessageDefinitions> = NonNullable<D["client"]>;
type ServerMessages<D extends MessageDefinitions> = NonNullable<D["server"]>;

/** The client message types of `D`. */
export type ClientType<D extends MessageDefinitions> = keyof ClientMessages<D> & string;

/** What a client passes for a message of `Type` (the fields besides `type`). */
export type ClientPayload<D extends MessageDefinitions, Type extends ClientType<D>> = ClientMessages<D>[Type] extends {
  readonly payload: infer Schema extends StandardSchemaV1;
}
  ? InferInput<Schema>
  : Record<string, unknown>;

/** What a server handler receives for a message of `Type` (validated). */
export type ServerReceives<D extends MessageDefinitions, Type extends ClientType<D>> = ClientMessages<D>[Type] extends {
  readonly payload: infer Schema extends StandardSchemaV1;
}
  ? InferOutput<Schema>
  : { type: Type } & Record<string, unknown>;

/** The reply to a request of `Type`, as the client receives it. */
export type ReplyOf<D extends MessageDefinitions, Type extends ClientType<D>> = ClientMessages<D>[Type] extends {
  readonly reply: infer Schema extends StandardSchemaV1;
}
  ? InferOutput<Schema>
  : unknown;

/** What a server handler of `Type` may return to answer a request. */
export type ReplyInput<D extends MessageDefinitions, Type extends ClientType<D>> = ClientMessages<D>[Type] extends {
  readonly reply: infer Schema extends StandardSchemaV1;
}
  ? InferInput<Schema>
  : unknown;

/** A message the server sends, as the client receives it: `{ type, ...fields }` for each declared type. */
export type ServerMessage<D extends MessageDefinitions> = {
  [Type in keyof ServerMessages<D> & string]: { type: Type } & InferOutput<ServerMessages<D>[Type]>;
}[keyof ServerMessages<D> & string];

/** `a.b[0]`-style path of an issue, or `""` for the root. */
export function issuePath(issue: SchemaIssue): string {
  if (issue.path === undefined || issue.path.length === 0) return "";
  let path = "";
  for (const segment of issue.path) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") path += `[${key}]`;
    else path += path.length === 0 ? String(key) : `.${String(key)}`;
  }
  return path;
}
