/**
 * The close-code policy: what the client does when a connection ends, by close code (the table
 * in the README), before the application's `shouldReconnect` has the last word.
 */

import { SESSION_REPLACED_CODE } from "@verb/protocol";

/** Why a connection ended (or could not start), as the client classifies it. */
export type CloseReason =
  /** `client.close()` was called: stop. */
  | "client"
  /** `client.reconnect()`, the page became visible or the network came back: reconnect now. */
  | "reconnect"
  /** 1005/1006/1015 or another code outside the table: the connection failed or dropped. */
  | "lost"
  /** The connect deadline (`connectTimeout`: providers, handshake, welcome) or the heartbeat (`interval + grace`) passed. */
  | "timeout"
  /** The clock jumped between two ticks (the machine slept): the socket is not trusted any more. */
  | "wake"
  /** 1000, 1001, 1012 without a shutdown notice: the server closed, nothing is wrong. */
  | "server"
  /** 1001/1012 after the server's shutdown notice: reconnects spread over its `retryWindowMs`. */
  | "shutdown"
  /** 1013 (try again later). */
  | "overload"
  /** 1011/1014 (server error, bad gateway), or the url/token provider failed. */
  | "error"
  /** Authentication failed: `{"type":"auth","status":"error"}`, 1008 "Authentication failed", 3000, or a 401/403 answer. */
  | "auth"
  /** 1008 for another reason (e.g. an invalid hello), 3003. */
  | "policy"
  /** 1009: a message was too big. */
  | "too-big"
  /** 1003: the server does not take this kind of data. */
  | "unsupported"
  /** 1002, 1007, 1010: the peers disagree on the protocol or the data is invalid. */
  | "protocol"
  /** An application code (3000–4999) not listed above. */
  | "application"
  /** `reconnect.maxRetries` reconnects failed in a row. */
  | "retries"
  /** 3409: another connection (another tab sharing the stored session) resumed this session. */
  | "replaced";

/**
 * What to do about a close: reconnect, stop, or (`"auth"`) reconnect once more with a fresh token
 * (the token provider runs before every attempt) and stop if that one fails too.
 */
export type CloseAction = "reconnect" | "stop" | "auth";

/** What the policy decided for a close. */
export interface CloseVerdict {
  reason: CloseReason;
  action: CloseAction;
}

/** What the client saw on the connection besides its close code. */
export interface CloseContext {
  /** The server said `{"type":"auth","status":"error"}`, or refused the upgrade with 401/403. */
  authFailed: boolean;
  /** The server sent its shutdown notice on this connection. */
  shutdownNotice: boolean;
  /** Application overrides for codes 3000–4999. */
  closeCodes: Readonly<Record<number, CloseAction>> | undefined;
}

/** Classifies a close by the policy table. */
export function classifyClose(code: number, message: string, context: CloseContext): CloseVerdict {
  if (context.authFailed) return { reason: "auth", action: "auth" };
  if (code === SESSION_REPLACED_CODE) return { reason: "replaced", action: "stop" };
  if (code >= 3000 && code <= 4999) {
    const override = context.closeCodes?.[code];
    const reason: CloseReason = code === 3000 ? "auth" : code === 3003 ? "policy" : "application";
    if (override !== undefined) return { reason, action: override };
    return { reason, action: code === 3000 ? "auth" : code === 3003 ? "stop" : "reconnect" };
  }
  switch (code) {
    case 1000:
      return { reason: "server", action: "reconnect" };
    case 1001:
    case 1012:
      return { reason: context.shutdownNotice ? "shutdown" : "server", action: "reconnect" };
    case 1011:
    case 1014:
      return { reason: "error", action: "reconnect" };
    case 1013:
      return { reason: "overload", action: "reconnect" };
    case 1008:
      return { reason: /authenticat/i.test(message) ? "auth" : "policy", action: "auth" };
    case 1009:
      return { reason: "too-big", action: "stop" };
    case 1003:
      return { reason: "unsupported", action: "stop" };
    case 1002:
    case 1007:
    case 1010:
      return { reason: "protocol", action: "stop" };
    default:
      return { reason: "lost", action: "reconnect" };
  }
}
