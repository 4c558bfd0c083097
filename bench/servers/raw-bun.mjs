// Raw Bun.serve: echo, /sub subscribes to the topic, /pub messages go out through server.publish.
import { HOST, MAX_BACKPRESSURE, MAX_PAYLOAD, PORT, ready, TOPIC } from "./common.mjs";

const server = globalThis.Bun.serve({
  hostname: HOST,
  port: PORT,
  fetch(req, server) {
    const url = req.url;
    const path = url.slice(url.indexOf("/", url.indexOf("://") + 3));
    if (server.upgrade(req, { data: { path } })) return undefined;
    return new Response("Upgrade Required", { status: 426 });
  },
  websocket: {
    maxPayloadLength: MAX_PAYLOAD,
    backpressureLimit: MAX_BACKPRESSURE,
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: false,
    open(ws) {
      if (ws.data.path === "/sub") ws.subscribe(TOPIC);
    },
    message(ws, message) {
      if (ws.data.path === "/pub") server.publish(TOPIC, message);
      else ws.send(message);
    },
  },
});
ready(server.port);
