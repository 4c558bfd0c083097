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

/** After a refusal, this much more of the body is read and discarded (at most this long) before answering. */
const DISCARD_BYTES = 1024 * 1024;
const DISCARD_MS = 1000;

/**
 * Reads and throws away the rest of a refused body, bounded in bytes and time. A server that closes
 * with unread bytes makes the kernel reset the connection, and the client may lose the 413 answer.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let left = DISCARD_BYTES;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), DISCARD_MS);
  });
  try {
    while (left > 0) {
      const step = await Promise.race([reader.read(), expired]);
      if (step === undefined || step.done) break;
      left -= step.value?.byteLength ?? 0;
    }
  } catch {
    // A body that fails now needs no answer of ours beyond the 413.
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

/** Reads a request body up to `limit` bytes; throws a 413 {@link BodyError} beyond. */
export async function readBodyBytes(request: Request, limit: number): Promise<Buffer> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    if (request.body !== null) {
      const reader = request.body.getReader();
      if (Number(declared) - limit <= DISCARD_BYTES) await discardRest(reader);
      else await reader.cancel().catch(() => {});
    }
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
      await discardRest(reader);
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
