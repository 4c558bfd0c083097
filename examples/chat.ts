// Chat with rooms (the spec's "Chat Application" and "Message Types & Routing"): join and leave
// notices, the last 20 messages on join, at most 100 kept per room. Guests are welcome: a name
// comes from ?name=, or one is made up. The page at / is a chat on @verb/client (served at
// /verb-client.js): rooms, the history on join, and the connection state; after a reconnect it
// joins its rooms again, and the history fills in what was said meanwhile.
// Run: bun examples/chat.ts · node examples/dist/chat.js · VERB_ADAPTER=uws node examples/dist/chat.js
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
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

const CHAT_PAGE = `<!DOCTYPE html>
<html>
  <head><title>Verb chat</title></head>
  <body>
    <h1>Verb chat</h1>
    <p>Connection: <span id="state">connecting</span> · you are <span id="me">?</span></p>
    <input id="room" placeholder="Room" value="lobby"> <button id="join">Join</button>
    <ul id="messages"></ul>
    <input id="text" placeholder="Say something..."> <button id="send">Send</button>
    <script type="module">
      import { createClient } from "/verb-client.js";
      const url = "ws://" + location.host + "/" + location.search;
      const client = createClient(url);
      const joined = new Set();
      const shown = new Set();
      const $ = (id) => document.getElementById(id);
      const line = (text, id) => {
        if (id !== undefined) {
          if (shown.has(id)) return;
          shown.add(id);
        }
        const item = document.createElement("li");
        item.textContent = text;
        $("messages").append(item);
      };
      let me = "";
      // Our own messages are shown as we send them (the server does not echo them back).
      const say = (m) => m.user !== me && line(m.user + ": " + m.message, m.id);

      client.on("state", (state) => ($("state").textContent = state));
      // Rooms belong to a connection on the server: join them again after every reconnect.
      client.on("open", () => {
        for (const roomId of joined) client.send({ type: "join_room", roomId });
      });
      client.on("message", (m) => {
        if (m.type === "welcome") $("me").textContent = me = m.name;
        else if (m.type === "joined_room") line("joined " + m.roomId);
        else if (m.type === "message_history") m.messages.forEach(say);
        else if (m.type === "chat") say(m);
        else if (m.type === "user_joined") line(m.user + " joined " + m.roomId);
        else if (m.type === "error") line("error: " + m.message);
      });
      $("join").onclick = () => {
        const roomId = $("room").value;
        joined.add(roomId);
        client.send({ type: "join_room", roomId });
      };
      $("send").onclick = () => {
        const message = $("text").value;
        const roomId = [...joined].at(-1);
        if (!message || roomId === undefined) return;
        client.send({ type: "chat", roomId, message });
        line("me: " + message);
        $("text").value = "";
      };
    </script>
  </body>
</html>`;

// The client's one-file ES module build, for <script type="module"> without a bundler.
const clientBundle = fileURLToPath(import.meta.resolve("@verb/client/browser"));
app.get("/verb-client.js", (_req, res) => res.sendFile(clientBundle));
app.get("/", (_req, res) => res.html(CHAT_PAGE));

const server = await app.listen(port);
console.log(`Chat on ${server.url.replace("http", "ws")} (adapter: ${server.adapter})`);
