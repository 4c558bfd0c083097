/**
 * Protocol errors from the client reach the close hook as 1007 (invalid UTF-8) or 1002 (others).
 */

import assert from "node:assert/strict";
import { Opcode } from "../clients/raw.js";
import { deviationOrFail } from "../deviations.js";
import type { Check } from "../types.js";
import { DEFLATE_OFFER } from "./helpers.js";

const category = "protocol";

export const protocolChecks: Check[] = [
  {
    id: "protocol.invalid-utf8",
    title: 'invalid UTF-8 in a text frame: the close hook gets 1007 "invalid payload"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      raw.sendFrame(Opcode.TEXT, Buffer.from([0x68, 0xff, 0xfe, 0x69]));
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1007);
      assert.equal(closed.reason, "invalid payload");
    },
  },
  {
    id: "protocol.invalid-utf8-wire",
    title: "invalid UTF-8 in a text frame: the client gets a 1007 close frame",
    category,
    async run(ctx) {
      const raw = await ctx.raw("main", ctx.id(), { query: "silent=1" });
      raw.sendFrame(Opcode.TEXT, Buffer.from([0xc3, 0x28]));
      const end = await raw.waitEnd();
      if (end.closeFrame?.code === 1007) return;
      return deviationOrFail(
        ctx.adapter,
        "protocol.invalid-utf8-wire",
        end.closeFrame === undefined ? "no close frame; TCP closed" : `close frame ${String(end.closeFrame.code)}`,
        "the client must receive a 1007 close frame",
      );
    },
  },
  {
    id: "protocol.corrupt-deflate",
    title: 'a compressed frame that does not inflate: the close hook gets 1007 "invalid payload"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("shared", id, { query: "silent=1", headers: DEFLATE_OFFER });
      assert.match(raw.response.headers["sec-websocket-extensions"] ?? "", /permessage-deflate/);
      // 0xff starts a deflate block of reserved type 3: no inflater accepts it.
      raw.sendFrame(Opcode.TEXT, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv1: true });
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      if (closed.code === 1007 && closed.reason === "invalid payload") return;
      return deviationOrFail(
        ctx.adapter,
        "protocol.corrupt-deflate",
        `${String(closed.code)} ${String(closed.reason)}`,
        'the close hook must get 1007 "invalid payload"',
      );
    },
  },
  {
    id: "protocol.invalid-close-code",
    title: 'an invalid close code from the client (1005 on the wire): the close hook gets 1002 "protocol error"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      raw.sendClose(1005);
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1002);
      assert.equal(closed.reason, "protocol error");
    },
  },
  {
    id: "protocol.invalid-close-code-wire",
    title: "an invalid close code from the client: the client gets a 1002 close frame",
    category,
    async run(ctx) {
      const raw = await ctx.raw("main", ctx.id(), { query: "silent=1" });
      raw.sendClose(999);
      const end = await raw.waitEnd();
      if (end.closeFrame?.code === 1002) return;
      return deviationOrFail(
        ctx.adapter,
        "protocol.invalid-close-code-wire",
        end.closeFrame === undefined
          ? "no close frame; TCP closed"
          : end.closeFrame.code === undefined
            ? "close frame without a code"
            : `close frame ${end.closeFrame.code}`,
        "the client must receive a 1002 close frame",
      );
    },
  },
  {
    id: "protocol.unmasked-frame",
    title: 'an unmasked client frame: the close hook gets 1002 "protocol error"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      // An unmasked 8-byte text frame, followed by 4 more bytes. A server that reads it as if it
      // were masked takes the first 4 payload bytes as the key and decodes "uws-read": then the
      // echo proves what happened, instead of a silence.
      const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
      const text = Buffer.from("uws-read");
      const encoded = Buffer.from(text.map((byte, i) => byte ^ (key[i & 3] as number)));
      raw.socket.write(Buffer.concat([Buffer.from([0x81, 0x08]), key, encoded]));
      const closeHook = () => ctx.waitEvent(id, (e) => e.type === "close", "the close hook").then((e) => ({ close: e }));
      // Whichever is observed first: an echo (read as masked) or the connection's close hook.
      const outcome = await Promise.race([
        closeHook(),
        raw.nextFrame((f) => f.opcode === Opcode.TEXT).then((f) => ({ echo: f.payload.toString() }), closeHook),
      ]);
      if ("echo" in outcome) {
        return deviationOrFail(
          ctx.adapter,
          "protocol.unmasked-frame",
          `read as masked: echoed ${outcome.echo}`,
          "an unmasked frame must close the connection",
        );
      }
      assert.equal(outcome.close.code, 1002);
      assert.equal(outcome.close.reason, "protocol error");
    },
  },
  {
    id: "protocol.reserved-opcode",
    title: 'a reserved opcode from the client: the close hook gets 1002 "protocol error"',
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw("main", id, { query: "silent=1" });
      raw.sendFrame(0x3, "reserved");
      const closed = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assert.equal(closed.code, 1002);
    },
  },
];
