// crossws on Node.js + ws: echo, /sub subscribes to the topic, /pub messages go out through the
// adapter's server-wide publish.
import http from "node:http";
import crossws from "crossws/adapters/node";
import { crosswsHooks, HOST, MAX_PAYLOAD, PORT, ready } from "./common.mjs";

const ws = crossws({
  idleTimeout: 0,
  serverOptions: { maxPayload: MAX_PAYLOAD, perMessageDeflate: false },
  hooks: crosswsHooks((topic, data) => ws.publish(topic, data)),
});

const server = http.createServer((_req, res) => {
  res.writeHead(426).end("Upgrade Required");
});
server.on("upgrade", ws.handleUpgrade);
server.listen(PORT, HOST, () => ready(server.address().port));
