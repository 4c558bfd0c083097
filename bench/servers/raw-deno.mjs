// Raw Deno.serve + Deno.upgradeWebSocket: echo, /sub joins the subscriber set, /pub messages are sent
// to every subscriber (Deno has no server-wide publish). Deno's own idle timeout is off, as the
// other engines' are.
import { HOST, PORT, ready } from "./common.mjs";

const subscribers = new Set();
const server = globalThis.Deno.serve({ hostname: HOST, port: PORT, onListen() {} }, (req) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("Upgrade Required", { status: 426 });
  const url = req.url;
  const path = url.slice(url.indexOf("/", url.indexOf("://") + 3));
  const { socket, response } = globalThis.Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  socket.binaryType = "arraybuffer";
  if (path === "/sub") {
    socket.onopen = () => subscribers.add(socket);
    socket.onclose = () => subscribers.delete(socket);
  } else if (path === "/pub") {
    socket.onmessage = (event) => {
      for (const subscriber of subscribers) subscriber.send(event.data);
    };
  } else {
    socket.onmessage = (event) => socket.send(event.data);
  }
  return response;
});
ready(server.addr.port);
