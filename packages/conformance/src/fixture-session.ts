/**
 * The Verb protocol side of the fixture: an application that session clients (@verb/client, or
 * the suite's own protocol speaker) talk to. Requests through a typed router, topics behind
 * `authorizeSubscribe`, per-user and per-client streams, a small history (5 messages) so gaps can
 * be provoked. Written against @verb/core only.
 */

import { createMessageRouter, type VerbApp, type VerbSocket } from "@verb/core";

export type SessionData = { user?: { id: string }; clientId?: string };
type Ws = VerbSocket<SessionData>;
type Recorder = (id: string, event: { type: string; [key: string]: unknown }) => void;

/** Messages each session app handled, by content: proves a repeat never reaches the hook. */
const handled = new Map<string, number>();

export function sessionRoutes(app: VerbApp<SessionData>, record: Recorder, authorize: boolean): void {
  const router = createMessageRouter<SessionData>()
    .on("add", (_ws, data) => {
      const { a, b } = data as unknown as { a: number; b: number };
      if (typeof a !== "number" || typeof b !== "number") throw new Error("add needs numbers");
      return a + b;
    })
    .on("slow", async (_ws, data) => {
      await new Promise((resolve) => setTimeout(resolve, Number((data as { ms?: number }).ms ?? 50)));
      return "slow done";
    })
    .on("fail", () => {
      throw new Error("the handler failed");
    })
    .on("count", (ws, data) => {
      const key = `${String((data as { key?: string }).key)}`;
      handled.set(key, (handled.get(key) ?? 0) + 1);
      record(`session:${key}`, { type: "handled", count: handled.get(key) });
      if ((data as { echo?: boolean }).echo) ws.send(`counted:${key}`);
    })
    .on("register", (ws, data) => {
      const clientId = String((data as { clientId?: string }).clientId);
      ws.data.clientId = clientId;
      app.clients.addClient(ws, clientId);
      return `registered:${clientId}`;
    })
    .on("publish", (ws, data) => {
      const { topic, text } = data as unknown as { topic: string; text: string };
      ws.publish(topic, text);
      return true;
    })
    .on("raw", (ws, data) => {
      // A direct send that starts with the record separator: must arrive escaped, byte for byte.
      ws.send(String((data as { text?: string }).text));
      return true;
    });
  app.withOptions({
    websocket: {
      idleTimeout: 0,
      resume: { maxMessages: 5, ttl: 60 },
      auth: { optional: true, verifyToken: (token) => ({ id: token }) },
      ...(authorize ? { authorizeSubscribe: (_ws: VerbSocket<unknown>, topic: string) => !topic.startsWith("forbidden") } : {}),
      message: router.handle,
      open: (ws: Ws) => {
        const topic = ws.request.query.topic;
        if (topic !== undefined) ws.subscribe(topic);
      },
    },
  });
  // Publishing from outside any socket: topics, users, clients.
  app.post("/publish", (req, res) => {
    const {
      topic,
      count = 1,
      prefix = "m",
      binary,
    } = req.body as { topic: string; count?: number; prefix?: string; binary?: boolean };
    for (let i = 0; i < count; i++) {
      const text = `${prefix}${i}`;
      app.publish(topic, binary ? Buffer.from(text) : text);
    }
    res.json({ published: count });
  });
  app.post("/user/:id", (req, res) => {
    const { count = 1, prefix = "u" } = req.body as { count?: number; prefix?: string };
    for (let i = 0; i < count; i++) app.users.send(req.params.id ?? "", `${prefix}${i}`);
    res.json({ sent: count });
  });
  app.post("/client/:id", (req, res) => {
    const { count = 1, prefix = "c" } = req.body as { count?: number; prefix?: string };
    const statuses: string[] = [];
    for (let i = 0; i < count; i++) statuses.push(app.clients.sendTo(req.params.id ?? "", `${prefix}${i}`));
    res.json({ statuses });
  });
  app.post("/shutdown-notice", async (_req, res) => {
    res.json({ closing: true });
  });
  app.get("/metrics", (_req, res) => res.json(app.metrics()));
  app.get("/subscribers/:topic", (req, res) => res.json({ count: app.subscriberCount(req.params.topic ?? "") }));
}
