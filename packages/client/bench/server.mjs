// The benchmark's server (a separate process): publishes `count` messages to topic "t" when a client
// says "go <count>", in batches, so both kinds of client are fed the same way.
import { createServer } from "@verb/core";

const payload = JSON.stringify({ type: "price", symbol: "VERB", bid: 101.25, ask: 101.5, at: 0 });
const app = createServer().withOptions({
  adapter: "node",
  websocket: {
    idleTimeout: 0,
    authorizeSubscribe: () => true,
    open: (ws) => {
      if (ws.protocol === "") ws.subscribe("t");
    },
    message: (_ws, message) => {
      const count = Number(String(message).split(" ")[1]);
      let sent = 0;
      const batch = () => {
        for (let i = 0; i < 2000 && sent < count; i++, sent++) app.publish("t", payload);
        if (sent < count) setImmediate(batch);
      };
      batch();
    },
  },
});
const handle = await app.listen(0, "127.0.0.1");
console.log(`port ${handle.port}`);
