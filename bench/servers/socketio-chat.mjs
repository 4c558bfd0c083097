// The spec's chat on Socket.IO, the same application as verb-chat.mjs written the Socket.IO way:
// events instead of typed messages (validated with the same zod schemas), Socket.IO rooms, the last
// 20 messages on join. On Node's http server, or on uWebSockets.js (attachApp) with
// SOCKET_IO_ENGINE=uws; websocket transport only.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { Server } from "socket.io";
import { z } from "zod";
import { fail, HOST, MAX_BACKPRESSURE, PORT, RoomHistory, ready, reportError, SOCKET_IO_OPTIONS } from "./common.mjs";

const history = new RoomHistory();
let guests = 0;
const room = z.object({ roomId: z.string().min(1) });
const chatMessage = z.object({ roomId: z.string().min(1), message: z.string().min(1).max(2000) });

function onConnection(io, socket) {
  socket.data.name = `guest-${++guests}`;
  const valid = (schema, payload) => {
    const result = schema.safeParse(payload);
    if (!result.success) socket.emit("error_reply", { message: "Invalid payload" });
    return result.success ? result.data : null;
  };
  socket.on("join_room", (payload) => {
    const data = valid(room, payload);
    if (data === null) return;
    socket.join(data.roomId);
    socket.emit("joined_room", { roomId: data.roomId });
    socket.emit("message_history", { roomId: data.roomId, messages: history.recent(data.roomId) });
    socket.to(data.roomId).emit("user_joined", { user: socket.data.name, roomId: data.roomId });
  });
  socket.on("leave_room", (payload) => {
    const data = valid(room, payload);
    if (data === null) return;
    socket.leave(data.roomId);
    socket.emit("left_room", { roomId: data.roomId });
    io.to(data.roomId).emit("user_left", { user: socket.data.name, roomId: data.roomId });
  });
  socket.on("chat", (payload) => {
    const data = valid(chatMessage, payload);
    if (data === null) return;
    if (!socket.rooms.has(data.roomId)) {
      socket.emit("error_reply", { message: `Join ${data.roomId} first` });
      return;
    }
    const chat = {
      id: randomUUID(),
      roomId: data.roomId,
      user: socket.data.name,
      message: data.message,
      timestamp: new Date().toISOString(),
    };
    history.add(data.roomId, chat);
    socket.to(data.roomId).emit("chat", chat);
  });
  socket.on("error", reportError);
}

if (process.env.SOCKET_IO_ENGINE === "uws") {
  const { default: uWS } = await import("uWebSockets.js");
  const app = uWS.App();
  const io = new Server(SOCKET_IO_OPTIONS);
  io.attachApp(app, { compression: uWS.DISABLED, idleTimeout: 0, maxBackpressure: MAX_BACKPRESSURE });
  io.on("connection", (socket) => onConnection(io, socket));
  app.listen(HOST, PORT, (token) => {
    if (!token) fail(`uWS could not listen on ${HOST}:${PORT}`);
    ready(uWS.us_socket_local_port(token));
  });
} else {
  const server = http.createServer((_req, res) => {
    res.writeHead(426).end("Upgrade Required");
  });
  const io = new Server(server, SOCKET_IO_OPTIONS);
  io.on("connection", (socket) => onConnection(io, socket));
  server.listen(PORT, HOST, () => ready(server.address().port));
}
