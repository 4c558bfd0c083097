/**
 * Handler failures: a throwing or rejecting hook reaches `error`; the connection and the server keep working.
 */

import assert from "node:assert/strict";
import type { Check, CheckContext } from "../types.js";
import { cmd, greeted } from "./helpers.js";

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
