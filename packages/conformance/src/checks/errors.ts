/**
 * Handler failures: a throwing or rejecting hook reaches `error`; the connection and the server keep working.
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, greeted } from "./helpers.js";

type Failing = "open" | "message" | "close" | "ping" | "pong" | "drain";

/**
 * Makes one hook (`fail=`) or listener (`listen=`) of the failing profile throw or reject, checks
 * that `error` got exactly that error, and that the connection (unless it was closing) and the
 * server keep serving.
 */
async function failingHook(ctx: CheckContext, param: "fail" | "listen", name: Failing, how: "throw" | "reject"): Promise<void> {
  const id = ctx.id();
  const raw = await ctx.raw("failing", id, { query: `silent=1&${param}=${name}-${how}` });
  const isText = (text: string) => (f: { opcode: number; payload: Buffer }) =>
    f.opcode === Opcode.TEXT && f.payload.toString() === text;
  switch (name) {
    case "message":
      raw.sendText("trigger");
      break;
    case "ping":
      raw.sendFrame(Opcode.PING, "p");
      break;
    case "pong": {
      raw.sendText(cmd({ op: "ping", data: "s" }));
      const ping = await raw.nextFrame((f) => f.opcode === Opcode.PING);
      raw.sendFrame(Opcode.PONG, ping.payload);
      break;
    }
    case "drain":
      raw.pause();
      // More than the kernel's buffers hold on loopback: the server's buffer must pass the 64 KiB limit.
      raw.sendText(cmd({ op: "send", count: 40, size: 256 * 1024, binary: true }));
      await ctx.waitEvent(id, (e) => e.type === "sent", "the sends that fill the buffer");
      raw.resume();
      break;
    case "close":
      raw.sendClose(1000);
      break;
    default:
      break;
  }
  const kind = param === "fail" ? "hook" : "listener";
  const expected = `the ${name} ${kind} ${how === "throw" ? "threw" : "rejected"}`;
  const error = await ctx.waitEvent(id, (e) => e.type === "error", `the error hook after ${expected}`);
  assert.equal(error.message, expected);
  if (name === "close") {
    const fresh = await greeted(ctx, "failing");
    fresh.client.send("served");
    assert.equal((await fresh.client.message(1)).text, "served", `the server keeps serving after ${expected}`);
    return;
  }
  raw.sendText("still there?");
  await raw.nextFrame(isText("still there?"), 5000).catch(() => {
    throw new Error(`the connection stopped answering after ${expected}`);
  });
}

const FAILING: Failing[] = ["open", "message", "close", "ping", "pong", "drain"];

const category = "errors";

async function failureIsContained(ctx: CheckContext, op: "throw" | "reject", expected: string): Promise<void> {
  const id = ctx.id();
  const bystanderId = ctx.id();
  const client = await ctx.open("main", id);
  const bystander = await ctx.open("main", bystanderId);
  ctx.defer(() => client.terminate());
  ctx.defer(() => bystander.terminate());
  await client.message(0);
  await bystander.message(0);
  client.send(cmd({ op }));
  const error = await ctx.waitEvent(id, (e) => e.type === "error", "the error hook");
  assert.match(String(error.message), new RegExp(expected));
  client.send("still there?");
  const echo = await client.message(1);
  assert.equal(echo.text, "still there?", "the connection must keep working after the failure");
  bystander.send("and me?");
  assert.equal((await bystander.message(1)).text, "and me?", "other connections must be untouched");
  const fresh = await ctx.open("main", ctx.id());
  ctx.defer(() => fresh.terminate());
  await fresh.message(0);
}

export const errorChecks: Check[] = [
  {
    id: "errors.every-hook",
    title:
      "an open, close, ping, pong or drain hook that throws or rejects reaches error with its error; the connection and the server keep working",
    category,
    async run(ctx) {
      const hooks = FAILING.filter((name) => name !== "message");
      await Promise.all(
        hooks.flatMap((name) => (["throw", "reject"] as const).map((how) => failingHook(ctx, "fail", name, how))),
      );
    },
  },
  {
    id: "errors.every-listener",
    title:
      "a message, close, ping, pong or drain listener (ws.on) that throws or rejects reaches error; the connection and the server keep working",
    category,
    async run(ctx) {
      const listeners = FAILING.filter((name) => name !== "open");
      await Promise.all(
        listeners.flatMap((name) => (["throw", "reject"] as const).map((how) => failingHook(ctx, "listen", name, how))),
      );
    },
  },
  {
    id: "errors.sync-throw",
    title: "a message hook that throws reaches error; connection and server keep working",
    category,
    run: (ctx) => failureIsContained(ctx, "throw", "sync failure"),
  },
  {
    id: "errors.async-reject",
    title: "a message hook that rejects reaches error; connection and server keep working",
    category,
    run: (ctx) => failureIsContained(ctx, "reject", "async failure"),
  },
  {
    id: "errors.async-error-listener",
    title: "an error listener that rejects is contained: the connection and the server keep working",
    category,
    async run(ctx) {
      const { id, client } = await greeted(ctx);
      client.send(cmd({ op: "async-error-listener" }));
      assert.equal((await client.message(1)).text, "listening");
      client.send(cmd({ op: "throw" }));
      await ctx.waitEvent(id, (e) => e.type === "error", "the error hook");
      const ran = await ctx.waitEvent(id, (e) => e.type === "error-listener", "the async error listener");
      assert.match(String(ran.message), /sync failure/, "the listener got the hook's error");
      client.send("still there?");
      assert.equal((await client.message(2)).text, "still there?");
      const fresh = await greeted(ctx);
      fresh.client.send("new one");
      assert.equal((await fresh.client.message(1)).text, "new one");
    },
  },
];
