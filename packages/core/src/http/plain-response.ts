/** The small plain-text and JSON answers the server gives on its own (404, 405, 413, 426, 503...). */

/** Reason phrases used as default bodies. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A `text/plain` response with an exact Content-Length. */
export function textResponse(status: number, body: string, headers?: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(body)), ...headers },
  });
}

/** A JSON response with an exact Content-Length. */
export function jsonResponse(status: number, value: unknown): Response {
  const body = JSON.stringify(value);
  return new Response(body, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)) },
  });
}
