// crossws on Bun.serve: echo, /sub subscribes to the topic, /pub messages go out through the
// adapter's server-wide publish.
import crossws from "crossws/adapters/bun";
import { HOST, MAX_BACKPRESSURE, MAX_PAYLOAD, PORT, ready, reportError, TOPIC } from "./common.mjs";

const ws = crossws({
  idleTimeout: 0,
  hooks: {
    open(peer) {
      if (peer.namespace === "/sub") peer.subscribe(TOPIC);
    },
    message(peer, message) {
      if (peer.namespace === "/pub") ws.publish(TOPIC, message.rawData);
      else peer.send(message.rawData);
    },
    error(_peer, error) {
      reportError(error);
    },
  },
});

const server = globalThis.Bun.serve({
  hostname: HOST,
  port: PORT,
  fetch(req, server) {
    if (req.headers.get("upgrade") === "websocket") return ws.handleUpgrade(req, server);
    return new Response("Upgrade Required", { status: 426 });
  },
  websocket: {
    ...ws.websocket,
    maxPayloadLength: MAX_PAYLOAD,
    backpressureLimit: MAX_BACKPRESSURE,
    sendPings: false,
    perMessageDeflate: false,
  },
});
ready(server.port);
