// The spec's "Basic WebSocket Server", unchanged but for the import and an overridable port.
// Run: bun examples/basic-websocket.ts · node examples/dist/basic-websocket.js · VERB_ADAPTER=uws node examples/dist/basic-websocket.js
import { createServer, ServerProtocol } from "@verb/core";

const port = Number(process.env.PORT ?? 3000);

const app = createServer(ServerProtocol.WEBSOCKET);

app.withOptions({
  port,
  websocket: {
    message: (ws, message) => {
      console.log("Received:", message);
      ws.send(`Echo: ${message}`);
    },

    open: (ws) => {
      console.log("Client connected");
      ws.send("Welcome to WebSocket server!");
    },

    close: (ws, code, reason) => {
      console.log(`Client disconnected: ${code} - ${reason}`);
    },
  },
});

app.listen(port);
console.log(`WebSocket server running on ws://localhost:${port}`);
