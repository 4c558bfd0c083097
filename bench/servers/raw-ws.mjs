// Raw Node.js + ws: echo, /sub joins the subscriber set, /pub messages are sent to every subscriber.
import http from "node:http";
import { WebSocketServer } from "ws";
import { HOST, MAX_PAYLOAD, PORT, ready } from "./common.mjs";

const subscribers = new Set();
const server = http.createServer((_req, res) => {
  res.writeHead(426).end("Upgrade Required");
});
const wss = new WebSocketServer({ server, maxPayload: MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
wss.on("connection", (ws, req) => {
  const path = req.url;
  if (path === "/sub") {
    subscribers.add(ws);
    ws.on("close", () => subscribers.delete(ws));
  } else if (path === "/pub") {
    ws.on("message", (data, isBinary) => {
      for (const subscriber of subscribers) subscriber.send(data, { binary: isBinary });
    });
  } else {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
});
server.listen(PORT, HOST, () => ready(server.address().port));
