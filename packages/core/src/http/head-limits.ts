/**
 * Limits on the request head (request line and header fields), the same on every engine. They are
 * fixed, not options: Bun's head deadline and size limit are built in (its size limit only moves
 * with its `--max-http-header-size` flag), so a configurable value could not be honoured everywhere.
 */

import { textResponse } from "./plain-response.js";

/** Seconds a connection has, from its first byte, to complete its request head (slow clients): then it is closed without an answer. */
export const HEAD_TIMEOUT_S = 10;

/** Largest request head, in bytes; larger ones get 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** Most header fields a request may carry (uWebSockets.js cannot parse more); more get 431. */
export const MAX_HEADER_FIELDS = 98;

/** The answer to a request head over a limit: 431, and the connection closes. */
export function headTooLarge(): Response {
  return textResponse(431, "Request Header Fields Too Large", { connection: "close" });
}
