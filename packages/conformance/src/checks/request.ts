/**
 * The upgrade request as handlers see it: headers, URL, query, remote address.
 */

import assert from "node:assert/strict";
import type { Check } from "../types.js";
import { cmd } from "./helpers.js";

const category = "request";

export const requestChecks: Check[] = [
  {
    id: "request.headers-query-address",
    title: "upgrade headers, URL query and remote address are visible to handlers",
    category,
    async run(ctx) {
      const id = ctx.id();
      const client = await ctx.open("main", id, {
        query: "room=lobby&n=42",
        headers: { "X-Verb-Test": "yes", Cookie: "a=1; b=two" },
      });
      ctx.defer(() => client.terminate());
      await client.message(0);
      client.send(cmd({ op: "info" }));
      const info = JSON.parse((await client.message(1)).text) as {
        path: string;
        url: string;
        query: Record<string, string>;
        headers: Record<string, string>;
        remoteAddress: string;
      };
      assert.equal(info.path, "/");
      assert.equal(info.query.room, "lobby");
      assert.equal(info.query.n, "42");
      assert.equal(info.query.id, id);
      assert.equal(info.headers["x-verb-test"], "yes", "header names must be lower-cased");
      assert.equal(info.headers.cookie, "a=1; b=two");
      assert.equal(info.headers.upgrade?.toLowerCase(), "websocket");
      assert.equal(info.remoteAddress, "127.0.0.1", "an IPv4 client is reported in IPv4 form on every engine");
    },
  },
];
