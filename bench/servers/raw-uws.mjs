// Raw uWebSockets.js: echo on /*, /sub subscribes to the topic, /pub messages go out through app.publish.
import uWS from "uWebSockets.js";
import { fail, HOST, MAX_BACKPRESSURE, MAX_PAYLOAD, PORT, ready, TOPIC } from "./common.mjs";

const behavior = {
  compression: uWS.DISABLED,
  maxPayloadLength: MAX_PAYLOAD,
  maxBackpressure: MAX_BACKPRESSURE,
  idleTimeout: 0,
  sendPingsAutomatically: false,
};
const app = uWS.App();
app.ws("/sub", {
  ...behavior,
  open(ws) {
    ws.subscribe(TOPIC);
  },
});
app.ws("/pub", {
  ...behavior,
  message(_ws, message, isBinary) {
    app.publish(TOPIC, message, isBinary);
  },
});
app.ws("/*", {
  ...behavior,
  message(ws, message, isBinary) {
    ws.send(message, isBinary);
  },
});
app.listen(HOST, PORT, (token) => {
  if (!token) fail(`uWS could not listen on ${HOST}:${PORT}`);
  ready(uWS.us_socket_local_port(token));
});
