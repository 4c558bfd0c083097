/**
 * The real-time side of the fixture: client registry, rooms, typed message routing, authentication
 * with every token carrier and both failure styles, per-user delivery. Written against @verb/core only.
 */

import { createMessageRouter, type MessageRouter, type StandardSchemaV1, type VerbApp, type VerbSocket } from "@verb/core";

export interface User {
  id: string;
  name: string;
}

export type RealtimeData = { user?: User; clientId?: string };
type Ws = VerbSocket<RealtimeData>;

const USERS: Record<string, User> = {
  "tok-alice": { id: "alice", name: "Alice" },
  "tok-bob": { id: "bob", name: "Bob" },
  "tok-carol": { id: "carol", name: "Carol" },
  "tok-dave": { id: "dave", name: "Dave" },
};

type Recorder = (id: string, event: { type: string; [key: string]: unknown }) => void;

/** Token check: "slow-" tokens answer after a real timer (recorded under `verify:<token>`); unknown tokens are invalid. */
function tokenVerifier(record: Recorder): (token: string) => Promise<User | null> {
  return async (token) => {
    if (token.startsWith("slow-")) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      record(`verify:${token}`, { type: "verified" });
      return USERS[token.slice(5)] ?? null;
    }
    return USERS[token] ?? null;
  };
}

type Shape = Record<string, "string" | "integer" | "string[]">;

/** A minimal Standard Schema: an object with typed fields (what zod or valibot would give). */
function objectSchema<Output>(shape: Shape): StandardSchemaV1<unknown, Output> {
  return {
    "~standard": {
      version: 1,
      vendor: "verb-conformance",
      validate(value) {
        const issues: { message: string; path: PropertyKey[] }[] = [];
        const record = value as Record<string, unknown>;
        for (const [key, type] of Object.entries(shape)) {
          const field = record[key];
          if (field === undefined) issues.push({ message: "Required", path: [key] });
          else if (type === "string" && typeof field !== "string") issues.push({ message: "Expected string", path: [key] });
          else if (type === "integer" && !Number.isInteger(field)) issues.push({ message: "Expected integer", path: [key] });
          else if (type === "string[]") {
            if (!Array.isArray(field)) issues.push({ message: "Expected array", path: [key] });
            else {
              for (const [i, item] of field.entries()) {
                if (typeof item !== "string") issues.push({ message: "Expected string", path: [key, i] });
              }
            }
          }
        }
        return issues.length > 0 ? { issues } : { value: value as Output };
      },
    },
  };
}

const chatSchema = objectSchema<{ type: "chat"; roomId: string; message: string }>({ roomId: "string", message: "string" });
const strictSchema = objectSchema<{ type: "strict"; n: number; tags: string[] }>({ n: "integer", tags: "string[]" });

function clientIdOf(ws: Ws): string {
  return ws.data.clientId ?? "";
}

function nameOf(ws: Ws): string {
  return ws.data.user?.name ?? clientIdOf(ws);
}

