/**
 * Wire-level conformance (RFC 6455, RFC 7692, and Verb's contract for what the hooks see), with
 * hand-made frames: length encodings, reserved bits and opcodes, masking, fragmentation with
 * control frames in between, UTF-8 edge cases, control frame limits, every close code class, and
 * permessage-deflate negotiation answers with the compressed data they govern.
 *
 * Every failure case waits for the close hook and for the server's close frame (or the end of the
 * TCP connection), and every "stays open" case proves it with an echo.
 */

import assert from "node:assert/strict";
import {
  buildFrame,
  type CloseOrEnd,
  type DeflateRules,
  type FrameOptions,
  MessageDeflater,
  MessageInflater,
  Opcode,
  type RawClient,
  type RawMessage,
} from "../clients/raw.js";
import { deviationOrFail } from "../deviations.js";
import type { Check, CheckContext, CheckOutcome, FixtureEvent } from "../types.js";
import { cmd, sleep } from "./helpers.js";

const category = "wire";

/** The reason the close hook gets with each failure code (ADAPTERS.md). */
const REASON: Record<number, string> = {
  1002: "protocol error",
  1007: "invalid payload",
  1009: "message too big",
};

type Run = (ctx: CheckContext, check: string) => Promise<void | CheckOutcome>;

function check(group: string, name: string, title: string, run: Run, timeoutMs?: number): Check {
  const id = `wire.${group}.${name}`;
  return { id, title, category, ...(timeoutMs === undefined ? {} : { timeoutMs }), run: (ctx) => run(ctx, id) };
}

// ---- Payloads ---------------------------------------------------------------------------

