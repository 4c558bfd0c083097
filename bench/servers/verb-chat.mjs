// The spec's chat on Verb (as examples/chat.ts, on the adapter named by VERB_ADAPTER): typed JSON
// messages through createMessageRouter with zod schemas, rooms through app.clients, the last 20
// messages on join. Every client gets a welcome; join_room answers joined_room and message_history
// and tells the room; chat goes to the rest of the room with an id and a timestamp.
import { randomUUID } from "node:crypto";
import { createMessageRouter, createServer } from "@verb/core";
import { z } from "zod";
import { HOST, PORT, RoomHistory, ready, reportError } from "./common.mjs";

const app = createServer();
const history = new RoomHistory();
let guests = 0;
const room = z.object({ roomId: z.string().min(1) });

const router = createMessageRouter()
  .on("join_room", room, (ws, { roomId }) => {
    app.clients.joinRoom(ws.data.id, roomId);
    ws.send(JSON.stringify({ type: "joined_room", roomId }));
    ws.send(JSON.stringify({ type: "message_history", roomId, messages: history.recent(roomId) }));
    app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_joined", user: ws.data.name, roomId }), ws.data.id);
  })
  .on("leave_room", room, (ws, { roomId }) => {
    app.clients.leaveRoom(ws.data.id, roomId);
    ws.send(JSON.stringify({ type: "left_room", roomId }));
    app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_left", user: ws.data.name, roomId }));
  })
  .on("chat", z.object({ roomId: z.string().min(1), message: z.string().min(1).max(2000) }), (ws, { roomId, message }) => {
    if (!app.clients.roomsOf(ws.data.id).includes(roomId)) {
      ws.send(JSON.stringify({ type: "error", message: `Join ${roomId} first` }));
      return;
    }
    const chat = { type: "chat", id: randomUUID(), roomId, user: ws.data.name, message, timestamp: new Date().toISOString() };
    history.add(roomId, chat);
    app.clients.broadcastToRoom(roomId, JSON.stringify(chat), ws.data.id);
  });

app.withOptions({
  websocket: {
    idleTimeout: 0,
    open(ws) {
      const id = randomUUID();
      ws.data = { id, name: `guest-${++guests}` };
      app.clients.addClient(ws, id, { name: ws.data.name });
      ws.send(JSON.stringify({ type: "welcome", id, name: ws.data.name }));
    },
    message: router.handle,
    error(_ws, error) {
      reportError(error);
    },
  },
});
const server = await app.listen(PORT, HOST);
ready(server.port, { adapter: server.adapter, core: import.meta.resolve("@verb/core") });
