// Binary messages (the spec's "Binary Message Handling"): the first byte says what follows —
// 1 a file upload, 2 audio, 3 video. Uploads are written under UPLOAD_DIR (./uploads) with a
// name the server makes up: nothing the client sends ever becomes a path.
// Run: bun examples/binary.ts · node examples/dist/binary.js · VERB_ADAPTER=uws node examples/dist/binary.js
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createMessageRouter, createServer } from "@verb/core";

const port = Number(process.env.PORT ?? 3000);
const uploadDir = resolve(process.env.UPLOAD_DIR ?? "./uploads");
await mkdir(uploadDir, { recursive: true });

const app = createServer();

const router = createMessageRouter()
  .binary(1, async (ws, data) => {
    const filename = `upload_${Date.now()}_${randomUUID()}`;
    await writeFile(join(uploadDir, filename), data);
    ws.send(JSON.stringify({ type: "file_uploaded", filename, size: data.length }));
  })
  .binary(2, (ws, data) => ws.send(JSON.stringify({ type: "audio_received", size: data.length })))
  .binary(3, (ws, data) => ws.send(JSON.stringify({ type: "video_received", size: data.length })));

app.withOptions({
  port,
  websocket: {
    maxPayloadLength: 8 * 1024 * 1024,
    message: (ws, message) => {
      if (message instanceof Buffer) {
        // Handle binary data
        return router.handle(ws, message);
      }
      // Handle text data
      ws.send(JSON.stringify({ type: "text_received", text: message }));
    },
  },
});

const server = await app.listen(port);
console.log(`Binary messages on ${server.url.replace("http", "ws")}, uploads in ${uploadDir} (adapter: ${server.adapter})`);
