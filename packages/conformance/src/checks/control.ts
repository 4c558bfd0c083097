/**
 * Control frames: pings both ways.
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import type { Check } from "../types.js";
import { cmd, greeted } from "./helpers.js";

const category = "control";

export const controlChecks: Check[] = [
  {
    id: "control.client-ping",
    title: "a client ping reaches the ping hook and is answered with the same payload",
    category,
    async run(ctx) {
      const { id, client } = await greeted(ctx);
      client.ws.ping(Buffer.from("p1-payload"));
      await client.until(() => client.pongs.length > 0, "the pong");
      assert.equal(client.pongs[0]?.toString(), "p1-payload");
      const ping = await ctx.waitEvent(id, (e) => e.type === "ping", "the ping hook");
      assert.equal(ping.data, "p1-payload");
      assert.equal(ping.isBuffer, true, "ping data must be a Buffer");
    },
  },
  {
    id: "control.server-ping",
    title:
      'ws.ping() reaches the client and the pong hook fires; it returns "sent", with and without a payload (125 bytes at most: more throws a RangeError), "dropped" once closing',
    category,
    async run(ctx) {
      const { id, client } = await greeted(ctx);
      client.send(cmd({ op: "ping", data: "s1-payload" }));
      await client.until(() => client.pings.length > 0, "the server's ping");
      assert.equal(client.pings[0]?.toString(), "s1-payload");
      const pong = await ctx.waitEvent(id, (e) => e.type === "pong", "the pong hook");
      assert.equal(pong.data, "s1-payload");
      assert.equal(pong.isBuffer, true, "pong data must be a Buffer");
      assert.equal((await ctx.waitEvent(id, (e) => e.type === "pinged", "the ping status")).status, "sent");
      // An empty ping (Bun reports 0 bytes for it, as for a dropped one) is "sent" too.
      const empty = await greeted(ctx);
      empty.client.send(cmd({ op: "ping" }));
      await empty.client.until(() => empty.client.pings.length > 0, "the server's empty ping");
      assert.equal(empty.client.pings[0]?.length, 0);
      assert.equal((await ctx.waitEvent(empty.id, (e) => e.type === "pinged", "the empty ping status")).status, "sent");
      // 125 bytes is the most a ping holds: over it ping() throws a RangeError; on a closing socket it is "dropped".
      const limited = await greeted(ctx);
      limited.client.send(cmd({ op: "ping-limits" }));
      const limits = await ctx.waitEvent(limited.id, (e) => e.type === "ping-limits", "the ping limits");
      assert.deepEqual(
        { max: limits.max, over: limits.over, overText: limits.overText, closed: limits.closed },
        { max: "sent", over: "RangeError", overText: "RangeError", closed: "dropped" },
      );
      await limited.client.until(() => limited.client.pings.some((p) => p.length === 125), "the 125-byte ping");
      assert.ok(!limited.client.pings.some((p) => p.length > 125), "no ping over 125 bytes goes out");
    },
  },

  {
    id: "control.cork",
    title: "cork(fn) sends its messages in one write (the same sends uncorked leave one by one) and returns fn's result",
    category,
    // Alone: a busy client process would read the uncorked frames in one go and the check could not tell.
    exclusive: true,
    async run(ctx) {
      const chunksOf = async (corked: boolean) => {
        const raw = await ctx.raw("main", ctx.id(), { query: "silent=1" });
        raw.sendText(cmd({ op: "cork", corked }));
        const result = await raw.nextFrame((f) => f.opcode === Opcode.TEXT && f.payload.toString().startsWith("cork-result:"));
        assert.equal(result.payload.toString(), "cork-result:42");
        const sent = raw.frames.filter((f) => ["c1", "c2", "c3"].includes(f.payload.toString()));
        assert.deepEqual(
          sent.map((f) => f.payload.toString()),
          ["c1", "c2", "c3"],
        );
        return new Set(sent.map((f) => f.chunk)).size;
      };
      const uncorked = await chunksOf(false);
      assert.ok(
        uncorked > 1,
        `without cork the three sends (25 ms apart) arrived in ${uncorked} TCP read: the check cannot tell`,
      );
      const corked = await chunksOf(true);
      assert.equal(corked, 1, `the corked frames arrived in ${corked} TCP reads`);
    },
  },
];
