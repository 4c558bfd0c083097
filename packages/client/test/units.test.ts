/** The pure parts, without sockets: backoff, the close-code policy, the outbox, stream cursors, liveness. */

import { encodeSequenced } from "@verb/protocol";
import { describe, expect, it } from "vitest";
import { backoffDelay, backoffWindow, DEFAULT_BACKOFF, spreadDelay } from "../src/backoff.js";
import type { DropReason } from "../src/errors.js";
import { Liveness } from "../src/heartbeat.js";
import { type DropPolicy, Outbox, type OutboxEntry } from "../src/outbox.js";
import { type CloseContext, classifyClose } from "../src/policy.js";
import { type Discontinuity, StreamTracker } from "../src/streams.js";

describe("backoff", () => {
  it("caps the window before the jitter: delays spread over [0, cap) at every attempt past the cap", () => {
    const backoff = { initialDelay: 100, maxDelay: 1000, factor: 2 };
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffWindow(attempt, backoff))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    for (const attempt of [0, 3, 4, 8, 30]) {
      const window = backoffWindow(attempt, backoff);
      const delays = Array.from({ length: 4000 }, () => backoffDelay(attempt, backoff));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThan(window);
      // Full jitter: uniform over the window, so a quarter of the delays fall in each quarter.
      for (let quarter = 0; quarter < 4; quarter++) {
        const share = delays.filter((d) => d >= (quarter * window) / 4 && d < ((quarter + 1) * window) / 4).length / 4000;
        expect(share).toBeGreaterThan(0.2);
        expect(share).toBeLessThan(0.3);
      }
      // Past the cap, clients do not meet at the cap (what jitter-then-cap does).
      expect(delays.filter((d) => d === backoff.maxDelay).length).toBe(0);
    }
  });

  it("takes the extremes of the random source as the bounds", () => {
    expect(backoffDelay(5, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(5, DEFAULT_BACKOFF, () => 0.999999)).toBe(15_999);
    expect(backoffDelay(20, DEFAULT_BACKOFF, () => 0.999999)).toBe(29_999);
    expect(spreadDelay(2000, () => 0.5)).toBe(1000);
    expect(spreadDelay(0)).toBe(0);
  });
});

describe("close-code policy", () => {
  const plain: CloseContext = { authFailed: false, shutdownNotice: false, closeCodes: undefined };
  const decide = (code: number, message = "", context = plain) => classifyClose(code, message, context);

  it("follows the README table", () => {
    expect(decide(1000)).toEqual({ reason: "server", action: "reconnect" });
    expect(decide(1001)).toEqual({ reason: "server", action: "reconnect" });
    expect(decide(1001, "", { ...plain, shutdownNotice: true })).toEqual({ reason: "shutdown", action: "reconnect" });
    expect(decide(1012, "", { ...plain, shutdownNotice: true })).toEqual({ reason: "shutdown", action: "reconnect" });
    expect(decide(1006)).toEqual({ reason: "lost", action: "reconnect" });
    expect(decide(1005)).toEqual({ reason: "lost", action: "reconnect" });
    expect(decide(1011)).toEqual({ reason: "error", action: "reconnect" });
    expect(decide(1013)).toEqual({ reason: "overload", action: "reconnect" });
    expect(decide(1008, "Authentication failed")).toEqual({ reason: "auth", action: "auth" });
    expect(decide(1008, "invalid hello: cursors must be an object")).toEqual({ reason: "policy", action: "auth" });
    expect(decide(1006, "", { ...plain, authFailed: true })).toEqual({ reason: "auth", action: "auth" });
    expect(decide(1009)).toEqual({ reason: "too-big", action: "stop" });
    expect(decide(1003)).toEqual({ reason: "unsupported", action: "stop" });
    expect(decide(1002)).toEqual({ reason: "protocol", action: "stop" });
    expect(decide(1007)).toEqual({ reason: "protocol", action: "stop" });
    expect(decide(3000)).toEqual({ reason: "auth", action: "auth" });
    expect(decide(3003)).toEqual({ reason: "policy", action: "stop" });
    expect(decide(3409)).toEqual({ reason: "replaced", action: "stop" });
    expect(decide(4408)).toEqual({ reason: "application", action: "reconnect" });
  });

  it("lets the application decide codes 3000-4999", () => {
    const context = { ...plain, closeCodes: { 4001: "stop", 4002: "auth", 3003: "reconnect" } as const };
    expect(decide(4001, "", context)).toEqual({ reason: "application", action: "stop" });
    expect(decide(4002, "", context)).toEqual({ reason: "application", action: "auth" });
    expect(decide(3003, "", context)).toEqual({ reason: "policy", action: "reconnect" });
    expect(decide(4003, "", context)).toEqual({ reason: "application", action: "reconnect" });
  });
});

