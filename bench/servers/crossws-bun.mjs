// crossws on Bun.serve: echo, /sub subscribes to the topic, /pub messages go out through the
// adapter's server-wide publish.
import crossws from "crossws/adapters/bun";
import { crosswsHooks, HOST, MAX_BACKPRESSURE, MAX_PAYLOAD, PORT, ready } from "./common.mjs";

const ws = crossws({
  idleTimeout: 0,
  hooks: crosswsHooks((topic, data) => ws.publish(topic, data)),
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
