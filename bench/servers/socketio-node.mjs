// Socket.IO on Node's http server (engine.io over ws), websocket transport only: echo, a room of
// subscribers and a publisher (common.mjs socketIoHandlers).
import http from "node:http";
import { Server } from "socket.io";
import { HOST, PORT, ready, SOCKET_IO_OPTIONS, socketIoHandlers } from "./common.mjs";

const server = http.createServer((_req, res) => {
  res.writeHead(426).end("Upgrade Required");
});
socketIoHandlers(new Server(server, SOCKET_IO_OPTIONS));
server.listen(PORT, HOST, () => ready(server.address().port));
