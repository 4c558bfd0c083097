// Verb on the adapter named by VERB_ADAPTER (bun, node or uws): echo, /sub subscribes to the topic,
// /pub messages go out through app.publish. With REDIS_URL, a Redis backplane joins the instances
// (cross-instance fan-out: bench/cluster.mjs); VERB_DELIVERY=durable makes it Redis Streams.
import { createServer } from "@verb/core";
import { HOST, MAX_PAYLOAD, PORT, ready, reportError, TOPIC } from "./common.mjs";

const app = createServer();
const url = process.env.REDIS_URL;
if (url) {
  const { redisBackplane } = await import("@verb/redis");
  const delivery = process.env.VERB_DELIVERY ?? "pubsub";
  app.withOptions({ backplane: redisBackplane({ url, delivery, prefix: process.env.BENCH_PREFIX ?? "verb:" }) });
}
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
ready(server.port, { adapter: server.adapter, core: import.meta.resolve("@verb/core"), backplane: Boolean(url) });
