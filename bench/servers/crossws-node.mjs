// crossws on Node.js + ws: echo, /sub subscribes to the topic, /pub messages go out through the
// adapter's server-wide publish.
import http from "node:http";
import crossws from "crossws/adapters/node";
import { HOST, MAX_PAYLOAD, PORT, ready, reportError, TOPIC } from "./common.mjs";

const ws = crossws({
  idleTimeout: 0,
  serverOptions: { maxPayload: MAX_PAYLOAD, perMessageDeflate: false },
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

const server = http.createServer((_req, res) => {
  res.writeHead(426).end("Upgrade Required");
});
server.on("upgrade", ws.handleUpgrade);
server.listen(PORT, HOST, () => ready(server.address().port));