describe("outbox", () => {
  type Entry = OutboxEntry<string>;
  const entry = (data: string, expires = 0): Entry => ({
    data,
    size: data.length,
    n: 0,
    request: false,
    expires,
    owner: data,
    live: true,
  });
  const make = (policy: DropPolicy, maxMessages = 3, maxBytes = 1000) => {
    const dropped: [string, DropReason][] = [];
    const released: string[] = [];
    const outbox = new Outbox<string>(
      { policy, maxMessages, maxBytes },
      { dropped: (e, reason) => dropped.push([e.owner as string, reason]), released: (e) => released.push(e.owner as string) },
    );
    const written: [number, string][] = [];
    const flush = (now = 0) => outbox.flush(now, (e) => written.push([e.n, e.data as string]));
    return { outbox, dropped, released, written, flush };
  };

  it("numbers in order, writes each once per connection, re-sends only what was not acknowledged", () => {
    const { outbox, written, flush } = make("drop-oldest", 10);
    for (const data of ["a", "b", "c"]) outbox.add(entry(data), 0);
    flush();
    flush();
    expect(written).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    outbox.acknowledge(1);
    outbox.add(entry("d"), 0);
    outbox.rewind();
    written.length = 0;
    flush();
    expect(written).toEqual([
      [2, "b"],
      [3, "c"],
      [4, "d"],
    ]);
    expect(outbox.resent).toBe(2);
    // A new session: everything held gets new numbers from 1.
    outbox.restart();
    outbox.rewind();
    written.length = 0;
    flush();
    expect(written).toEqual([
      [1, "b"],
      [2, "c"],
      [3, "d"],
    ]);
    outbox.acknowledge(3);
    expect(outbox.count).toBe(0);
    expect(outbox.next).toBe(4);
    // A resumed session that received more than this client numbered (a reload): numbers continue after it.
    outbox.acknowledge(40);
    outbox.add(entry("e"), 0);
    flush();
    expect(written.at(-1)).toEqual([41, "e"]);
  });

  it("drop-oldest drops queued messages and releases sent ones; drop-newest and reject refuse the new one", () => {
    const oldest = make("drop-oldest");
    for (const data of ["a", "b", "c"]) oldest.outbox.add(entry(data), 0);
    oldest.flush();
    oldest.outbox.add(entry("d"), 0);
    expect(oldest.released).toEqual(["a"]);
    oldest.outbox.rewind();
    oldest.outbox.add(entry("e"), 0);
    oldest.outbox.add(entry("f"), 0);
    expect(oldest.released).toEqual(["a", "b", "c"]);
    expect(oldest.dropped).toEqual([]);
    oldest.outbox.add(entry("g"), 0);
    expect(oldest.dropped).toEqual([["d", "full"]]);
    expect(oldest.outbox.count).toBe(3);

    const newest = make("drop-newest");
    for (const data of ["a", "b", "c"]) expect(newest.outbox.add(entry(data), 0)).toBe("held");
    expect(newest.outbox.add(entry("d"), 0)).toBe("dropped");
    const reject = make("reject");
    for (const data of ["a", "b", "c"]) reject.outbox.add(entry(data), 0);
    expect(reject.outbox.add(entry("d"), 0)).toBe("rejected");
    expect(reject.outbox.count).toBe(3);
  });

  it("bounds bytes, drops expired messages before they go out, and forgets removed ones", () => {
    const bytes = make("drop-oldest", 100, 10);
    bytes.outbox.add(entry("aaaa"), 0);
    bytes.outbox.add(entry("bbbb"), 0);
    bytes.outbox.add(entry("cccc"), 0);
    expect(bytes.dropped).toEqual([["aaaa", "full"]]);
    expect(bytes.outbox.add(entry("x".repeat(11)), 0)).toBe("dropped");
    expect(bytes.outbox.bytes).toBe(8);

    const expiring = make("drop-oldest", 10);
    expiring.outbox.add(entry("soon", 100), 0);
    expiring.outbox.add(entry("later", 1000), 0);
    const gone = entry("gone");
    expiring.outbox.add(gone, 0);
    expiring.outbox.remove(gone);
    expiring.flush(500);
    expect(expiring.written).toEqual([[1, "later"]]);
    expect(expiring.dropped).toEqual([["soon", "expired"]]);
  });

  it("stays compact over many messages", () => {
    const { outbox, flush } = make("drop-oldest", 100);
    for (let i = 1; i <= 10_000; i++) {
      outbox.add(entry(String(i)), 0);
      flush();
      if (i % 10 === 0) outbox.acknowledge(i);
    }
    expect(outbox.count).toBe(0);
  });
});

