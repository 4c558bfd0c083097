// Raw-TCP WebSocket load generator: a hand-made HTTP upgrade, pre-built masked frames written in
// pipelined batches, and header-only parsing of the server's frames (payloads are never unmasked,
// copied or decoded). The orchestrator (run.mjs) starts one per run, pinned to its own core, and
// drives it with one JSON command per stdin line; each answer is one JSON line on stdout:
//   {"id":1,"cmd":"echo","port":N,"connections":100,"inflight":64,"payload":32,"warmupMs":500,"durationMs":2000}
//   {"id":2,"cmd":"rtt","port":N,"payload":32,"warmupMs":500,"durationMs":2000}
//   {"id":3,"cmd":"broadcast","port":N,"subscribers":1000,"outstanding":256,"payload":32,...}
//     (optional "pubPort": the publisher connects there, the subscribers to "port")
//   {"id":4,"cmd":"open","port":N,"count":5000}   then   {"id":5,"cmd":"close"}
// One-shot use: `node bench/loadgen.mjs '{"cmd":"echo","port":3000}'` prints the result and exits.

import { randomBytes } from "node:crypto";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { buildFrame, FrameParser, repeatFrame } from "./frames.mjs";

const HOST = "127.0.0.1";
const CONNECT_TIMEOUT_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens one WebSocket connection; `onMessages(conn, n)` gets the number of messages each chunk completed. */
// Source addresses: loopback has 127.0.0.0/8, and one source address has ~28,000 ephemeral ports.
// Connections are spread over 127.0.0.1 … 127.0.0.SOURCES so large counts fit.
const SOURCES = 8;
let opened = 0;

function openConnection(port, path, onMessages) {
  return new Promise((resolve, reject) => {
    const localAddress = HOST === "127.0.0.1" ? `127.0.0.${1 + (opened++ % SOURCES)}` : undefined;
    const socket = net.connect({ host: HOST, port, localAddress });
    socket.setNoDelay(true);
    const conn = { socket, parser: new FrameParser(), onMessages, lost: null };
    let head = null;
    let settled = false;
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`upgrade of ${path} timed out`)), CONNECT_TIMEOUT_MS);
    const onFrames = (chunk) => {
      const n = conn.parser.feed(chunk);
      if (n > 0) conn.onMessages(conn, n);
    };
    const onHandshake = (chunk) => {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) {
        if (head.length > 16_384) fail(new Error(`upgrade of ${path}: response header too long`));
        return;
      }
      const status = head.toString("latin1", 0, Math.min(end, 200)).split("\r\n")[0];
      if (!status.startsWith("HTTP/1.1 101")) {
        fail(new Error(`upgrade of ${path} answered "${status}"`));
        return;
      }
      settled = true;
      clearTimeout(timer);
      socket.off("data", onHandshake);
      socket.on("data", onFrames);
      resolve(conn);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) onFrames(rest);
    };
    socket.on("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          // A key of its own per connection, as browsers send: a server must not get to share one.
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on("data", onHandshake);
    socket.on("error", (error) => {
      conn.lost ??= error.message;
      fail(error);
    });
    socket.on("close", () => {
      conn.lost ??= "connection closed";
      fail(new Error(`connection to ${path} closed during the upgrade`));
    });
  });
}

