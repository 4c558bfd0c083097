// The spec's "HTTP + WebSocket Server": an HTML page and a WebSocket on the same port.
// Unchanged but for the import, an overridable port, and the page connecting back to the host
// that served it (the spec hard-codes ws://localhost:3000).
// Run: npm start · bun examples/http-websocket.ts · VERB_ADAPTER=uws node examples/dist/http-websocket.js
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

// HTTP routes
app.get("/", (req, res) => {
  res.html(`
    <!DOCTYPE html>
    <html>
      <head><title>WebSocket Demo</title></head>
      <body>
        <h1>WebSocket Demo</h1>
        <div id="messages"></div>
        <input type="text" id="messageInput" placeholder="Type a message...">
        <button onclick="sendMessage()">Send</button>

        <script>
          const ws = new WebSocket('ws://' + location.host);
          const messages = document.getElementById('messages');

          ws.onmessage = (event) => {
            messages.innerHTML += '<div>' + event.data + '</div>';
          };

          function sendMessage() {
            const input = document.getElementById('messageInput');
            ws.send(input.value);
            input.value = '';
          }
        </script>
      </body>
    </html>
  `);
});

const server = await app.listen(port);
console.log(`HTTP + WebSocket demo on ${server.url} (adapter: ${server.adapter})`);