describe("stream cursors", () => {
  const make = (options = {}) => {
    const delivered: string[] = [];
    const replays: [string, number][] = [];
    const gaps: Discontinuity[] = [];
    const tracker = new StreamTracker(options, {
      deliver: (payload, stream, seq) => delivered.push(`${stream}#${seq}:${String(payload)}`),
      replay: (stream, from) => replays.push([stream, from]),
      discontinuity: (gap) => gaps.push(gap),
    });
    const text = (stream: string, seq: number, payload = `m${seq}`) => {
      const frame = encodeSequenced(stream, seq, payload) as string;
      expect(tracker.receiveText(frame, frame.indexOf("\n"))).toBe(true);
    };
    const skip = (stream: string, seq: number) => {
      const frame = `\u001e${JSON.stringify(stream)},${seq},s\n`;
      expect(tracker.receiveText(frame, frame.indexOf("\n"))).toBe(true);
    };
    return { tracker, delivered, replays, gaps, text, skip };
  };

  it("delivers in order once, drops repeats, advances on skips", () => {
    const { tracker, delivered, text, skip } = make();
    tracker.started({ type: "verb:stream", stream: "news", epoch: "e1", seq: 0 });
    text("news", 1);
    text("news", 1);
    skip("news", 2);
    text("news", 3);
    text("news", 2);
    expect(delivered).toEqual(["news#1:m1", "news#3:m3"]);
    expect(tracker.duplicates).toBe(2);
    expect(tracker.cursors()).toEqual({ news: { epoch: "e1", seq: 3 } });
  });

  it("reads stream names that need escaping, and many streams interleaved", () => {
    const { tracker, delivered, text } = make();
    for (const name of ['a "quoted", name', "b", "verb:user:7"])
      tracker.started({ type: "verb:stream", stream: name, epoch: "e", seq: 0 });
    text("b", 1);
    text('a "quoted", name', 1);
    text("b", 2);
    text("verb:user:7", 1, "x\ny");
    expect(delivered).toEqual(["b#1:m1", 'a "quoted", name#1:m1', "b#2:m2", "verb:user:7#1:x\ny"]);
  });

  it("holds messages after a gap, asks for a replay, and delivers in order once it is filled", () => {
    const { tracker, delivered, replays, gaps, text } = make();
    tracker.started({ type: "verb:stream", stream: "s", epoch: "e", seq: 0 });
    text("s", 1);
    text("s", 4);
    text("s", 5);
    expect(replays).toEqual([["s", 2]]);
    expect(delivered).toEqual(["s#1:m1"]);
    // The replay: 2..5 again; the held 4 and 5 are not delivered twice.
    for (const seq of [2, 3, 4, 5]) text("s", seq);
    text("s", 6);
    expect(delivered).toEqual(["s#1:m1", "s#2:m2", "s#3:m3", "s#4:m4", "s#5:m5", "s#6:m6"]);
    expect(gaps).toEqual([]);
  });

  it("reports what the server no longer has, and gaps it cannot fill in time or room", () => {
    const { tracker, delivered, gaps, text } = make({ maxHeld: 3, gapTimeout: 100 });
    tracker.started({ type: "verb:stream", stream: "s", epoch: "e", seq: 0 });
    text("s", 1);
    text("s", 5);
    // The server answers the replay with a gap (beyond its retention), then what it still has.
    tracker.gap({ type: "verb:gap", stream: "s", from: 2, to: 3, reason: "retention" });
    text("s", 4);
    expect(delivered).toEqual(["s#1:m1", "s#4:m4", "s#5:m5"]);
    expect(gaps).toEqual([{ stream: "s", from: 2, to: 3, reason: "retention" }]);
    // No answer at all: reported after gapTimeout, then the held messages.
    text("s", 7);
    tracker.tick(Date.now() + 200);
    expect(gaps.at(-1)).toEqual({ stream: "s", from: 6, to: 6, reason: "timeout" });
    expect(delivered.at(-1)).toBe("s#7:m7");
    // More than maxHeld after a gap: reported as overflow.
    for (const seq of [9, 10, 11, 12]) text("s", seq);
    expect(gaps.at(-1)).toEqual({ stream: "s", from: 8, to: 8, reason: "overflow" });
    expect(delivered.slice(-4)).toEqual(["s#9:m9", "s#10:m10", "s#11:m11", "s#12:m12"]);
  });

  it("restarts on a new epoch, and treats a stream behind the cursor in the same epoch as reset", () => {
    const { tracker, delivered, gaps, text } = make();
    tracker.load({ s: { epoch: "old", seq: 7 } });
    tracker.gap({ type: "verb:gap", stream: "s", from: 8, to: null, reason: "epoch" });
    tracker.started({ type: "verb:stream", stream: "s", epoch: "new", seq: 0 });
    text("s", 1);
    expect(delivered).toEqual(["s#1:m1"]);
    tracker.load({ t: { epoch: "new", seq: 9 } });
    tracker.started({ type: "verb:stream", stream: "t", epoch: "new", seq: 0 });
    text("t", 1);
    expect(gaps).toEqual([
      { stream: "s", from: 8, to: null, reason: "epoch" },
      { stream: "t", from: 10, to: null, reason: "epoch" },
    ]);
    expect(delivered).toEqual(["s#1:m1", "t#1:m1"]);
  });
});

