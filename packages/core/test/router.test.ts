import { describe, expect, it } from "vitest";
import { Router } from "../src/http/router.js";

describe("router", () => {
  it("matches static, parameter and wildcard routes by priority", () => {
    const router = new Router<string>();
    router.add("GET", "/users/me", "me");
    router.add("GET", "/users/:id", "user");
    router.add("GET", "/users/:id/posts/:post", "post");
    router.add("GET", "/files/*", "files");
    router.add("*", "/any", "any");
    expect(router.match("GET", "/users/me")).toMatchObject({ kind: "found", handler: "me" });
    expect(router.match("GET", "/users/7")).toMatchObject({ kind: "found", handler: "user", params: { id: "7" } });
    expect(router.match("GET", "/users/7/posts/9")).toMatchObject({ params: { id: "7", post: "9" } });
    expect(router.match("GET", "/files/a/b%20c.txt")).toMatchObject({ handler: "files", params: { "*": "a/b c.txt" } });
    expect(router.match("DELETE", "/any")).toMatchObject({ handler: "any" });
    expect(router.match("GET", "/users/")).toBeUndefined();
    expect(router.match("GET", "/nope")).toBeUndefined();
  });

  it("answers a router of static routes alone from its map: found, 405, none; static segments match as sent", () => {
    const router = new Router<string>();
    router.add("GET", "/chat", "chat");
    router.add("POST", "/send", "send");
    expect(router.match("GET", "/chat")).toMatchObject({ kind: "found", handler: "chat" });
    expect(router.match("HEAD", "/chat/")).toMatchObject({ kind: "found", handler: "chat" });
    expect(router.match("GET", "/send")).toEqual({ kind: "method", allow: ["POST"] });
    expect(router.match("GET", "/other")).toBeUndefined();
    expect(router.match("GET", "/ch%61t")).toBeUndefined();
    router.add("GET", "/rooms/:id", "room");
    expect(router.match("GET", "/ch%61t")).toBeUndefined();
    expect(router.match("GET", "/rooms/a%20b")).toMatchObject({ handler: "room", params: { id: "a b" } });
  });

  it("reports 405 with the allowed methods", () => {
    const router = new Router<string>();
    router.add("GET", "/items", "list");
    router.add("POST", "/items", "create");
    router.add("PUT", "/items/:id", "update");
    expect(router.match("DELETE", "/items")).toEqual({ kind: "method", allow: ["GET", "HEAD", "POST"] });
    expect(router.match("GET", "/items/3")).toEqual({ kind: "method", allow: ["PUT"] });
    expect(router.match("HEAD", "/items")).toMatchObject({ kind: "found", handler: "list" });
  });

  it("treats a trailing slash as the same route and rejects duplicates and bad patterns", () => {
    const router = new Router<string>();
    router.add("GET", "/a/", "a");
    expect(router.match("GET", "/a")).toMatchObject({ handler: "a" });
    expect(() => router.add("GET", "/a", "again")).toThrow(/already defined/);
    expect(() => router.add("GET", "no-slash", "x")).toThrow(/must start with/);
    expect(() => router.add("GET", "/x/*/y", "x")).toThrow(/last segment/);
    router.add("GET", "/p/:id", "p");
    expect(() => router.add("GET", "/p/:other/z", "z")).toThrow(/names parameter/);
  });

  it("looks up static paths in constant time among many routes", () => {
    const router = new Router<number>();
    for (let i = 0; i < 10_000; i++) router.add("GET", `/static/route/${i}`, i);
    expect(router.match("GET", "/static/route/9999")).toMatchObject({ handler: 9999 });
  });
});
