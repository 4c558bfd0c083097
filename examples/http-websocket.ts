// The spec's "HTTP + WebSocket Server": an HTML page and a WebSocket on the same port.
// Unchanged but for the import, an overridable port, and the page: it connects back to the host
// that served it (the spec hard-codes ws://localhost:3000) with @verb/client, whose browser bundle
// the app serves at /verb-client.js, and shows the connection state (it reconnects by itself).
// Run: npm start · bun examples/http-websocket.ts · VERB_ADAPTER=uws node examples/dist/http-websocket.js
import { fileURLToPath } from "node:url";
import { createServer } from "@verb/core";

const port = Number(process.env.PORT ?? 3000);

const app = createServer();

app.withOptions({
  port,
  websocket: {
    message: (ws, message) => {
      ws.send(`Server received: ${message}`);
    },
    open: (ws) => {
      ws.send("WebSocket connection established");
    },
  },
});

// The client's one-file ES module build, for <script type="module"> without a bundler.
const clientBundle = fileURLToPath(import.meta.resolve("@verb/client/browser"));
app.get("/verb-client.js", (_req, res) => res.sendFile(clientBundle));

// HTTP routes
app.get("/", (req, res) => {
  res.html(`
    <!DOCTYPE html>
    <html>
      <head><title>WebSocket Demo</title></head>
      <body>
        <h1>WebSocket Demo</h1>
        <p>Connection: <span id="state">connecting</span></p>
        <div id="messages"></div>
        <input type="text" id="messageInput" placeholder="Type a message...">
        <button onclick="sendMessage()">Send</button>

        <script type="module">
          import { createClient } from '/verb-client.js';
          const client = createClient('ws://' + location.host);
          const messages = document.getElementById('messages');

          client.on('state', (state) => {
            document.getElementById('state').textContent = state;
          });
          client.on('message', (message) => {
            const line = document.createElement('div');
            line.textContent = typeof message === 'string' ? message : JSON.stringify(message);
            messages.append(line);
          });

          window.sendMessage = () => {
            const input = document.getElementById('messageInput');
            client.send(input.value);
            input.value = '';
          };
        </script>
      </body>
    </html>
  `);
});

const server = await app.listen(port);
console.log(`HTTP + WebSocket demo on ${server.url} (adapter: ${server.adapter})`);
