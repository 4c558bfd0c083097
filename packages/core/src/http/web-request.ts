/** Web-standard `Request` objects for adapters, built so that no client input can make them throw. */

import { textResponse } from "./plain-response.js";
import { requestUrl } from "./request.js";

/** Methods the Fetch API refuses to represent: answered 405 on every engine (Bun does so natively). */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * The `Request` for an HTTP request an engine received, or the `Response` to answer it with when
 * the Fetch API cannot represent it (405 for CONNECT/TRACE/TRACK, 400 for anything else it
 * refuses). `body` is called only for a request that has one and will be served.
 */
export function toWebRequest(
  method: string,
  hostHeader: string | undefined,
  target: string,
  headers: Headers,
  body: () => ReadableStream<Uint8Array>,
): Request | Response {
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) {
    return textResponse(405, "Method Not Allowed", { allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" });
  }
  const hasBody = method !== "GET" && method !== "HEAD";
  try {
    return new Request(requestUrl(hostHeader, target), {
      method,
      headers,
      body: hasBody ? body() : undefined,
      duplex: "half",
    } as RequestInit);
  } catch {
    return textResponse(400, "Bad Request");
  }
}