/** Pseudo-random bytes, the same on every run (all 256 values occur). */
function bytes(length: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Bytes as written. */
const b = (...values: number[]): Buffer => Buffer.from(values);

/** Valid UTF-8 of exactly `length` bytes, mixing 1-, 2-, 3- and 4-byte characters. */
function utf8Of(length: number): Buffer {
  const pieces = ["a", "é", "€", "😀", "z", "ß", "中", "𝄞"].map((p) => Buffer.from(p));
  const parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const piece = pieces[i % pieces.length] as Buffer;
    const part = size + piece.length <= length ? piece : Buffer.from("a");
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

/** 4000 characters whose second half repeats the first: a window under 2000 bytes cannot refer back to it. */
function windowProbe(seed: number): Buffer {
  const half = bytes(1500, seed).toString("base64");
  return Buffer.from(half + half);
}

/** Strict equality with both values in the message (no diff noise). */
function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) assert.fail(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

const hex = (data: Buffer): string => data.toString("hex").replace(/(..)(?!$)/g, "$1 ");

/** Compares payloads; on a difference says where, without dumping 64 KiB. */
function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const show = (data: Buffer) => (data.length <= 24 ? hex(data) : `${hex(data.subarray(at, at + 12))} at byte ${at}`);
  assert.fail(`${what}: got ${actual.length} bytes (${show(actual)}), expected ${expected.length} bytes (${show(expected)})`);
}

// ---- Connections and observations -------------------------------------------------------

/** A raw connection without the greeting: the first data frame the server sends is an answer. */
async function quiet(
  ctx: CheckContext,
  profile = "main",
  headers?: Record<string, string>,
): Promise<{ id: string; raw: RawClient }> {
  const id = ctx.id();
  const raw = await ctx.raw(profile, id, { query: "silent=1", ...(headers === undefined ? {} : { headers }) });
  assertSame(raw.response.status, 101, `the handshake's status (body: ${JSON.stringify(raw.response.body.slice(0, 200))})`);
  return { id, raw };
}

const minimalForm = (length: number): 7 | 16 | 64 => (length < 126 ? 7 : length < 65536 ? 16 : 64);

/** Waits for the next message and asserts it is an uncompressed echo of `expected`, in minimally encoded, unmasked frames. */
async function expectEcho(raw: RawClient, opcode: number, expected: Buffer, from = 0, what = "the echo"): Promise<RawMessage> {
  const message = await raw.nextMessage(from);
  assertSame(message.opcode, opcode, `the opcode of ${what}`);
  assertSame(message.compressed, false, `RSV1 (compressed) of ${what}`);
  assertSameBytes(message.payload, expected, what);
  for (const frame of message.frames) {
    assertSame(frame.masked, false, "a server must not mask its frames (RFC 6455 §5.1)");
    assertSame(
      frame.lengthForm,
      minimalForm(frame.payload.length),
      `a ${frame.payload.length}-byte frame used the ${frame.lengthForm}-bit length form: the minimal encoding MUST be used (RFC 6455 §5.2)`,
    );
  }
  return message;
}

const messagesOf = (events: FixtureEvent[]): FixtureEvent[] => events.filter((e) => e.type === "message");

/** What came back on the wire when the server failed the connection. */
function describeWire(seen: CloseOrEnd): string {
  if (seen.closeFrame === undefined) return "no close frame; TCP closed";
  if (seen.closeFrame.code === undefined) return "close frame without a code";
  return `close frame ${seen.closeFrame.code}`;
}

const describeHook = (hook: FixtureEvent): string => `hook ${String(hook.code)} ${String(hook.reason) || '""'}`;

/**
 * The server must fail the connection: the close hook gets one of `codes` with the contract's
 * reason, the client gets a close frame with that same code, and the offending data never reaches
 * the message hook.
 */
async function observeFailure(
  ctx: CheckContext,
  id: string,
  raw: RawClient,
  codes: number[],
): Promise<{ ok: boolean; observed: string }> {
  const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
  const wire = await raw.waitCloseOrEnd();
  const delivered = messagesOf(await ctx.events(id)).length;
  const hookOk = codes.includes(hook.code as number) && hook.reason === REASON[hook.code as number];
  const wireOk = wire.closeFrame?.code === hook.code;
  const extra = delivered === 0 ? "" : `; ${delivered} message(s) reached the message hook`;
  return { ok: hookOk && wireOk && extra === "", observed: `${describeHook(hook)}; wire ${describeWire(wire)}${extra}` };
}

async function expectFailure(
  ctx: CheckContext,
  checkId: string,
  id: string,
  raw: RawClient,
  codes: number[],
): Promise<void | CheckOutcome> {
  const { ok, observed } = await observeFailure(ctx, id, raw, codes);
  if (ok) return;
  const want = codes.map((c) => `${c} "${REASON[c]}"`).join(" or ");
  return deviationOrFail(ctx.adapter, checkId, observed, `the close hook and the close frame must both carry ${want}`);
}

/** Sends `frames` in one write on a fresh quiet connection and expects the server to fail it. */
async function sendAndExpectFailure(
  ctx: CheckContext,
  checkId: string,
  frames: Buffer[],
  codes: number[],
  profile = "main",
  headers?: Record<string, string>,
): Promise<void | CheckOutcome> {
  const { id, raw } = await quiet(ctx, profile, headers);
  raw.write(frames);
  return expectFailure(ctx, checkId, id, raw, codes);
}

/**
 * Runs one failing case per item on its own connection. Passes when each fails as required;
 * otherwise the observation is the shared one (all alike) or one per item.
 */
async function expectEachFails<T>(
  ctx: CheckContext,
  checkId: string,
  items: T[],
  label: (item: T) => string,
  frames: (item: T) => Buffer[],
  codes: number[],
): Promise<void | CheckOutcome> {
  const results = await Promise.all(
    items.map(async (item) => {
      const { id, raw } = await quiet(ctx);
      raw.write(frames(item));
      return observeFailure(ctx, id, raw, codes);
    }),
  );
  if (results.every((r) => r.ok)) return;
  const distinct = new Set(results.map((r) => r.observed));
  const observed =
    distinct.size === 1 ? [...distinct][0] : results.map((r, i) => `${label(items[i] as T)}: ${r.observed}`).join(" / ");
  const want = codes.map((c) => `${c} "${REASON[c]}"`).join(" or ");
  return deviationOrFail(ctx.adapter, checkId, observed as string, `each must close with ${want} (hook and close frame)`);
}

/** Polls until the close hook ran or a frame matching `frame` arrived (from index `from`). */
async function hookOrFrame(
  ctx: CheckContext,
  id: string,
  raw: RawClient,
  frame: (f: { opcode: number; payload: Buffer }) => boolean,
  from = 0,
  timeoutMs = 5000,
): Promise<{ hook?: FixtureEvent; frame?: { opcode: number; payload: Buffer } }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = raw.frames.slice(from).find(frame);
    if (found !== undefined) return { frame: found };
    const hook = (await ctx.events(id)).find((e) => e.type === "close");
    if (hook !== undefined) return { hook };
    if (Date.now() > deadline) throw new Error(`neither the close hook nor the expected frame within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const frame = (opcode: number, payload: Buffer | string, options?: FrameOptions): Buffer => buildFrame(opcode, payload, options);

/** A close frame payload: code (2 bytes) and reason. */
function closePayload(code: number, reason: Buffer | string = ""): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, typeof reason === "string" ? Buffer.from(reason) : reason]);
}

// ---- framing ----------------------------------------------------------------------------

function lengthCheck(kind: "text" | "binary", length: number): Check {
  const form = minimalForm(length);
  return check(
    "framing",
    `${kind}-${length}`,
    `a ${length}-byte ${kind} message (${form}-bit length form) is echoed byte for byte in a minimally encoded frame`,
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      const payload = kind === "text" ? utf8Of(length) : bytes(length, length);
      const opcode = kind === "text" ? Opcode.TEXT : Opcode.BINARY;
      raw.sendFrame(opcode, payload);
      await expectEcho(raw, opcode, payload);
      const [seen] = messagesOf(await ctx.events(id));
      assertSame(seen?.kind, kind === "text" ? "string" : "binary", "the message hook's message type");
      assertSame(seen?.length, kind === "text" ? payload.toString("utf8").length : length, "the message hook's message length");
    },
  );
}

const framingChecks: Check[] = [
  check("framing", "empty", "empty text and binary messages are echoed as empty frames of their type", async (ctx) => {
    const { raw } = await quiet(ctx);
    raw.write([frame(Opcode.TEXT, ""), frame(Opcode.BINARY, "")]);
    const text = await expectEcho(raw, Opcode.TEXT, Buffer.alloc(0), 0, "the empty text echo");
    await expectEcho(raw, Opcode.BINARY, Buffer.alloc(0), text.next, "the empty binary echo");
  }),
  ...[125, 126, 65535, 65536].flatMap((length) => [lengthCheck("text", length), lengthCheck("binary", length)]),
  check(
    "framing",
    "non-minimal-16",
    "5 bytes sent with the 16-bit length form (the sender broke a MUST; the receiver may accept): accepted and echoed",
    async (ctx) => {
      const { raw } = await quiet(ctx);
      raw.sendFrame(Opcode.TEXT, "hello", { lengthForm: 16 });
      await expectEcho(raw, Opcode.TEXT, Buffer.from("hello"));
    },
  ),
  check(
    "framing",
    "non-minimal-64",
    "5 bytes sent with the 64-bit length form: accepted and echoed, the echo minimally encoded",
    async (ctx) => {
      const { raw } = await quiet(ctx);
      raw.sendFrame(Opcode.BINARY, Buffer.from([1, 2, 3, 4, 5]), { lengthForm: 64 });
      await expectEcho(raw, Opcode.BINARY, Buffer.from([1, 2, 3, 4, 5]));
    },
  ),
  check(
    "framing",
    "length-msb",
    "a 64-bit length with the most significant bit set fails the connection: 1002 or 1009, hook and close frame",
    (ctx, id) =>
      sendAndExpectFailure(
        ctx,
        id,
        [frame(Opcode.BINARY, "hello", { lengthForm: 64, declaredLength: 0x8000000000000005n })],
        [1002, 1009],
      ),
  ),
  check("framing", "rsv1-no-extension", "RSV1 without a negotiated extension: 1002, hook and close frame", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.TEXT, "rsv1", { rsv1: true })], [1002]),
  ),
  check("framing", "rsv2", "RSV2 set: 1002, hook and close frame", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.TEXT, "rsv2", { rsv2: true })], [1002]),
  ),
  check("framing", "rsv3", "RSV3 set: 1002, hook and close frame", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.BINARY, "rsv3", { rsv3: true })], [1002]),
  ),
  check("framing", "reserved-data-opcodes", "reserved data opcodes 3-7: each 1002, hook and close frame", (ctx, id) =>
    expectEachFails(
      ctx,
      id,
      [3, 4, 5, 6, 7],
      (op) => `opcode ${op}`,
      (op) => [frame(op, "reserved")],
      [1002],
    ),
  ),
  check("framing", "reserved-control-opcodes", "reserved control opcodes 0xB-0xF: each 1002, hook and close frame", (ctx, id) =>
    expectEachFails(
      ctx,
      id,
      [0xb, 0xc, 0xd, 0xe, 0xf],
      (op) => `opcode 0x${op.toString(16).toUpperCase()}`,
      (op) => [frame(op, "reserved")],
      [1002],
    ),
  ),
  check("framing", "unmasked", "an unmasked client frame: 1002, hook and close frame", async (ctx, checkId) => {
    const { id, raw } = await quiet(ctx);
    // Unmasked, 12 bytes: 4 zero bytes then "unmasked". A server that ignores the MASK bit reads the
    // zeros as the key and the 4 bytes after as the rest of the payload, and echoes "unmasked!!!!".
    raw.write([
      frame(Opcode.TEXT, Buffer.concat([Buffer.alloc(4), Buffer.from("unmasked")]), { mask: false }),
      Buffer.from("!!!!"),
    ]);
    const first = await hookOrFrame(ctx, id, raw, (f) => f.opcode === Opcode.TEXT);
    if (first.frame !== undefined) {
      return deviationOrFail(
        ctx.adapter,
        checkId,
        `not rejected: echoed "${first.frame.payload.toString("utf8")}"`,
        "an unmasked frame must fail the connection",
      );
    }
    return expectFailure(ctx, checkId, id, raw, [1002]);
  }),
  check("framing", "zero-mask-key", "a frame masked with the all-zero key is valid and echoed", async (ctx) => {
    const { raw } = await quiet(ctx);
    raw.sendFrame(Opcode.TEXT, "zero key", { maskKey: Buffer.alloc(4) });
    await expectEcho(raw, Opcode.TEXT, Buffer.from("zero key"));
  }),
];

// ---- fragmentation ----------------------------------------------------------------------

/** Frames for `parts` as one fragmented message of type `opcode`. */
function fragments(opcode: number, parts: (Buffer | string)[], options: FrameOptions = {}): Buffer[] {
  return parts.map((part, i) => frame(i === 0 ? opcode : Opcode.CONTINUATION, part, { ...options, fin: i === parts.length - 1 }));
}

async function expectOneMessage(ctx: CheckContext, id: string, kind: "string" | "binary", length: number): Promise<void> {
  const seen = messagesOf(await ctx.events(id));
  assertSame(seen.length, 1, `the message hook ran ${seen.length} times for one fragmented message`);
  assertSame(seen[0]?.kind, kind, "the message hook's message type");
  assertSame(seen[0]?.length, length, "the message hook's message length");
}

function fragmentedTextCheck(name: string, count: number): Check {
  return check(
    "fragmentation",
    name,
    `a text message in ${count} fragments reaches the message hook once and is echoed as one message, byte for byte`,
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      const parts = Array.from({ length: count }, (_, i) => Buffer.from(`part ${i} é€😀|`));
      raw.write(fragments(Opcode.TEXT, parts));
      const whole = Buffer.concat(parts);
      await expectEcho(raw, Opcode.TEXT, whole);
      await expectOneMessage(ctx, id, "string", whole.toString("utf8").length);
    },
  );
}

const fragmentationChecks: Check[] = [
  fragmentedTextCheck("two", 2),
  fragmentedTextCheck("three", 3),
  fragmentedTextCheck("hundred", 100),
  check(
    "fragmentation",
    "binary",
    "a binary message in 3 fragments is echoed as one binary message, byte for byte",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      const parts = [bytes(700, 1), bytes(1, 2), bytes(5000, 3)];
      raw.write(fragments(Opcode.BINARY, parts));
      await expectEcho(raw, Opcode.BINARY, Buffer.concat(parts));
      await expectOneMessage(ctx, id, "binary", 5701);
    },
  ),
  check(
    "fragmentation",
    "empty-fragments",
    "empty fragments (first, middle, last) add nothing: the message is echoed intact",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      raw.write(fragments(Opcode.TEXT, ["", "abc", "", "def", ""]));
      await expectEcho(raw, Opcode.TEXT, Buffer.from("abcdef"));
      await expectOneMessage(ctx, id, "string", 6);
    },
  ),
  check(
    "fragmentation",
    "ping-between",
    "a ping between fragments is answered at once (pong before the echo) and the message stays intact",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      const [first, last] = fragments(Opcode.TEXT, ["Hello, ", "fragmented world"]);
      raw.write([first as Buffer, frame(Opcode.PING, "between"), last as Buffer]);
      const pong = await raw.nextFrame((f) => f.opcode === Opcode.PONG);
      assertSame(pong.payload.toString(), "between", "the pong must carry the ping's payload");
      const echo = await expectEcho(raw, Opcode.TEXT, Buffer.from("Hello, fragmented world"));
      assert.ok(raw.frames.indexOf(pong) < echo.start, "the pong must come before the echo of the message it interrupted");
      await expectOneMessage(ctx, id, "string", 23);
      const ping = await ctx.waitEvent(id, (e) => e.type === "ping", "the ping hook");
      assertSame(ping.data, "between", "the ping hook's data");
    },
  ),
  check(
    "fragmentation",
    "pong-between",
    "an unsolicited pong between fragments reaches the pong hook and the message stays intact",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      const [first, last] = fragments(Opcode.TEXT, ["before ", "after"]);
      raw.write([first as Buffer, frame(Opcode.PONG, "pong-mid"), last as Buffer]);
      await expectEcho(raw, Opcode.TEXT, Buffer.from("before after"));
      await expectOneMessage(ctx, id, "string", 12);
      const pong = await ctx.waitEvent(id, (e) => e.type === "pong", "the pong hook");
      assertSame(pong.data, "pong-mid", "the pong hook's data");
    },
  ),
  check(
    "fragmentation",
    "close-between",
    "a close between fragments: the hook gets its code and reason, the close is echoed, the partial message is dropped",
    async (ctx, checkId) => {
      const { id, raw } = await quiet(ctx);
      const [first, last] = fragments(Opcode.TEXT, ["partial ", "never completed"]);
      raw.write([first as Buffer, frame(Opcode.CLOSE, closePayload(1000, "mid-message")), last as Buffer]);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      const wire = await raw.waitCloseOrEnd();
      const delivered = messagesOf(await ctx.events(id)).length;
      const observed = `${describeHook(hook)}; wire ${describeWire(wire)}${delivered > 0 ? `; ${delivered} message(s) delivered` : ""}`;
      if (hook.code === 1000 && hook.reason === "mid-message" && wire.closeFrame?.code === 1000 && delivered === 0) return;
      return deviationOrFail(ctx.adapter, checkId, observed, 'expected hook 1000 "mid-message", a 1000 close frame, no message');
    },
  ),
  check("fragmentation", "continuation-without-start", "a continuation frame with no message open: 1002", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.CONTINUATION, "orphan")], [1002]),
  ),
  check(
    "fragmentation",
    "text-while-open",
    "a new text frame while a fragmented message is open: 1002, neither message delivered",
    (ctx, id) =>
      sendAndExpectFailure(ctx, id, [frame(Opcode.TEXT, "first", { fin: false }), frame(Opcode.TEXT, "second")], [1002]),
  ),
  check(
    "fragmentation",
    "binary-while-open",
    "a new binary frame while a fragmented text message is open: 1002, neither message delivered",
    async (ctx, checkId) => {
      const { id, raw } = await quiet(ctx);
      raw.write([frame(Opcode.TEXT, "first", { fin: false }), frame(Opcode.BINARY, b(1, 2, 3))]);
      const first = await hookOrFrame(ctx, id, raw, (f) => f.opcode === Opcode.BINARY);
      if (first.frame !== undefined) {
        return deviationOrFail(
          ctx.adapter,
          checkId,
          `not rejected: a binary message echoed (${hex(first.frame.payload)})`,
          "a binary frame inside an open fragmented message must fail the connection",
        );
      }
      return expectFailure(ctx, checkId, id, raw, [1002]);
    },
  ),
];

// ---- utf8 -------------------------------------------------------------------------------

function validTextCheck(name: string, title: string, payload: Buffer): Check {
  return check("utf8", name, title, async (ctx) => {
    const { raw } = await quiet(ctx);
    raw.sendFrame(Opcode.TEXT, payload);
    await expectEcho(raw, Opcode.TEXT, payload);
  });
}

function invalidTextCheck(name: string, title: string, parts: Buffer[]): Check {
  return check("utf8", name, title, (ctx, id) => sendAndExpectFailure(ctx, id, fragments(Opcode.TEXT, parts), [1007]));
}

const utf8Checks: Check[] = [
  validTextCheck(
    "bom-prefix",
    "a leading BOM (EF BB BF 68 69) is data: echoed byte for byte, BOM kept",
    b(0xef, 0xbb, 0xbf, 0x68, 0x69),
  ),
  validTextCheck("bom-only", "a message that is only a BOM (EF BB BF) is echoed as it is", b(0xef, 0xbb, 0xbf)),
  validTextCheck(
    "noncharacters",
    "noncharacters U+FFFE, U+FFFF, U+FDD0 are valid UTF-8 and pass through",
    b(0xef, 0xbf, 0xbe, 0x20, 0xef, 0xbf, 0xbf, 0x20, 0xef, 0xb7, 0x90),
  ),
  validTextCheck(
    "boundaries",
    "code points at every encoding boundary (U+0000, U+007F, U+0080, U+07FF, U+0800, U+FFFD, U+10000, U+10FFFF) pass through",
    b(0x00, 0x7f, 0xc2, 0x80, 0xdf, 0xbf, 0xe0, 0xa0, 0x80, 0xef, 0xbf, 0xbd, 0xf0, 0x90, 0x80, 0x80, 0xf4, 0x8f, 0xbf, 0xbf),
  ),
  check(
    "utf8",
    "split-4byte",
    "U+1F600 split across fragments at every byte boundary (1|3, 2|2, 3|1, 1|1|1|1) is valid: each echoed intact",
    async (ctx) => {
      const { raw } = await quiet(ctx);
      const emoji = b(0xf0, 0x9f, 0x98, 0x80);
      const splits = [[1], [2], [3], [1, 2, 3]];
      let from = 0;
      for (const cuts of splits) {
        const parts: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, 4]) {
          parts.push(emoji.subarray(at, cut));
          at = cut;
        }
        raw.write(fragments(Opcode.TEXT, parts));
        const echo = await expectEcho(
          raw,
          Opcode.TEXT,
          emoji,
          from,
          `the echo of the split ${parts.map((p) => p.length).join("|")}`,
        );
        from = echo.next;
      }
    },
  ),
  invalidTextCheck("overlong-2", 'an overlong 2-byte encoding (C0 AF): 1007 "invalid payload"', [b(0x61, 0xc0, 0xaf)]),
  invalidTextCheck("overlong-3", 'an overlong 3-byte encoding (E0 80 AF): 1007 "invalid payload"', [b(0x61, 0xe0, 0x80, 0xaf)]),
  invalidTextCheck("surrogate", 'an encoded surrogate (ED A0 80): 1007 "invalid payload"', [b(0x61, 0xed, 0xa0, 0x80)]),
  invalidTextCheck("above-max", 'a code point above U+10FFFF (F4 90 80 80): 1007 "invalid payload"', [
    b(0x61, 0xf4, 0x90, 0x80, 0x80),
  ]),
  invalidTextCheck(
    "invalid-last-fragment",
    'valid fragments, then an invalid byte (FF) only in the last one: 1007 "invalid payload"',
    [Buffer.from("valid start "), Buffer.from("still valid "), b(0x21, 0xff)],
  ),
  invalidTextCheck(
    "truncated-end",
    'a message ending inside a character (E2 82 of €), across fragments: 1007 "invalid payload"',
    [Buffer.from("price: 5"), b(0xe2), b(0x82)],
  ),
];

// ---- control ----------------------------------------------------------------------------

function pingCheck(name: string, payload: Buffer): Check {
  return check(
    "control",
    name,
    `a ping with ${payload.length} bytes is answered by a pong with the same payload; the ping hook sees it`,
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      raw.sendFrame(Opcode.PING, payload);
      const pong = await raw.nextFrame((f) => f.opcode === Opcode.PONG);
      assertSameBytes(pong.payload, payload, "the pong payload");
      assertSame(pong.fin, true, "a pong must not be fragmented");
      const ping = await ctx.waitEvent(id, (e) => e.type === "ping", "the ping hook");
      assertSame(ping.data, payload.toString("utf8"), "the ping hook's data");
    },
  );
}

const controlChecks: Check[] = [
  pingCheck("ping-empty", Buffer.alloc(0)),
  pingCheck("ping-125", bytes(125, 125)),
  check("control", "ping-126", "a ping with 126 bytes (over the 125-byte control limit): 1002", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.PING, bytes(126, 126))], [1002]),
  ),
  check("control", "ping-fragmented", "a fragmented ping (FIN clear): 1002", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.PING, "part", { fin: false }), frame(Opcode.CONTINUATION, "rest")], [1002]),
  ),
  check(
    "control",
    "pong-unsolicited",
    "an unsolicited pong is ignored: the pong hook sees it and the connection still echoes",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      raw.write([frame(Opcode.PONG, "unsolicited"), frame(Opcode.TEXT, "still open")]);
      await expectEcho(raw, Opcode.TEXT, Buffer.from("still open"));
      const pong = await ctx.waitEvent(id, (e) => e.type === "pong", "the pong hook");
      assertSame(pong.data, "unsolicited", "the pong hook's data");
    },
  ),
  check("control", "close-126", "a close frame with a 126-byte payload: 1002", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.CLOSE, closePayload(1000, "r".repeat(124)))], [1002]),
  ),
];

// ---- close ------------------------------------------------------------------------------

/** Closes a fresh quiet connection with `payload`; returns what the hook and the wire saw. */
async function closeWith(ctx: CheckContext, payload: Buffer): Promise<{ hook: FixtureEvent; wire: CloseOrEnd }> {
  const { id, raw } = await quiet(ctx);
  raw.sendFrame(Opcode.CLOSE, payload);
  const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
  const wire = await raw.waitCloseOrEnd();
  return { hook, wire };
}

/** Each valid code: the hook gets it with the reason and the server echoes the code. */
async function expectCodesAccepted(ctx: CheckContext, checkId: string, codes: number[]): Promise<void | CheckOutcome> {
  const results = await Promise.all(
    codes.map(async (code) => {
      const reason = `bye ${code}`;
      const { hook, wire } = await closeWith(ctx, closePayload(code, reason));
      const ok = hook.code === code && hook.reason === reason && wire.closeFrame?.code === code;
      return { ok, observed: `${code} → ${describeHook(hook)}; wire ${describeWire(wire)}` };
    }),
  );
  if (results.every((r) => r.ok)) return;
  return deviationOrFail(
    ctx.adapter,
    checkId,
    results.map((r) => r.observed).join(" / "),
    "the close hook must get each code with its reason, and the server must echo the code",
  );
}

/** Each invalid code fails the connection with 1002 (hook and close frame). */
async function expectCodesRefused(ctx: CheckContext, checkId: string, codes: number[]): Promise<void | CheckOutcome> {
  return expectEachFails(
    ctx,
    checkId,
    codes,
    (code) => `${code}`,
    (code) => [frame(Opcode.CLOSE, closePayload(code, "invalid"))],
    [1002],
  );
}

function acceptedCodeCheck(code: number, meaning: string): Check {
  return check(
    "close",
    `code-${code}`,
    `client close ${code} (${meaning}) + reason: the close hook gets both, the server echoes ${code}`,
    (ctx, id) => expectCodesAccepted(ctx, id, [code]),
  );
}

const closeChecks: Check[] = [
  acceptedCodeCheck(1000, "normal"),
  acceptedCodeCheck(1001, "going away"),
  acceptedCodeCheck(1002, "protocol error"),
  acceptedCodeCheck(1003, "unsupported data"),
  acceptedCodeCheck(1007, "invalid payload"),
  acceptedCodeCheck(1008, "policy violation"),
  acceptedCodeCheck(1009, "message too big"),
  acceptedCodeCheck(1010, "mandatory extension"),
  acceptedCodeCheck(1011, "internal error"),
  check(
    "close",
    "codes-1012-1014",
    "client close 1012, 1013, 1014 (registered by IANA after RFC 6455; sendable per the contract): hook and echo",
    (ctx, id) => expectCodesAccepted(ctx, id, [1012, 1013, 1014]),
  ),
  check("close", "codes-3000-3999", "client close 3000 and 3999 (registered range): hook and echo", (ctx, id) =>
    expectCodesAccepted(ctx, id, [3000, 3999]),
  ),
  check("close", "codes-4000-4999", "client close 4000 and 4999 (private range): hook and echo", (ctx, id) =>
    expectCodesAccepted(ctx, id, [4000, 4999]),
  ),
  check("close", "reserved-codes", "client close 1004, 1005, 1006, 1015 (reserved, never on the wire): each 1002", (ctx, id) =>
    expectCodesRefused(ctx, id, [1004, 1005, 1006, 1015]),
  ),
  check("close", "codes-below-1000", "client close 0 and 999: each 1002", (ctx, id) => expectCodesRefused(ctx, id, [0, 999])),
  check("close", "codes-1016-2999", "client close 1016, 1100, 2000, 2999 (unassigned): each 1002", (ctx, id) =>
    expectCodesRefused(ctx, id, [1016, 1100, 2000, 2999]),
  ),
  check("close", "codes-above-4999", "client close 5000 and 65535: each 1002", (ctx, id) =>
    expectCodesRefused(ctx, id, [5000, 65535]),
  ),
  check("close", "one-byte-payload", "a close frame with a 1-byte payload (half a code): 1002", (ctx, id) =>
    sendAndExpectFailure(ctx, id, [frame(Opcode.CLOSE, b(0x03))], [1002]),
  ),
  check(
    "close",
    "invalid-utf8-reason",
    'a close reason that is not UTF-8: the connection fails with 1007 "invalid payload" (the contract: invalid UTF-8 is 1007)',
    (ctx, id) => sendAndExpectFailure(ctx, id, [frame(Opcode.CLOSE, closePayload(1000, b(0x62, 0xff, 0x65)))], [1007]),
  ),
  check(
    "close",
    "code-only",
    'client close 1000 without a reason: the hook gets 1000 and "", the server echoes 1000',
    async (ctx, checkId) => {
      const { hook, wire } = await closeWith(ctx, closePayload(1000));
      if (hook.code === 1000 && hook.reason === "" && wire.closeFrame?.code === 1000) return;
      return deviationOrFail(
        ctx.adapter,
        checkId,
        `${describeHook(hook)}; wire ${describeWire(wire)}`,
        'expected hook 1000 "" and a 1000 close frame',
      );
    },
  ),
  check(
    "close",
    "empty",
    'an empty close frame: the hook gets 1005 and "", the server answers a close frame without a code',
    async (ctx, checkId) => {
      const { hook, wire } = await closeWith(ctx, Buffer.alloc(0));
      if (hook.code === 1005 && hook.reason === "" && wire.closeFrame !== undefined && wire.closeFrame.code === undefined) return;
      return deviationOrFail(
        ctx.adapter,
        checkId,
        `${describeHook(hook)}; wire ${describeWire(wire)}`,
        'expected hook 1005 "" and an empty close frame in answer',
      );
    },
  ),
  check(
    "close",
    "max-reason",
    "a 123-byte close reason (the most a close frame holds) reaches the hook intact",
    async (ctx, checkId) => {
      const reason = `${"é".repeat(61)}!`;
      assertSame(Buffer.byteLength(reason), 123, "the reason's size");
      const { hook, wire } = await closeWith(ctx, closePayload(4321, reason));
      if (hook.code === 4321 && hook.reason === reason && wire.closeFrame?.code === 4321) return;
      return deviationOrFail(
        ctx.adapter,
        checkId,
        `hook ${String(hook.code)} with a ${Buffer.byteLength(String(hook.reason))}-byte reason; wire ${describeWire(wire)}`,
        "expected hook 4321 with the 123-byte reason and a 4321 close frame",
      );
    },
  ),
  check(
    "close",
    "data-after-close",
    "data frames after the client's close frame never reach the message hook (the one before it does)",
    async (ctx) => {
      const { id, raw } = await quiet(ctx);
      raw.write([
        frame(Opcode.TEXT, "before close"),
        frame(Opcode.CLOSE, closePayload(1000, "done")),
        frame(Opcode.TEXT, "after close"),
        frame(Opcode.BINARY, bytes(300)),
      ]);
      const hook = await ctx.waitEvent(id, (e) => e.type === "close", "the close hook");
      assertSame(hook.code, 1000, "the close hook's code");
      await raw.waitEnd();
      const seen = messagesOf(await ctx.events(id));
      assert.deepEqual(
        seen.map((e) => `${String(e.kind)}:${String(e.length)}`),
        ["string:12"],
        "only the message sent before the close may reach the message hook",
      );
    },
  ),
];

// ---- deflate ----------------------------------------------------------------------------

interface Extension {
  name: string;
  params: [string, string | true][];
}

/** Parses a Sec-WebSocket-Extensions value (no quoted commas in what the checks send or expect). */
function parseExtensions(header: string): Extension[] {
  if (header.trim() === "") return [];
  return header.split(",").map((item) => {
    const [name = "", ...rest] = item.split(";").map((p) => p.trim());
    const params = rest.map((p): [string, string | true] => {
      const eq = p.indexOf("=");
      if (eq === -1) return [p.toLowerCase(), true];
      return [
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, "$1"),
      ];
    });
    return { name: name.toLowerCase(), params };
  });
}

const RESPONSE_PARAMS = [
  "server_no_context_takeover",
  "client_no_context_takeover",
  "server_max_window_bits",
  "client_max_window_bits",
];

/** RFC 7692 §7.1: what is wrong with `answer` as the response to `offer` (empty: a valid response). */
function answerProblems(answer: Extension[], offer: Extension, profile: string): string[] {
  const problems: string[] = [];
  if (answer.length !== 1 || answer[0]?.name !== "permessage-deflate")
    return ["the answer must be exactly one permessage-deflate"];
  const params = new Map<string, string | true>();
  for (const [name, value] of (answer[0] as Extension).params) {
    if (!RESPONSE_PARAMS.includes(name)) problems.push(`"${name}" is not a response parameter`);
    if (params.has(name)) problems.push(`"${name}" appears twice`);
    params.set(name, value);
  }
  const offered = new Map(offer.params);
  const bits = (value: string | true | undefined) =>
    typeof value === "string" && /^(8|9|1[0-5])$/.test(value) ? Number(value) : undefined;
  for (const name of ["server_no_context_takeover", "client_no_context_takeover"]) {
    if (params.has(name) && params.get(name) !== true) problems.push(`${name} must have no value`);
  }
  const server = params.get("server_max_window_bits");
  const serverOffered = offered.get("server_max_window_bits");
  if (server !== undefined && bits(server) === undefined) problems.push(`server_max_window_bits=${String(server)} is not 8-15`);
  if (serverOffered !== undefined) {
    if (server === undefined)
      problems.push(
        `server_max_window_bits=${String(serverOffered)} was offered: accept it with a value ≤ ${String(serverOffered)} or decline (§7.1.2.1)`,
      );
    else if ((bits(server) ?? 99) > Number(serverOffered))
      problems.push(`server_max_window_bits=${String(server)} is above the offered ${String(serverOffered)}`);
  }
  const client = params.get("client_max_window_bits");
  const clientOffered = offered.get("client_max_window_bits");
  if (client !== undefined) {
    if (clientOffered === undefined)
      problems.push("client_max_window_bits was not offered, so it must not be answered (§7.1.2.2)");
    else if (bits(client) === undefined)
      problems.push(`client_max_window_bits in a response needs a value 8-15, got ${String(client)}`);
    else if (clientOffered !== true && (bits(client) as number) > Number(clientOffered))
      problems.push(`client_max_window_bits=${String(client)} is above the offered ${String(clientOffered)}`);
  }
  if (profile === "shared" && !params.has("server_no_context_takeover"))
    problems.push('compression "shared" compresses without context: server_no_context_takeover must be answered');
  return problems;
}

/** The negotiated rules for both directions. */
function rulesOf(answer: Extension, offer: Extension): { server: DeflateRules; client: DeflateRules } {
  const params = new Map(answer.params);
  const offered = new Map(offer.params);
  const clientOffered = offered.get("client_max_window_bits");
  const clientBits = Math.min(
    typeof params.get("client_max_window_bits") === "string" ? Number(params.get("client_max_window_bits")) : 15,
    typeof clientOffered === "string" ? Number(clientOffered) : 15,
  );
  return {
    server: {
      windowBits: typeof params.get("server_max_window_bits") === "string" ? Number(params.get("server_max_window_bits")) : 15,
      contextTakeover: !params.has("server_no_context_takeover"),
    },
    client: { windowBits: clientBits, contextTakeover: !params.has("client_no_context_takeover") },
  };
}

/** Reads the next message, inflating it with `inflater` when compressed. */
async function readText(
  raw: RawClient,
  from: number,
  inflater?: MessageInflater,
): Promise<{ text: Buffer; message: RawMessage }> {
  const message = await raw.nextMessage(from);
  if (!message.compressed) return { text: message.payload, message };
  assert.ok(inflater !== undefined, "the server compressed a message on a connection without permessage-deflate");
  try {
    return { text: inflater.inflate(message.payload), message };
  } catch (error) {
    throw new Error(
      `a compressed message from the server does not inflate with window ${inflater.rules.windowBits} bits and ${inflater.rules.contextTakeover ? "context takeover" : "no context takeover"}: ${(error as Error).message}`,
    );
  }
}

/** The info command's answer: what socket.extensions says. */
async function socketExtensions(
  raw: RawClient,
  from: number,
  inflater?: MessageInflater,
): Promise<{ extensions: string; next: number }> {
  raw.sendText(cmd({ op: "info" }));
  const { text, message } = await readText(raw, from, inflater);
  return { extensions: (JSON.parse(text.toString("utf8")) as { extensions: string }).extensions, next: message.next };
}

type Expect = "accept" | "decline" | "accept-or-decline";

interface OfferCase {
  name: string;
  offer: string;
  expect: Expect;
  /** Index of the offer that must be the one accepted (default 0). */
  accepted?: number;
  why: string;
}

const OFFERS: OfferCase[] = [
  { name: "plain", offer: "permessage-deflate", expect: "accept", why: "a plain offer is accepted" },
  {
    name: "client-max-window-bits",
    offer: "permessage-deflate; client_max_window_bits",
    expect: "accept",
    why: "client_max_window_bits without a value is accepted",
  },
  {
    name: "client-max-window-bits-10",
    offer: "permessage-deflate; client_max_window_bits=10",
    expect: "accept",
    why: "client_max_window_bits=10 is accepted (an answered value must be ≤ 10)",
  },
  {
    name: "server-max-window-bits-10",
    offer: "permessage-deflate; server_max_window_bits=10",
    expect: "accept-or-decline",
    why: "server_max_window_bits=10 is declined or answered with server_max_window_bits ≤ 10 (§7.1.2.1)",
  },
  {
    name: "server-max-window-bits-bare",
    offer: "permessage-deflate; server_max_window_bits",
    expect: "decline",
    why: "server_max_window_bits without a value is invalid: declined, the handshake succeeds",
  },
  {
    name: "server-max-window-bits-16",
    offer: "permessage-deflate; server_max_window_bits=16",
    expect: "decline",
    why: "server_max_window_bits=16 is out of range: declined, the handshake succeeds",
  },
  {
    name: "server-max-window-bits-7",
    offer: "permessage-deflate; server_max_window_bits=7",
    expect: "decline",
    why: "server_max_window_bits=7 is out of range: declined, the handshake succeeds",
  },
  {
    name: "server-max-window-bits-abc",
    offer: "permessage-deflate; server_max_window_bits=abc",
    expect: "decline",
    why: "server_max_window_bits=abc is not a number: declined, the handshake succeeds",
  },
  {
    name: "duplicate-parameter",
    offer: "permessage-deflate; client_max_window_bits; client_max_window_bits",
    expect: "decline",
    why: "a parameter given twice: declined, the handshake succeeds",
  },
  {
    name: "unknown-parameter",
    offer: "permessage-deflate; x_unknown_parameter",
    expect: "decline",
    why: "an unknown parameter: declined, the handshake succeeds",
  },
  {
    name: "first-offer-invalid",
    offer: "permessage-deflate; x_unknown_parameter, permessage-deflate; client_max_window_bits",
    expect: "accept",
    accepted: 1,
    why: "two offers, the first unacceptable: the second is accepted",
  },
  {
    name: "unknown-extension-first",
    offer: "x-unknown-extension, permessage-deflate",
    expect: "accept",
    accepted: 1,
    why: "an unknown extension before permessage-deflate: permessage-deflate is accepted",
  },
  {
    name: "empty-header",
    offer: "",
    expect: "decline",
    why: "an empty Sec-WebSocket-Extensions header is ignored: 101 without extensions",
  },
];

/**
 * Negotiates `offer` on `profile` and checks everything the answer governs: that it is a valid
 * response to the offer, that socket.extensions is exactly the 101's header, and that compressed
 * messages go both ways under the negotiated window and context rules (or plain ones when declined).
 */
async function negotiate(ctx: CheckContext, profile: string, offer: OfferCase): Promise<void> {
  const { raw } = await quiet(ctx, profile, { "Sec-WebSocket-Extensions": offer.offer });
  const header = raw.response.headers["sec-websocket-extensions"];
  const answer = parseExtensions(header ?? "");
  const accepted = answer.length > 0;
  if (offer.expect === "accept") assert.ok(accepted, `the offer "${offer.offer}" must be accepted; the 101 has no extensions`);
  if (offer.expect === "decline")
    assert.ok(!accepted, `the offer "${offer.offer}" must be declined; the 101 answered "${String(header)}"`);
  const probe = windowProbe(profile.length + offer.name.length);
  if (!accepted) {
    raw.sendText(probe.toString());
    const echo = await expectEcho(raw, Opcode.TEXT, probe, 0, "the uncompressed echo");
    const { extensions } = await socketExtensions(raw, echo.next);
    assertSame(extensions, "", "socket.extensions (nothing was negotiated)");
    return;
  }
  const offered = parseExtensions(offer.offer)[offer.accepted ?? 0] as Extension;
  const problems = answerProblems(answer, offered, profile);
  assert.ok(problems.length === 0, `"${String(header)}" is not a valid answer to "${offer.offer}": ${problems.join("; ")}`);
  const rules = rulesOf(answer[0] as Extension, offered);
  const inflater = new MessageInflater(rules.server);
  const deflater = new MessageDeflater(rules.client);
  // The same 4000 bytes twice: with context takeover the second refers back to the first.
  raw.write([
    frame(Opcode.TEXT, deflater.deflate(probe), { rsv1: true }),
    frame(Opcode.TEXT, deflater.deflate(probe), { rsv1: true }),
  ]);
  let from = 0;
  for (const which of ["first", "second"]) {
    const { text, message } = await readText(raw, from, inflater).catch((error: Error) => {
      throw new Error(`the ${which} compressed message was not echoed: ${error.message}`);
    });
    assert.ok(message.compressed, `the ${which} 4000-byte echo must be compressed (over the 1024-byte threshold)`);
    assertSameBytes(text, probe, `the ${which} echo, inflated`);
    from = message.next;
  }
  const { extensions } = await socketExtensions(raw, from, inflater);
  assertSame(extensions, header, "socket.extensions (must be exactly the 101's Sec-WebSocket-Extensions)");
}

function offerCheck(profile: "shared" | "dedicated", offer: OfferCase): Check {
  return check(
    "deflate",
    `${profile}.${offer.name}`,
    `${profile}: offer "${offer.offer}": ${offer.why}; ${offer.expect === "decline" ? "socket.extensions is empty, data flows plain" : "socket.extensions equals the answer, data flows by its rules"}`,
    (ctx) => negotiate(ctx, profile, offer),
  );
}

/** Offers plain permessage-deflate on `profile`; returns the connection and a deflater bound by the answer. */
async function deflateConnection(ctx: CheckContext, profile: string) {
  const offer = "permessage-deflate; client_max_window_bits";
  const { id, raw } = await quiet(ctx, profile, { "Sec-WebSocket-Extensions": offer });
  const answer = parseExtensions(raw.response.headers["sec-websocket-extensions"] ?? "");
  assertSame(answer[0]?.name, "permessage-deflate", `"${offer}" must be accepted on ${profile}`);
  const rules = rulesOf(answer[0] as Extension, parseExtensions(offer)[0] as Extension);
  return { id, raw, deflater: new MessageDeflater(rules.client), inflater: new MessageInflater(rules.server) };
}

function perProfileDeflateChecks(profile: "shared" | "dedicated"): Check[] {
  return [
    ...OFFERS.map((offer) => offerCheck(profile, offer)),
    check(
      "deflate",
      `${profile}.fragmented-compressed`,
      `${profile}: a compressed message in 3 fragments (RSV1 on the first only) is inflated and echoed intact`,
      async (ctx) => {
        const { raw, deflater, inflater } = await deflateConnection(ctx, profile);
        const probe = windowProbe(42);
        const compressed = deflater.deflate(probe);
        const third = Math.floor(compressed.length / 3);
        raw.write([
          frame(Opcode.TEXT, compressed.subarray(0, third), { rsv1: true, fin: false }),
          frame(Opcode.CONTINUATION, compressed.subarray(third, 2 * third), { fin: false }),
          frame(Opcode.CONTINUATION, compressed.subarray(2 * third)),
        ]);
        const { text } = await readText(raw, 0, inflater);
        assertSameBytes(text, probe, "the echo, inflated");
      },
    ),
    check(
      "deflate",
      `${profile}.corrupt`,
      `${profile}: compressed data that does not inflate: 1007 "invalid payload"`,
      async (ctx, checkId) => {
        const { id, raw } = await deflateConnection(ctx, profile);
        // 0xff starts a deflate block of the reserved type 3: no inflater accepts it.
        raw.sendFrame(Opcode.TEXT, b(0xff, 0xff, 0xff, 0xff), { rsv1: true });
        return expectFailure(ctx, checkId, id, raw, [1007]);
      },
    ),
  ];
}

const deflateChecks: Check[] = [
  check(
    "deflate",
    "main.offer-declined",
    "compression disabled (main): an offer gets a 101 without extensions, socket.extensions is empty, data flows plain",
    (ctx) =>
      negotiate(ctx, "main", { name: "main", offer: "permessage-deflate; client_max_window_bits", expect: "decline", why: "" }),
  ),
  ...perProfileDeflateChecks("shared"),
  ...perProfileDeflateChecks("dedicated"),
  check("deflate", "rsv1-control", "shared: RSV1 on a ping (control frames are never compressed): 1002", async (ctx, checkId) => {
    const { id, raw } = await deflateConnection(ctx, "shared");
    raw.sendFrame(Opcode.PING, "compressed?", { rsv1: true });
    const first = await hookOrFrame(ctx, id, raw, (f) => f.opcode === Opcode.PONG);
    if (first.frame !== undefined) {
      return deviationOrFail(ctx.adapter, checkId, "not rejected: pong answered", "a ping with RSV1 must fail the connection");
    }
    return expectFailure(ctx, checkId, id, raw, [1002]);
  }),
  check(
    "deflate",
    "rsv1-continuation",
    "shared: RSV1 on a continuation frame (only a message's first frame may carry it): 1002",
    async (ctx, checkId) => {
      const { id, raw } = await deflateConnection(ctx, "shared");
      // "~" (0x7e) read as deflate starts a block of the reserved type 3: it cannot inflate by accident.
      raw.write([frame(Opcode.TEXT, "~~~~", { fin: false }), frame(Opcode.CONTINUATION, "~~~~", { rsv1: true })]);
      return expectFailure(ctx, checkId, id, raw, [1002]);
    },
  ),
  check(
    "deflate",
    "limits.inflated-over-limit",
    'limits: 5000 bytes compressed to a few dozen, over maxPayloadLength (1024) once inflated: 1009 "message too big"',
    async (ctx, checkId) => {
      const { id, raw, deflater } = await deflateConnection(ctx, "limits");
      const compressed = deflater.deflate(Buffer.from("z".repeat(5000)));
      assert.ok(compressed.length < 100);
      raw.sendFrame(Opcode.TEXT, compressed, { rsv1: true });
      return expectFailure(ctx, checkId, id, raw, [1009]);
    },
  ),
];

export const wireChecks: Check[] = [
  ...framingChecks,
  ...fragmentationChecks,
  ...utf8Checks,
  ...controlChecks,
  ...closeChecks,
  ...deflateChecks,
];
