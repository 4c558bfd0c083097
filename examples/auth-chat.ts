// Authenticated chat (the spec's "Authentication & Authorization" with its message handlers):
// the token comes from `Authorization: Bearer`, `?token=`, or the subprotocols ["bearer", token];
// a bad token gets {"type":"auth","status":"error"} and close 1008, as in the spec.
// Run: bun examples/auth-chat.ts · node examples/dist/auth-chat.js · VERB_ADAPTER=uws node examples/dist/auth-chat.js
import { randomUUID } from "node:crypto";
import { createMessageRouter, createServer } from "@verb/core";
import { z } from "zod";

interface User {
  id: string;
  name: string;
}
type Data = { user: User };

// A stand-in for a real token check (a database, a JWT library): token → user.
const TOKENS: Record<string, User> = {
  "alice-token": { id: "alice", name: "Alice" },
  "bob-token": { id: "bob", name: "Bob" },
  "carol-token": { id: "carol", name: "Carol" },
};
const verifyToken = async (token: string): Promise<User | null> => TOKENS[token] ?? null;

const port = Number(process.env.PORT ?? 3000);
const app = createServer<Data>();

const router = createMessageRouter<Data>({ requireAuth: true })
  .on("join_room", z.object({ roomId: z.string().min(1) }), (ws, { roomId }) => {
    app.clients.joinRoom(ws.data.user.id, roomId);
    ws.send(JSON.stringify({ type: "joined_room", roomId }));
    app.clients.broadcastToRoom(
      roomId,
      JSON.stringify({ type: "user_joined", user: ws.data.user.name, roomId }),
      ws.data.user.id,
    );
  })
  .on("leave_room", z.object({ roomId: z.string().min(1) }), (ws, { roomId }) => {
    app.clients.leaveRoom(ws.data.user.id, roomId);
    app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_left", user: ws.data.user.name, roomId }));
  })
  .on("chat", z.object({ roomId: z.string().min(1), message: z.string().min(1) }), (ws, { roomId, message }) => {
    const chat = { type: "chat", id: randomUUID(), user: ws.data.user.name, message, timestamp: new Date().toISOString() };
    app.clients.broadcastToRoom(roomId, JSON.stringify(chat), ws.data.user.id);
  })
  .on("private_message", z.object({ targetUserId: z.string(), message: z.string().min(1) }), (ws, { targetUserId, message }) => {
    if (!app.users.isOnline(targetUserId)) {
      ws.send(JSON.stringify({ type: "error", message: "User not found or offline" }));
      return;
    }
    app.users.send(
      targetUserId,
      JSON.stringify({ type: "private_message", from: ws.data.user.name, message, timestamp: new Date().toISOString() }),
    );
  });

app.withOptions({
  port,
  websocket: {
    auth: { verifyToken, onFailure: "close" },
    open: (ws) => {
      app.clients.addClient(ws, ws.data.user.id, { user: ws.data.user });
    },
    message: router.handle,
  },
});

const server = await app.listen(port);
console.log(`Authenticated chat on ${server.url.replace("http", "ws")} (adapter: ${server.adapter})`);