/** Opens `count` connections, at most `concurrency` upgrades at a time; all or nothing. */
async function openMany(port, path, count, onMessages, concurrency = 200) {
  const conns = [];
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (failure === null && next < count) {
      next++;
      try {
        conns.push(await openConnection(port, path, onMessages));
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== null) {
    closeAll(conns);
    throw new Error(`opened ${conns.length} of ${count} connections to ${path}: ${failure.message}`);
  }
  return conns;
}

function closeAll(conns) {
  for (const conn of conns) conn.socket.destroy();
  conns.length = 0;
}

function lostConnection(conns) {
  for (const conn of conns) {
    if (conn.lost !== null) return conn.lost;
    if (conn.parser.closed) return "the server sent a close frame";
  }
  return null;
}

/** Waits `warmupMs`, then counts `progress()` over `durationMs`; fails on a stall or a lost connection. */
async function measure({ warmupMs, durationMs, stallMs }, progress, conns) {
  let t0 = 0;
  let c0 = 0;
  let last = progress();
  let lastChange = performance.now();
  const started = performance.now();
  let measuring = false;
  for (;;) {
    await sleep(Math.max(10, Math.min(100, warmupMs || 100, durationMs)));
    const now = performance.now();
    const value = progress();
    if (value !== last) {
      last = value;
      lastChange = now;
    } else if (now - lastChange > stallMs) {
      throw new Error(`stalled: no progress for ${Math.round(now - lastChange)} ms (count ${value})`);
    }
    const lost = lostConnection(conns);
    if (lost !== null) throw new Error(`a connection was lost: ${lost}`);
    if (!measuring && now - started >= warmupMs) {
      measuring = true;
      t0 = now;
      c0 = value;
    } else if (measuring && now - t0 >= durationMs) {
      const seconds = (now - t0) / 1000;
      if (value === c0) throw new Error(`nothing received in the ${Math.round(now - t0)} ms measured (count ${value})`);
      return { count: value - c0, seconds, rate: (value - c0) / seconds };
    }
  }
}

async function echo(cmd) {
  const { port, connections = 100, inflight = 64, payload = 32, text = false } = cmd;
  const frame = buildFrame(payload, { opcode: text ? 1 : 2 });
  const batch = repeatFrame(frame, inflight);
  const frameLength = frame.length;
  let received = 0;
  const onMessages = (conn, n) => {
    received += n;
    conn.socket.write(batch.subarray(0, Math.min(n, inflight) * frameLength));
  };
  const conns = await openMany(port, "/echo", connections, onMessages);
  try {
    for (const conn of conns) conn.socket.write(batch);
    const result = await measure(cmd, () => received, conns);
    return { ...result, connections, inflight, payload };
  } finally {
    closeAll(conns);
  }
}

function percentile(sorted, p) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function rtt(cmd) {
  const { port, payload = 32, text = false } = cmd;
  const frame = buildFrame(payload, { opcode: text ? 1 : 2 });
  const samples = [];
  let sentAt = 0;
  let recording = false;
  let replies = 0;
  const onMessages = (conn) => {
    const now = performance.now();
    replies++;
    if (recording) samples.push((now - sentAt) * 1000);
    sentAt = performance.now();
    conn.socket.write(frame);
  };
  const conns = await openMany(port, "/echo", 1, onMessages);
  // Keep this core busy (the event loop polls without sleeping) so that the client's own wake-up
  // from an idle CPU is not part of the round trip.
  let spinning = true;
  const spin = () => {
    if (spinning) setImmediate(spin);
  };
  if (cmd.spin !== false) spin();
  try {
    sentAt = performance.now();
    conns[0].socket.write(frame);
    await sleep(cmd.warmupMs);
    recording = true;
    const result = await measure({ ...cmd, warmupMs: 0 }, () => replies, conns);
    recording = false;
    const sorted = Float64Array.from(samples).sort();
    return {
      samples: sorted.length,
      rate: result.rate,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    };
  } finally {
    spinning = false;
    closeAll(conns);
  }
}

async function broadcast(cmd) {
  const { port, subscribers = 1000, outstanding = 256, payload = 32, text = false, settleMs = 300 } = cmd;
  const frame = buildFrame(payload, { opcode: text ? 1 : 2 });
  const batch = repeatFrame(frame, outstanding);
  const frameLength = frame.length;
  const threshold = Math.max(1, Math.floor(outstanding / 8));
  let delivered = 0;
  let sent = 0;
  let publisher = null;
  // Broadcasts in flight: sent minus the average number each subscriber has received.
  const pump = () => {
    const free = outstanding - (sent - Math.floor(delivered / subscribers));
    if (free >= threshold) {
      publisher.socket.write(batch.subarray(0, free * frameLength));
      sent += free;
    }
  };
  const onDelivery = (_conn, n) => {
    delivered += n;
    if (publisher !== null) pump();
  };
  const subs = await openMany(port, "/sub", subscribers, onDelivery);
  const conns = subs;
  try {
    // The publisher may sit on another instance (cross-instance fan-out through a backplane).
    const [pub] = await openMany(cmd.pubPort ?? port, "/pub", 1, () => {});
    conns.push(pub);
    await sleep(settleMs); // subscriptions made in an asynchronous open hook
    publisher = pub;
    pump();
    const result = await measure(cmd, () => delivered, conns);
    return { ...result, subscribers, outstanding, payload, sent, delivered };
  } finally {
    closeAll(conns);
  }
}

/** Publish latency: one publish at a time (on pubPort), timed until the subscriber (on port) has it. */
async function pubrtt(cmd) {
  const { port, payload = 32 } = cmd;
  const frame = buildFrame(payload, { opcode: 2 });
  const samples = [];
  let sentAt = 0;
  let recording = false;
  let delivered = 0;
  let publisher = null;
  const onDelivery = () => {
    const now = performance.now();
    delivered++;
    if (recording) samples.push((now - sentAt) * 1000);
    sentAt = performance.now();
    publisher?.socket.write(frame);
  };
  const [sub] = await openMany(port, "/sub", 1, onDelivery);
  const [pub] = await openMany(cmd.pubPort ?? port, "/pub", 1, () => {});
  try {
    await sleep(cmd.settleMs ?? 300);
    publisher = pub;
    sentAt = performance.now();
    pub.socket.write(frame);
    await sleep(cmd.warmupMs);
    recording = true;
    const result = await measure({ ...cmd, warmupMs: 0 }, () => delivered, [sub, pub]);
    recording = false;
    const sorted = Float64Array.from(samples).sort();
    return { samples: sorted.length, rate: result.rate, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  } finally {
    closeAll([sub, pub]);
  }
}

const idle = [];

async function open(cmd) {
  const conns = await openMany(cmd.port, cmd.path ?? "/idle", cmd.count, () => {}, cmd.concurrency ?? 200);
  for (const conn of conns) idle.push(conn);
  return { open: idle.length };
}

async function close() {
  const count = idle.length;
  closeAll(idle);
  return { closed: count };
}

const commands = { echo, rtt, broadcast, pubrtt, open, close };

async function run(cmd) {
  const fn = commands[cmd.cmd];
  if (fn === undefined) return { ok: false, error: `unknown command ${JSON.stringify(cmd.cmd)}` };
  try {
    const result = await fn({ warmupMs: 500, durationMs: 2000, stallMs: 2000, ...cmd });
    return { ok: true, ...result };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    globalThis.gc?.();
  }
}

if (process.argv[2] !== undefined) {
  const result = await run(JSON.parse(process.argv[2]));
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
} else {
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    queue = queue.then(async () => {
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch {
        process.stdout.write(`${JSON.stringify({ ok: false, error: "invalid JSON command" })}\n`);
        return;
      }
      const result = await run(cmd);
      process.stdout.write(`${JSON.stringify({ id: cmd.id, ...result })}\n`);
    });
  });
  lines.on("close", () => {
    closeAll(idle);
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ready: true, runtime: globalThis.Bun ? "bun" : "node" })}\n`);
}
