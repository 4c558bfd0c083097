// Socket.IO on uWebSockets.js through attachApp (engine.io's uServer), websocket transport only:
// echo, a room of subscribers and a publisher (common.mjs socketIoHandlers).

import uWS from "uWebSockets.js";
import { Server } from "socket.io";
import { fail, HOST, MAX_BACKPRESSURE, PORT, ready, SOCKET_IO_OPTIONS, socketIoHandlers } from "./common.mjs";

const app = uWS.App();
const io = new Server(SOCKET_IO_OPTIONS);
io.attachApp(app, { compression: uWS.DISABLED, idleTimeout: 0, maxBackpressure: MAX_BACKPRESSURE });
socketIoHandlers(io);
app.listen(HOST, PORT, (token) => {
  if (!token) fail(`uWS could not listen on ${HOST}:${PORT}`);
  ready(uWS.us_socket_local_port(token));
});
