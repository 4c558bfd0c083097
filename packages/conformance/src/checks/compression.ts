/**
 * Compression: negotiation per mode, what goes compressed (RSV1, wire size), the threshold and the
 * per-send override, both directions.
 */

import assert from "node:assert/strict";
import { inflateRawSync, constants as zlibConstants } from "node:zlib";
import { deflateMessage, inflateMessage, Opcode } from "../clients/raw.js";
import type { Check, CheckContext } from "../types.js";
import { cmd, DEFLATE_OFFER, waitFor } from "./helpers.js";

const category = "compression";

async function info(ctx: CheckContext, profile: string, headers: Record<string, string>) {
  const id = ctx.id();
  const raw = await ctx.raw(profile, id, { headers });
  await raw.nextFrame();
  raw.sendText(cmd({ op: "info" }));
  const frame = await raw.nextFrame((f) => f.opcode === Opcode.TEXT && f.payload.toString().startsWith("{"));
  const text = frame.rsv1 ? inflateMessage(frame.payload).toString() : frame.payload.toString();
  return {
    raw,
    id,
    header: raw.response.headers["sec-websocket-extensions"] ?? "",
    info: JSON.parse(text) as { extensions: string },
  };
}

function sizeChecks(profile: "shared" | "dedicated"): Check[] {
  return [
    {
      id: `compression.${profile}-negotiated`,
      title: `${profile}: a client offering permessage-deflate gets the same answer on every engine, and socket.extensions is exactly that answer`,
      category,
      async run(ctx) {
        const { header, info: seen } = await info(ctx, profile, DEFLATE_OFFER);
        // The same answer on every engine: shared keeps no context either way, dedicated keeps it.
        const expected =
          profile === "shared"
            ? "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
            : "permessage-deflate";
        assert.equal(header, expected, "the 101's Sec-WebSocket-Extensions");
        assert.equal(seen.extensions, header, "socket.extensions must be exactly the 101's answer");
      },
    },
    {
      id: `compression.${profile}-large-compressed`,
      title: `${profile}: a large compressible message goes compressed (RSV1, smaller on the wire); a small one below 1024 bytes does not; no drain hook follows sends that met no backpressure`,
      category,
      async run(ctx) {
        const id = ctx.id();
        const raw = await ctx.raw(profile, id, { headers: DEFLATE_OFFER, query: "silent=1" });
        raw.sendText(cmd({ op: "send", size: 8000 }));
        const large = await raw.nextFrame((f) => f.opcode === Opcode.TEXT);
        assert.equal(large.rsv1, true, "an 8000-byte message must be compressed");
        assert.ok(large.wireLength < 1000, `8000 compressible bytes took ${large.wireLength} bytes on the wire`);
        assert.equal(inflateMessage(large.payload).toString(), "a".repeat(8000));
        const from = raw.frames.length;
        raw.sendText(cmd({ op: "send", size: 1023 }));
        const small = await raw.nextFrame((f) => f.opcode === Opcode.TEXT, 5000, from);
        assert.equal(small.rsv1, false, "a message below the 1024-byte threshold must not be compressed");
        assert.equal(small.payload.length, 1023);
        // Both went out at once ("sent"): the drain hook is only for sends that met backpressure.
        const events = await ctx.events(id);
        assert.deepEqual(
          events.filter((e) => e.type === "sent").map((e) => e.statuses),
          ["s", "s"],
        );
        assert.equal(events.filter((e) => e.type === "drain").length, 0, "no drain hook without backpressure");
      },
    },
    {
      id: `compression.${profile}-override`,
      title: `${profile}: send(data, { compress }) overrides the threshold both ways`,
      category,
      async run(ctx) {
        const raw = await ctx.raw(profile, ctx.id(), { headers: DEFLATE_OFFER, query: "silent=1" });
        raw.sendText(cmd({ op: "send", size: 8000, compress: false }));
        const large = await raw.nextFrame((f) => f.opcode === Opcode.TEXT);
        assert.equal(large.rsv1, false, "compress: false must send uncompressed");
        assert.equal(large.payload.length, 8000);
        const from = raw.frames.length;
        raw.sendText(cmd({ op: "send", size: 200, compress: true }));
        const small = await raw.nextFrame((f) => f.opcode === Opcode.TEXT, 5000, from);
        assert.equal(small.rsv1, true, "compress: true must compress a small message");
        // With context takeover (dedicated) a message may refer back to earlier ones: inflate the whole stream.
        const stream = inflateStream(raw.frames.filter((f) => f.rsv1).map((f) => f.payload));
        assert.equal(stream.subarray(stream.length - 200).toString(), "a".repeat(200));
      },
    },
    {
      id: `compression.${profile}-client-to-server`,
      title: `${profile}: compressed client messages are inflated for the message hook`,
      category,
      async run(ctx) {
        const id = ctx.id();
        const raw = await ctx.raw(profile, id, { headers: DEFLATE_OFFER, query: "silent=1" });
        raw.sendFrame(Opcode.TEXT, deflateMessage(Buffer.from("q".repeat(6000))), { rsv1: true });
        const seen = await ctx.waitEvent(id, (e) => e.type === "message", "the message hook");
        assert.equal(seen.kind, "string");
        assert.equal(seen.length, 6000);
      },
    },
  ];
}

