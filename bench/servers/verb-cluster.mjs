// Verb with a Redis backplane when REDIS_URL is set (cross-instance fan-out), else alone:
// /sub connections subscribe to the topic, messages on /pub go out through app.publish.
import { createServer } from "@verb/core";
import { redisBackplane } from "@verb/redis";
import { HOST, MAX_PAYLOAD, PORT, ready, reportError, TOPIC } from "./common.mjs";

const app = createServer();
const url = process.env.REDIS_URL;
app.withOptions({
  ...(url ? { backplane: redisBackplane({ url }) } : {}),
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
ready(server.port, { adapter: server.adapter, backplane: Boolean(url) });
