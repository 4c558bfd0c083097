// Verb on the adapter named by VERB_ADAPTER (bun, node or uws): echo, /sub subscribes to the topic,
// /pub messages go out through app.publish.
import { createServer } from "@verb/core";
import { HOST, MAX_PAYLOAD, PORT, ready, reportError, TOPIC } from "./common.mjs";

const app = createServer();
app.withOptions({
  websocket: {
    maxPayloadLength: MAX_PAYLOAD,
    idleTimeout: 0,
    open(ws) {
      if (ws.request.path === "/sub") ws.subscribe(TOPIC);
    },
    message(ws, message) {
      if (ws.request.path === "/pub") app.publish(TOPIC, message);
      else ws.send(message);
    },
    error(_ws, error) {
      reportError(error);
    },
  },
});
const server = await app.listen(PORT, HOST);
ready(server.port, { adapter: server.adapter, core: import.meta.resolve("@verb/core") });
