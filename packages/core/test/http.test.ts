import { createServer, ServerProtocol } from "@verb/core";
import { describe, expect, it } from "vitest";

const request = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

describe("app.fetch", () => {
  it("serves routes with res helpers and web Responses", async () => {
    const app = createServer();
    app.get("/", (_req, res) => res.html("<h1>hi</h1>"));
    app.get("/json/:id", (req, res) => res.status(201).json({ id: req.params.id, q: req.query.q }));
    app.get("/web", () => new Response("raw", { status: 202 }));
    app.get("/later", (_req, res) => {
      setTimeout(() => res.text("late"), 10);
    });
    const html = await app.fetch(request("/"));
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.headers.get("content-length")).toBe("11");
    expect(await html.text()).toBe("<h1>hi</h1>");
    const json = await app.fetch(request("/json/5?q=x"));
    expect(json.status).toBe(201);
    expect(await json.json()).toEqual({ id: "5", q: "x" });
    expect((await app.fetch(request("/web"))).status).toBe(202);
    expect(await (await app.fetch(request("/later"))).text()).toBe("late");
  });

  it("answers 404, 405 with Allow, HEAD without a body, and 500 for a throwing handler", async () => {
    const app = createServer();
    app.get("/page", (_req, res) => res.text("body"));
    app.get("/boom", () => {
      throw new Error("handler failure");
    });
    expect((await app.fetch(request("/missing"))).status).toBe(404);
    const wrong = await app.fetch(request("/page", { method: "POST" }));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    const head = await app.fetch(request("/page", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const original = console.error;
    console.error = () => {};
    try {
      expect((await app.fetch(request("/boom"))).status).toBe(500);
    } finally {
      console.error = original;
    }
  });

  it("answers 426 to plain HTTP on WebSocket endpoints", async () => {
    const ws = createServer(ServerProtocol.WEBSOCKET);
    const response = await ws.fetch(request("/"));
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
    const http = createServer();
    http.ws("/chat", {});
    expect((await http.fetch(request("/chat"))).status).toBe(426);
    expect((await http.fetch(request("/other"))).status).toBe(404);
  });
});