describe("liveness", () => {
  it("pings after interval, judges dead after interval + grace, and sees a clock jump", () => {
    const live = new Liveness({ interval: 1000, grace: 500, wakeThreshold: 5000 });
    expect(live.tickMs).toBe(125);
    live.start(0, 0);
    expect(live.check(125, 0, false)).toBe("ok");
    expect(live.check(1000, 0, false)).toBe("ping");
    expect(live.check(1125, 0, false)).toBe("ok");
    expect(live.check(1400, 1, false)).toBe("ok");
    expect(live.check(2400, 1, false)).toBe("ping");
    expect(live.check(2900, 1, false)).toBe("dead");
    live.start(10_000, 5);
    expect(live.check(20_000, 5, false)).toBe("wake");
    live.start(30_000, 5);
    // Something arrived during the jump, or a hidden page (throttled timers): not a wake.
    expect(live.check(36_000, 6, false)).not.toBe("wake");
    live.start(40_000, 6);
    expect(live.check(46_000, 6, true)).toBe("dead");
  });

  it("gives a probe (visible again, back online) until grace", () => {
    const live = new Liveness({ interval: 10_000, grace: 1000 });
    live.start(0, 0);
    live.probe(100, 0);
    expect(live.check(500, 0, false)).toBe("ok");
    expect(live.check(1100, 0, false)).toBe("dead");
    live.start(2000, 0);
    live.probe(2000, 0);
    expect(live.check(2500, 1, false)).toBe("ok");
    expect(live.check(3500, 1, false)).toBe("ok");
  });
});