function buildRouter(app: VerbApp<RealtimeData>, requireAuth: boolean): MessageRouter<RealtimeData> {
  const send = (ws: Ws, value: unknown) => ws.send(JSON.stringify(value));
  return createMessageRouter<RealtimeData>({ requireAuth, rateLimits: { limited: { messages: 2, per: 1 } } })
    .on("join_room", (ws, data) => {
      const roomId = String(data.roomId);
      app.clients.joinRoom(clientIdOf(ws), roomId);
      send(ws, { type: "joined_room", roomId });
      app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_joined", user: nameOf(ws), roomId }), clientIdOf(ws));
    })
    .on("leave_room", (ws, data) => {
      const roomId = String(data.roomId);
      app.clients.leaveRoom(clientIdOf(ws), roomId);
      send(ws, { type: "left_room", roomId });
      app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_left", user: nameOf(ws), roomId }));
    })
    .on("chat", chatSchema, (ws, data) => {
      app.clients.broadcastToRoom(
        data.roomId,
        JSON.stringify({ type: "chat", user: nameOf(ws), message: data.message }),
        clientIdOf(ws),
      );
    })
    .on("private_message", (ws, data) => {
      const target = String(data.targetUserId);
      if (!app.users.isOnline(target)) return send(ws, { type: "error", message: "User not found or offline" });
      app.users.send(target, JSON.stringify({ type: "private_message", from: nameOf(ws), message: data.message }));
    })
    .on("broadcast", (ws, data) => {
      app.clients.broadcast(JSON.stringify({ type: "broadcast", from: nameOf(ws), message: data.message }), clientIdOf(ws));
    })
    .on("whoami", (ws) => {
      send(ws, {
        type: "whoami",
        user: ws.data.user ?? null,
        clientId: clientIdOf(ws),
        protocol: ws.protocol,
        rooms: app.clients.roomsOf(clientIdOf(ws)),
      });
    })
    .on("limited", (ws) => send(ws, { type: "limited_ok" }))
    .on("strict", strictSchema, (ws, data) => send(ws, { type: "strict_ok", n: data.n, tags: data.tags }))
    .on("fail", () => {
      throw new Error("handler failure");
    })
    .on("fail_async", async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error("async handler failure");
    })
    .binary(1, (ws, payload) => send(ws, { type: "binary", kind: 1, size: payload.length, first: payload[0] ?? null }));
}

/** Registers the socket: authenticated users by user id, others by the `client` query parameter. */
function register(app: VerbApp<RealtimeData>, ws: Ws): void {
  const clientId = ws.data.user?.id ?? ws.request.query.client;
  if (clientId === undefined) return;
  ws.data.clientId = clientId;
  app.clients.addClient(ws, clientId, { name: ws.data.user?.name ?? clientId, via: ws.request.path });
}

/** Adds the real-time features to `app`; `record` receives error-hook reports per client id. */
export function realtimeRoutes(app: VerbApp<RealtimeData>, record: Recorder): void {
  const verifyToken = tokenVerifier(record);
  const open = (ws: Ws) => register(app, ws);
  const error = (ws: Ws, failure: Error) => record(`rt:${clientIdOf(ws)}`, { type: "error", message: failure.message });
  // A check's `trace` query parameter: how the server saw the connection close, for its failure report.
  const close = (ws: Ws, code: number, reason: string) => {
    const trace = ws.request.query.trace;
    if (trace !== undefined) record(`trace:${trace}`, { type: "close", code, reason, bufferedAmount: ws.bufferedAmount });
  };
  app.withOptions({
    websocket: {
      auth: { verifyToken, optional: true },
      open,
      close,
      error,
      message: buildRouter(app, false).handle,
    },
  });
  app.ws("/auth/reject", { auth: { verifyToken }, open, close, error, message: buildRouter(app, false).handle });
  app.ws("/auth/close", {
    auth: { verifyToken, onFailure: "close" },
    open,
    close,
    error,
    message: buildRouter(app, false).handle,
  });
  app.ws("/auth/required", { auth: { verifyToken, optional: true }, open, close, error, message: buildRouter(app, true).handle });

  app.get("/registry", (_req, res) => {
    const rooms: Record<string, string[]> = {};
    for (const room of app.clients.rooms()) rooms[room] = app.clients.roomMembers(room).sort();
    res.json({
      count: app.clients.count,
      clients: app.clients.getAllClients().map(([id, client]) => ({
        id,
        metadata: client.metadata,
        connectedAt: client.connectedAt.toISOString(),
        lastActivity: client.lastActivity.toISOString(),
        open: client.socket.readyState === 1,
      })),
      rooms,
      online: app.users.online().sort(),
    });
  });
  app.post("/notify/:userId", (req, res) => {
    const delivered = app.users.send(req.params.userId ?? "", JSON.stringify({ type: "notification", ...(req.body as object) }));
    res.json({ delivered });
  });
}
