// Chat across instances behind one Redis: run two (or more) of these on different ports, in any
// runtime, and clients of each see the same rooms. Private messages find a user on any instance.
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3001 node examples/dist/cluster.js
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3002 bun examples/cluster.ts
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3003 VERB_ADAPTER=uws node examples/dist/cluster.js
import { randomUUID } from "node:crypto";
import { createMessageRouter, createServer } from "@verb/core";
import { RedisOfflineStore, redisBackplane } from "@verb/redis";
import { z } from "zod";

type Data = { id: string; name: string };

const port = Number(process.env.PORT ?? 3000);
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const app = createServer<Data>();

const router = createMessageRouter<Data>()
  .on("join_room", z.object({ roomId: z.string().min(1) }), (ws, { roomId }) => {
    app.clients.joinRoom(ws.data.id, roomId);
    ws.send(JSON.stringify({ type: "joined_room", roomId }));
    app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "user_joined", user: ws.data.name, roomId }), ws.data.id);
  })
  .on("chat", z.object({ roomId: z.string().min(1), message: z.string().min(1) }), (ws, { roomId, message }) => {
    app.clients.broadcastToRoom(roomId, JSON.stringify({ type: "chat", user: ws.data.name, message, port }), ws.data.id);
  })
  .on("private_message", z.object({ to: z.string(), message: z.string().min(1) }), async (ws, { to, message }) => {
    const delivered = await app.users.deliver(to, JSON.stringify({ type: "private_message", from: ws.data.name, message }));
    if (!delivered) ws.send(JSON.stringify({ type: "error", message: "User not found or offline" }));
  });

app.withOptions({
  port,
  backplane: redisBackplane({ url }),
  websocket: {
    offlineQueue: { store: new RedisOfflineStore({ url }) },
    open: (ws) => {
      const name = ws.request.query.name ?? `guest-${port}`;
      ws.data = { id: randomUUID(), name };
      app.clients.addClient(ws, ws.data.id, { name });
      app.users.bind(ws, name);
      ws.send(JSON.stringify({ type: "welcome", name, instance: port }));
    },
    message: router.handle,
  },
});

app.get("/metrics", (_req, res) => res.text(app.metricsText({ instance: String(port) })));

const server = await app.listen(port);
console.log(`Cluster chat on ${server.url.replace("http", "ws")} via ${url} (adapter: ${server.adapter})`);
