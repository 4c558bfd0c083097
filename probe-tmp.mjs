import { createServer } from "@verb/core";
import WebSocket from "ws";

const app = createServer().withOptions({
  websocket: {
    message: (ws, m) => {
      const [op, t] = String(m).split(" ");
      if (op === "sub") ws.subscribe(t);
      if (op === "unsub") ws.unsubscribe(t);
      console.log(op, t, "count", app.subscriberCount(t));
      ws.send("ok");
    },
    close: (ws, c) => console.log("close", c, "count a", app.subscriberCount("a")),
  },
});
const s = await app.listen(0, "127.0.0.1");
const open = () =>
  new Promise((r) => {
    const w = new WebSocket(`ws://127.0.0.1:${s.port}`);
    w.on("open", () => r(w));
  });
const next = (w) => new Promise((r) => w.once("message", r));
const a = await open(),
  b = await open(),
  c = await open();
for (const w of [a, b, c]) {
  w.send("sub a");
  await next(w);
}
c.send("sub b");
await next(c);
b.send("unsub a");
await next(b);
console.log("closing c");
c.close(1000);
await new Promise((r) => setTimeout(r, 100));
console.log("count after close", app.subscriberCount("a"), app.subscriberCount("b"));
a.terminate();
await new Promise((r) => setTimeout(r, 100));
console.log("count after terminate", app.subscriberCount("a"));
await s.close();