/**
 * Inflates the compressed messages of one connection as one stream, as a client with context
 * takeover does (each message ends with the sync-flush marker the sender removed).
 */
function inflateStream(messages: Buffer[]): Buffer {
  const marker = Buffer.from([0x00, 0x00, 0xff, 0xff]);
  return inflateRawSync(Buffer.concat(messages.flatMap((m) => [m, marker])), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
}

/** A burst of compressible sends under a 64 KiB limit: judged by what goes on the wire (compressed), never dropped while the client reads. */
function burstCheck(profile: "bpshared" | "bpdedicated"): Check {
  const mode = profile === "bpshared" ? "shared" : "dedicated";
  return {
    id: `compression.${mode}-burst-under-limit`,
    title: `${mode}, maxBackpressure 64 KiB: one 4 KiB compressible send is "sent"; 40 in one tick are all delivered (none dropped), and any "buffered" is followed by drain`,
    category,
    async run(ctx) {
      const id = ctx.id();
      const raw = await ctx.raw(profile, id, { headers: DEFLATE_OFFER, query: "silent=1" });
      raw.sendText(cmd({ op: "send", size: 4096 }));
      const one = await ctx.waitEvent(id, (e) => e.type === "sent", "the first send");
      assert.equal(one.statuses, "s", "one compressible 4 KiB send to an idle, reading client");
      await raw.nextFrame((f) => f.opcode === Opcode.TEXT);
      raw.sendText(cmd({ op: "send", size: 4096, count: 40 }));
      const burst = await ctx.waitEvent(id, (e) => e.type === "sent" && String(e.statuses).length === 40, "the burst");
      const statuses = String(burst.statuses);
      assert.ok(!statuses.includes("d"), `statuses ${statuses}: nothing may be dropped (40 × ~30 compressed bytes)`);
      const texts = () => raw.frames.filter((f) => f.opcode === Opcode.TEXT);
      await waitFor(() => texts().length >= 41, "all 40 messages of the burst", 5000);
      assert.equal(texts().length, 41);
      if (mode === "shared") for (const frame of texts()) assert.equal(inflateMessage(frame.payload).length, 4096);
      if (statuses.includes("b")) await ctx.waitEvent(id, (e) => e.type === "drain", "drain after a buffered send", 3000);
    },
  };
}

export const compressionChecks: Check[] = [
  burstCheck("bpshared"),
  burstCheck("bpdedicated"),
  {
    id: "compression.disabled",
    title: "compression disabled (default): the extension is never negotiated",
    category,
    async run(ctx) {
      const { header, info: seen } = await info(ctx, "main", DEFLATE_OFFER);
      assert.equal(header, "", `101 must not carry Sec-WebSocket-Extensions, got "${header}"`);
      assert.equal(seen.extensions, "");
    },
  },
  ...sizeChecks("shared"),
  ...sizeChecks("dedicated"),
  {
    id: "compression.no-offer",
    title: "compression enabled, client offers nothing: plain frames, socket.extensions is empty",
    category,
    async run(ctx) {
      const { header, info: seen } = await info(ctx, "shared", {});
      assert.equal(header, "");
      assert.equal(seen.extensions, "");
    },
  },
  {
    id: "compression.window-bits-offer",
    title:
      "server_max_window_bits=10 (RFC 7692 §7.1.2.1): shared declines the offer (it cannot limit a shared window), dedicated echoes it; socket.extensions is the exact answer",
    category,
    async run(ctx) {
      const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12" };
      const shared = await info(ctx, "shared", offer);
      assert.equal(shared.header, "", "a shared compressor must decline a window it cannot honour");
      assert.equal(shared.info.extensions, "");
      const dedicated = await info(ctx, "dedicated", offer);
      assert.equal(dedicated.header, "permessage-deflate; server_max_window_bits=10");
      assert.equal(dedicated.info.extensions, dedicated.header, "socket.extensions must be the 101's answer");
    },
  },
];
