/**
 * The HTTP side of the fixture: routes, middleware, bodies, files, WebSocket routes with upgrade
 * hooks, subprotocols, origin checks and per-route `res.upgrade()`. Written against @verb/core only.
 */

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { VerbApp, VerbSocket } from "@verb/core";

/** Creates the files `sendFile` serves: a root folder, and a secret beside it that must stay out of reach. */
export function createFileRoot(): { root: string; secret: string } {
  const base = mkdtempSync(join(tmpdir(), "verb-fixture-"));
  const root = join(base, "public");
  mkdirSync(join(root, "nested"), { recursive: true });
  writeFileSync(join(root, "chat.html"), "<!DOCTYPE html><title>chat</title><p>chat page</p>");
  writeFileSync(join(root, "data.json"), JSON.stringify({ ok: true }));
  writeFileSync(join(root, "nested", "notes.txt"), "nested notes\n");
  writeFileSync(join(root, "blob.bin"), Buffer.alloc(200_000, 7));
  const secret = join(base, "secret.txt");
  writeFileSync(secret, "TOP SECRET");
  return { root, secret };
}

function describeBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return { kind: "bytes", base64: body.toString("base64") };
  if (typeof body === "string") return { kind: "text", value: body };
  if (body === undefined) return { kind: "none" };
  return { kind: "json", value: body };
}

