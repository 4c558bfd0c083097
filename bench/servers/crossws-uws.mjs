// crossws on uWebSockets.js: echo, /sub subscribes to the topic, /pub messages go out through the
// adapter's server-wide publish.

import uWS from "uWebSockets.js";
import crossws from "crossws/adapters/uws";
import { crosswsHooks, fail, HOST, MAX_BACKPRESSURE, MAX_PAYLOAD, PORT, ready } from "./common.mjs";

const ws = crossws({
  idleTimeout: 0,
  uws: {
    compression: uWS.DISABLED,
    maxPayloadLength: MAX_PAYLOAD,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 0,
    sendPingsAutomatically: false,
  },
  hooks: crosswsHooks((topic, data) => ws.publish(topic, data)),
});

const app = uWS.App();
app.ws("/*", ws.websocket);
app.any("/*", (res) => {
  res.writeStatus("426 Upgrade Required").end("Upgrade Required");
});
app.listen(HOST, PORT, (token) => {
  if (!token) fail(`uWS could not listen on ${HOST}:${PORT}`);
  ready(uWS.us_socket_local_port(token));
});
