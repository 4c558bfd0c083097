/**
 * Authentication at the upgrade: the token from `Authorization: Bearer`, the `token` query
 * parameter, or `Sec-WebSocket-Protocol` (browsers cannot set headers), verified by the
 * application; failures refused with 401, or (the spec's style) accepted then told and closed 1008.
 */

import type { UpgradeRequest } from "./upgrade-request.js";

/** How authentication works for a server or a route. */
export interface AuthOptions<User> {
  /** Returns the user for a valid token; `null`/`undefined` or a throw means invalid. May be async. */
  verifyToken: (token: string, request: UpgradeRequest) => User | null | undefined | Promise<User | null | undefined>;
  /**
   * What happens to a client that fails: `"reject"` (default) answers 401 before the upgrade;
   * `"close"` accepts, sends `{"type":"auth","status":"error","message":"Authentication failed"}`
   * and closes with 1008 "Authentication failed" (the spec's style).
   */
  onFailure?: "reject" | "close";
  /** Let clients without any token in (no `ws.data.user`); a bad token still fails. Default false. */
  optional?: boolean;
  /**
   * The marker for the `Sec-WebSocket-Protocol` carrier: the client offers `[marker, token]`
   * (e.g. `new WebSocket(url, ["bearer", token])`) and the server answers the marker. Default "bearer".
   */
  protocol?: string;
  /**
   * Send `{"type":"auth","status":"success","user":...}` when the connection opens. `true` sends
   * the user's `id` and `name`; a function chooses what to send. Default: true with
   * `onFailure: "close"`, false otherwise.
   */
  announce?: boolean | ((user: User) => unknown);
}

/** Where a token came from. */
export type TokenCarrier = "header" | "query" | "protocol";

/** Finds the token of a request: `Authorization: Bearer`, then `?token=`, then the protocol carrier. */
export function extractToken(request: UpgradeRequest, marker: string): { token: string; carrier: TokenCarrier } | undefined {
  const authorization = request.header("authorization");
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return { token: match[1], carrier: "header" };
  }
  const query = request.query.token;
  if (query) return { token: query, carrier: "query" };
  const protocols = request.protocols;
  const index = protocols.indexOf(marker);
  if (index !== -1 && index + 1 < protocols.length) return { token: protocols[index + 1] as string, carrier: "protocol" };
  return undefined;
}

/** The default `announce` payload: the user's `id` and `name` when it has them. */
export function describeUser(user: unknown): unknown {
  if (typeof user !== "object" || user === null) return user;
  const { id, name } = user as { id?: unknown; name?: unknown };
  return { id, name };
}