/** Adds the HTTP routes to `app`. */
export function httpRoutes(app: VerbApp<Record<string, unknown>>, root: string, secret: string): void {
  app.withOptions({ bodyLimit: 1024, fileRoot: root });

  app.use(async (_req, res, next) => {
    res.header("x-middleware", "ran");
    await next();
  });
  app.use("/admin", (req, res, next) => {
    if (req.headers.authorization === "Bearer ok") return next();
    res.status(401).json({ error: "unauthorized" });
  });
  app.onError((error, _req, res) => {
    res.status(500).json({ error: error.message });
  });

  app.get("/hello", (_req, res) => res.text("hello"));
  app.get("/users/:id", (req, res) => res.json({ id: req.params.id, query: req.query }));
  app.get("/users/:id/posts/:post", (req, res) => res.json(req.params));
  app.get("/files/*", (req, res) => res.json({ rest: req.params["*"] }));
  app.post("/echo", (req, res) => res.json(describeBody(req.body)));
  app.put("/items/:id", (req, res) => res.status(200).json({ put: req.params.id }));
  app.delete("/items/:id", (_req, res) => res.status(204).end());
  app.all("/any", (req, res) => res.json({ method: req.method }));
  app.get("/admin/panel", (_req, res) => res.text("admin"));
  app.get("/boom", () => {
    throw new Error("route failure");
  });
  app.get("/boom-async", async () => {
    await sleep(5);
    throw new Error("async route failure");
  });
  app.get("/redirect", (_req, res) => res.redirect("/hello"));
  app.get("/cookies", (req, res) => {
    res.cookie("a", "1", { httpOnly: true }).cookie("b", "two words", { sameSite: "Lax" });
    res.json({ received: req.cookies });
  });
  app.get("/web", () => new Response("web response", { status: 202, headers: { "x-web": "yes" } }));
  app.get("/late", (_req, res) => {
    setTimeout(() => res.text("late answer"), 20);
  });
  app.get("/ip", (req, res) => res.json({ ip: req.ip }));
  app.get("/stream", (_req, res) => {
    let n = 0;
    res.header("content-type", "text/plain");
    res.send(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (n > 0) await sleep(150);
          n++;
          if (n > 3) controller.close();
          else controller.enqueue(new TextEncoder().encode(`chunk${n};`));
        },
      }),
    );
  });
  let streamState = { started: 0, cancelled: 0 };
  app.get("/stream-forever", (_req, res) => {
    streamState.started++;
    let timer: ReturnType<typeof setInterval> | undefined;
    res.send(
      new ReadableStream<Uint8Array>({
        start(controller) {
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode("tick;")), 20);
        },
        cancel() {
          clearInterval(timer);
          streamState.cancelled++;
        },
      }),
    );
  });
  app.get("/stream-fails", (_req, res) => {
    res.header("content-type", "text/plain");
    res.send(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          controller.enqueue(new TextEncoder().encode("part1;"));
          await sleep(50);
          controller.error(new Error("the producer failed"));
        },
      }),
    );
  });
  app.get("/stream-state", (_req, res) => res.json(streamState));
  app.post("/stream-state/reset", (_req, res) => {
    streamState = { started: 0, cancelled: 0 };
    res.json(streamState);
  });
  app.get("/static/*", (req, res) => res.sendFile(req.params["*"] ?? ""));
  app.get("/secret-absolute", (_req, res) => res.sendFile(secret));

  // WebSocket routes.
  app.ws("/ws/only", { open: (ws) => ws.send("ws-only") });
  app.ws("/ws/auth", {
    upgrade: async (req) => {
      await sleep(30); // a real timer: the request snapshot must survive it
      if (req.query.token !== "good") return { status: 401, headers: { "x-reason": "bad token" }, body: "no entry" };
      return {
        data: { user: "alice", path: req.path, agent: req.headers["user-agent"] ?? "", cookie: req.cookies.session ?? "" },
        headers: { "set-cookie": "session=abc; Path=/", "x-upgrade": "accepted" },
      };
    },
    open: (ws) => ws.send(JSON.stringify(ws.data)),
  });
  app.ws("/ws/reject-response", {
    upgrade: () => new Response("teapot", { status: 418, headers: { "content-type": "text/plain", "x-kind": "response" } }),
  });
  app.ws("/ws/reject-bare", { upgrade: () => new Response("bare", { status: 409 }) });
  app.ws("/ws/origin-throws", {
    allowedOrigins: () => {
      throw new Error("origin policy failure");
    },
    open: (ws) => ws.send("origin ok"),
  });
  app.ws("/ws/throwing-hook", {
    upgrade: () => {
      throw new Error("upgrade hook failure");
    },
  });
  app.ws("/ws/proto", { protocols: ["chat.v2", "chat.v1"], open: (ws) => ws.send(`protocol:${ws.protocol}`) });
  app.ws("/ws/hookproto", {
    upgrade: (req) => ({ protocol: req.query.pick }),
    open: (ws) => ws.send(`protocol:${ws.protocol}`),
  });
  app.ws("/ws/origin", { allowedOrigins: ["https://good.example"], open: (ws) => ws.send("origin ok") });
  app.ws("/ws/origin-fn", {
    allowedOrigins: (origin) => origin.endsWith(".trusted.example"),
    open: (ws) => ws.send("origin ok"),
  });

  // The spec's per-route upgrade: the same GET route serves the page and the socket.
  app.get("/chat", (req, res) => {
    if (req.headers.upgrade === "websocket") {
      const ws = res.upgrade({ room: "lobby" });
      ws.on("message", (message) => {
        ws.send(`chat:${String(message)}:${(ws.data as { room: string }).room}`);
      });
    } else {
      res.sendFile("chat.html");
    }
  });
  // Sends and a close made before the engine opened the socket: they go out once it opens, in order.
  app.get("/early-sends", (_req, res) => {
    const ws: VerbSocket = res.upgrade();
    const statuses = [ws.send("early-1"), ws.send("early-2")];
    ws.send(JSON.stringify(statuses));
  });
  app.get("/early-close", (_req, res) => {
    const ws: VerbSocket = res.upgrade();
    ws.send("before-close");
    ws.close(4009, "closed early");
  });
  app.get("/chat-late", async (_req, res) => {
    const ws: VerbSocket = res.upgrade();
    // Listeners attached after an await still get every message.
    await sleep(80);
    ws.on("message", (message) => {
      ws.send(`late:${String(message)}`);
    });
  });
  app.ws("/ws/header-from-query", {
    upgrade: (req) => ({ headers: { "x-room": req.query.room } }),
    open: (ws) => ws.send("in"),
  });
  app.get("/send-only", async (_req, res) => {
    // Upgrades, never listens, and takes its time: held messages must stay bounded.
    res.upgrade();
    await sleep(5000);
  });
  app.get("/chat-refuse", (_req, res) => {
    res.status(403).json({ error: "no websockets here" });
  });
}
