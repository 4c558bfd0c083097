/**
 * The Standard Schema interface (https://standardschema.dev): what zod, valibot, arktype and
 * others implement, so message payloads can be validated with any of them. Structural types only.
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

/** A schema of any Standard Schema library. */
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
