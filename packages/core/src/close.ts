/**
 * Close codes and reasons: one rule for every adapter.
 *
 * Engines disagree on what `close()` accepts (ws throws on reserved codes and on
 * reasons over 123 bytes, Bun truncates, uWS truncates on the wire but not in its
 * handler). Verb validates and truncates once, here, so the close hook always sees
 * exactly what went on the wire.
 */

/** Close codes Verb uses or reports. Values are RFC 6455 / IANA registry codes. */
export const CloseCode = {
  /** Normal closure; also what `close()` sends without arguments and what `maxLifetime` sends. */
  NORMAL: 1000,
  /** The server is going away (graceful shutdown). */
  GOING_AWAY: 1001,
  /** Protocol error from the peer (reported to the close hook, e.g. an invalid close code received). */
  PROTOCOL_ERROR: 1002,
  /** Unsupported data type. */
  UNSUPPORTED_DATA: 1003,
  /** The peer sent a close frame without a code (reported, never sent). */
  NO_STATUS: 1005,
  /** The connection ended without a close frame: terminate(), TCP drop, idle timeout, backpressure limit (reported, never sent). */
  ABNORMAL: 1006,
  /** A text message that is not valid UTF-8. */
  INVALID_PAYLOAD: 1007,
  /** Policy violation (e.g. authentication failed, rate limit). */
  POLICY_VIOLATION: 1008,
  /** A message over `maxPayloadLength`. */
  MESSAGE_TOO_BIG: 1009,
  /** Internal error on the server. */
  INTERNAL_ERROR: 1011,
  /** The service is restarting. */
  SERVICE_RESTART: 1012,
  /** Try again later (e.g. server overloaded). */
  TRY_AGAIN_LATER: 1013,
  /** A session client's connection whose session a newer connection resumed (Verb protocol). */
  SESSION_REPLACED: 3409,
} as const;

/** Reasons Verb reports to the close hook for closes that carry no reason of their own. */
export const CloseReason = {
  /** 1009: a message over `maxPayloadLength`. */
  MESSAGE_TOO_BIG: "message too big",
  /** 1007: a text message that is not valid UTF-8 (or a compressed message that does not inflate). */
  INVALID_PAYLOAD: "invalid payload",
  /** 1002: another protocol violation by the client. */
  PROTOCOL_ERROR: "protocol error",
  /** 1006: nothing received within `idleTimeout`. */
  IDLE_TIMEOUT: "idle timeout",
  /** 1006: a send over `maxBackpressure` with `closeOnBackpressureLimit`. */
  BACKPRESSURE_LIMIT: "backpressure limit",
  /** 1000: `maxLifetime` reached. */
  LIFETIME: "please reconnect",
  /** 3409: another connection resumed this connection's session. */
  SESSION_REPLACED: "session resumed elsewhere",
  /** 1008 (Node + ws only): a message in more fragments than the adapter lets ws hold. */
  TOO_MANY_FRAGMENTS: "too many fragments",
} as const;

/** The longest close reason, in UTF-8 bytes, that fits a control frame (125 − 2 bytes of code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether `code` may be sent in a close frame: 1000–1003, 1007–1014, 3000–4999.
 * 1004–1006 and 1015 are reserved for reporting and never go on the wire.
 */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/** Throws a RangeError unless `code` may be sent in a close frame. */
export function assertSendableCloseCode(code: number): void {
  if (!isSendableCloseCode(code)) {
    throw new RangeError(
      `Invalid close code ${String(code)}: use 1000-1003, 1007-1014 or 3000-4999 (1004-1006 and 1015 are reserved)`,
    );
  }
}

const encoder = new TextEncoder();
// ignoreBOM: a reason that starts with U+FEFF keeps it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Cuts `reason` to at most 123 UTF-8 bytes without splitting a character.
 * Returns the input unchanged (no allocation) when it already fits.
 */
export function truncateCloseReason(reason: string): string {
  // Every UTF-16 code unit encodes to at most 3 UTF-8 bytes, so short strings always fit.
  if (reason.length * 3 <= MAX_CLOSE_REASON_BYTES) return reason;
  const bytes = encoder.encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}
