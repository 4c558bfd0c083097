/**
 * Request bodies: read completely (never hand a half-read body to a handler), bounded by a size
 * limit, then parsed by content type.
 */

import { parseQuery } from "../upgrade-request.js";

/** A body that cannot be accepted; becomes the HTTP answer. */
export class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "BodyError";
    this.status = status;
  }
}

/** Reads a request body up to `limit` bytes; throws a 413 {@link BodyError} beyond. */
export async function readBodyBytes(request: Request, limit: number): Promise<Buffer> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new BodyError(413, `Request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let step: { done: boolean; value?: Uint8Array };
    try {
      step = await reader.read();
    } catch (error) {
      throw new BodyError(400, `The request body could not be read: ${(error as Error).message}`);
    }
    if (step.done || step.value === undefined) break;
    total += step.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyError(413, `Request body exceeds the limit of ${limit} bytes`);
    }
    chunks.push(step.value);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Parses a body by its content type: JSON → value, `text/*` → string, URL-encoded form → object,
 * anything else → Buffer. An empty body is `undefined`. Invalid JSON is a 400 {@link BodyError}.
 */
export function parseBody(bytes: Buffer, contentType: string | null): unknown {
  if (bytes.length === 0) return undefined;
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json" || type.endsWith("+json")) {
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch (error) {
      throw new BodyError(400, `Invalid JSON body: ${(error as Error).message}`);
    }
  }
  if (type.startsWith("text/")) return bytes.toString("utf8");
  if (type === "application/x-www-form-urlencoded") return parseQuery(bytes.toString("utf8"));
  return bytes;
}

/** Whether a request may carry a body worth reading. */
export function hasBody(request: Request): boolean {
  if (request.method === "GET" || request.method === "HEAD") return false;
  return request.body !== null;
}
