// Live notifications (the spec's "NotificationService" with its HTTP endpoint): clients connect to
// /notifications?userId=..., and POST /api/notify/:userId reaches every socket of that user.
// Run: bun examples/notifications.ts · node examples/dist/notifications.js · VERB_ADAPTER=uws node examples/dist/notifications.js
import { createServer } from "@verb/core";

const port = Number(process.env.PORT ?? 3000);
const app = createServer();

app.get("/notifications", (req, res) => {
  if (req.headers.upgrade === "websocket") {
    const userId = req.query.userId;
    if (!userId) return res.status(400).json({ error: "userId query parameter required" });
    const ws = res.upgrade({ userId });
    // Subscribe to user-specific notifications; unbound automatically on close.
    app.users.bind(ws, userId);
  } else {
    res.status(400).json({ error: "WebSocket upgrade required" });
  }
});

// HTTP endpoint to send notifications
app.post("/api/notify/:userId", (req, res) => {
  const userId = req.params.userId ?? "";
  const notification = typeof req.body === "object" && req.body !== null ? req.body : { message: String(req.body ?? "") };
  const delivered = app.users.send(
    userId,
    JSON.stringify({ type: "notification", ...notification, timestamp: new Date().toISOString() }),
  );
  res.json({ success: true, delivered });
});

app.post("/api/broadcast", (req, res) => {
  const notification = typeof req.body === "object" && req.body !== null ? req.body : {};
  const delivered = app.users.broadcast(
    JSON.stringify({ type: "broadcast", ...notification, timestamp: new Date().toISOString() }),
  );
  res.json({ success: true, delivered });
});

const server = await app.listen(port);
console.log(`Notifications on ${server.url} (adapter: ${server.adapter})`);
