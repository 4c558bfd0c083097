// Chat with rooms (the spec's "Chat Application" and "Message Types & Routing"): join and leave
// notices, the last 20 messages on join, at most 100 kept per room. Guests are welcome: a name
// comes from ?name=, or one is made up.
// Run: bun examples/chat.ts · node examples/dist/chat.js · VERB_ADAPTER=uws node examples/dist/chat.js
import { randomUUID } from "node:crypto";
import { createMessageRouter, createServer } from "@verb/core";
import { z } from "zod";
import { ChatHistory } from "./shared/chat-history.js";

type Data = { id: string; name: string };
type ChatMessage = { type: "chat"; id: string; roomId: string; user: string; message: string; timestamp: string };

const port = Number(process.env.PORT ?? 3000);
const app = createServer<Data>();
const history = new ChatHistory<ChatMessage>(100);
let guests = 0;

const room = z.object({ roomId: z.string().min(1) });

const router = createMessageRouter<Data>()
  .on("join_room", room, (ws, { roomId }) => {
    app.clients.joinRoom(ws.data.id, roomId);
    ws.send(JSON.stringify({ type: "joined_room", roomId }));
    ws.send(JSON.stringify({ type: "message_history", roomId, messages: history.recent(roomId, 20) }));
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
    const chat: ChatMessage = {
      type: "chat",
      id: randomUUID(),
      roomId,
      user: ws.data.name,
      message,
      timestamp: new Date().toISOString(),
    };
    history.add(roomId, chat);
    app.clients.broadcastToRoom(roomId, JSON.stringify(chat), ws.data.id);
  });

app.withOptions({
  port,
  websocket: {
    open: (ws) => {
      const id = randomUUID();
      ws.data = { id, name: ws.request.query.name ?? `guest-${++guests}` };
      app.clients.addClient(ws, id, { name: ws.data.name });
      ws.send(JSON.stringify({ type: "welcome", id, name: ws.data.name }));
    },
    message: router.handle,
  },
});

app.get("/rooms/:roomId", (req, res) => {
  const roomId = req.params.roomId ?? "";
  res.json({ roomId, members: app.clients.roomMembers(roomId).length, messages: history.size(roomId) });
});

const server = await app.listen(port);
console.log(`Chat on ${server.url.replace("http", "ws")} (adapter: ${server.adapter})`);
