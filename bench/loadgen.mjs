// Raw-TCP WebSocket load generator: a hand-made HTTP upgrade, pre-built masked frames written in
// pipelined batches, and header-only parsing of the server's frames (payloads are never unmasked,
// copied or decoded). The orchestrator (run.mjs) starts one per run, pinned to its own core, and
// drives it with one JSON command per stdin line; each answer is one JSON line on stdout:
//   {"id":1,"cmd":"echo","port":N,"connections":100,"inflight":64,"payload":32,"warmupMs":500,"durationMs":2000}
//   {"id":2,"cmd":"rtt","port":N,"payload":32,"warmupMs":500,"durationMs":2000}
//   {"id":3,"cmd":"broadcast","port":N,"subscribers":1000,"outstanding":256,"payload":32,...}
//     (optional "pubPort": the publisher connects there, the subscribers to "port")
//   {"id":4,"cmd":"open","port":N,"count":5000}   then   {"id":5,"cmd":"close"}
//   {"id":6,"cmd":"openloop","port":N,"connections":1000,"rate":100000,...}   (latency under load)
//   {"id":7,"cmd":"chat","port":N,"clients":2000,"roomSize":50,"inflight":64,...}
// Every command but rtt's and chat's takes "protocol":"eio" for Socket.IO servers (engine.io v4 over
// the websocket transport; messages are events whose data is a string of "payload" bytes). During a
// measurement the generator writes {"id":N,"mark":"start"} and {"id":N,"mark":"end"} as the measured
// window opens and closes (the orchestrator reads the server's CPU time then).
// One-shot use: `node bench/loadgen.mjs '{"cmd":"echo","port":3000}'` prints the result and exits.

import { randomBytes } from "node:crypto";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import {
  buildFrame,
  EIO_CONNECT,
  EIO_PONG,
  eioEventFrame,
  FrameParser,
  repeatFrame,
  TextFrameReader,
  textFrame,
} from "./frames.mjs";

const HOST = "127.0.0.1";
const CONNECT_TIMEOUT_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Source addresses: loopback has 127.0.0.0/8, and one source address has ~28,000 ephemeral ports.
// Connections are spread over 127.0.0.1 … 127.0.0.SOURCES so large counts fit.
const SOURCES = 8;
let opened = 0;

/**
 * Opens one WebSocket connection; `onMessages(conn, n)` gets the number of messages each chunk
 * completed. `protocol` "eio" speaks engine.io v4 / Socket.IO over the websocket transport: the
 * upgrade goes to `/socket.io/?EIO=4&transport=websocket&role=<path without its slash>`, the
 * connection counts as open once the server's open packet ("0{...}") and its answer to our CONNECT
 * ("40" -> "40{...}") arrived, and every ping ("2") is answered with a pong ("3"). With `full`, the
 * payloads of text frames are kept in `conn.parser.texts` (a TextFrameReader) for the caller.
 */
function openConnection(port, path, onMessages, { protocol = "ws", full = false } = {}) {
  return new Promise((resolve, reject) => {
    const localAddress = HOST === "127.0.0.1" ? `127.0.0.${1 + (opened++ % SOURCES)}` : undefined;
    const socket = net.connect({ host: HOST, port, localAddress });
    socket.setNoDelay(true);
    const eio = protocol === "eio";
    const parser = full ? new TextFrameReader({ eio }) : new FrameParser({ eio });
    const conn = { socket, parser, onMessages, lost: null, pongs: 0 };
    const target = eio ? `/socket.io/?EIO=4&transport=websocket&role=${path.slice(1)}` : path;
    // Frames the engine.io handshake still owes us (open packet, CONNECT answer) before the connection counts.
    let handshakeFrames = eio ? 2 : 0;
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
      let n = parser.feed(chunk);
      while (conn.pongs < parser.pings) {
        conn.pongs++;
        socket.write(EIO_PONG);
      }
      if (handshakeFrames > 0) {
        const used = Math.min(n, handshakeFrames);
        handshakeFrames -= used;
        n -= used;
        if (full) parser.texts.splice(0, used);
        if (handshakeFrames > 0) return;
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      }
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
      socket.off("data", onHandshake);
      socket.on("data", onFrames);
      if (eio) {
        socket.write(EIO_CONNECT);
      } else {
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) onFrames(rest);
    };
    socket.on("connect", () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
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
async function openMany(port, path, count, onMessages, concurrency = 200, options = {}) {
  const conns = [];
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (failure === null && next < count) {
      next++;
      try {
        conns.push(await openConnection(port, path, onMessages, options));
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

/**
 * Waits `warmupMs`, then counts `progress()` over `durationMs`; fails on a stall or a lost connection.
 * `mark("start")` and `mark("end")` run when the measured window opens and closes (the orchestrator
 * reads the server's CPU time then).
 */
async function measure({ warmupMs, durationMs, stallMs, mark }, progress, conns) {
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
      mark?.("start");
    } else if (measuring && now - t0 >= durationMs) {
      mark?.("end");
      const seconds = (now - t0) / 1000;
      if (value === c0) throw new Error(`nothing received in the ${Math.round(now - t0)} ms measured (count ${value})`);
      return { count: value - c0, seconds, rate: (value - c0) / seconds, total: value };
    }
  }
}

/** The message every sender sends: `payload` bytes of "x", or a Socket.IO event whose data is that string. */
function messageFrame({ protocol, payload = 32, text = false }, event) {
  if (protocol === "eio") return eioEventFrame(event, payload);
  return buildFrame(payload, { opcode: text ? 1 : 2 });
}

async function echo(cmd) {
  const { port, connections = 100, inflight = 64, payload = 32, protocol } = cmd;
  const frame = messageFrame(cmd, "echo");
  const batch = repeatFrame(frame, inflight);
  const frameLength = frame.length;
  let received = 0;
  const onMessages = (conn, n) => {
    received += n;
    conn.socket.write(batch.subarray(0, Math.min(n, inflight) * frameLength));
  };
  const conns = await openMany(port, "/echo", connections, onMessages, 200, { protocol });
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
  const { protocol } = cmd;
  const port = cmd.port;
  const frame = messageFrame(cmd, "echo");
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
  const conns = await openMany(port, "/echo", 1, onMessages, 1, { protocol });
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
  const { port, subscribers = 1000, outstanding = 256, payload = 32, settleMs = 300, protocol } = cmd;
  const frame = messageFrame(cmd, "pub");
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
  const subs = await openMany(port, "/sub", subscribers, onDelivery, 200, { protocol });
  const conns = subs;
  try {
    // The publisher may sit on another instance (cross-instance fan-out through a backplane).
    const [pub] = await openMany(cmd.pubPort ?? port, "/pub", 1, () => {}, 1, { protocol });
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

/**
 * Latency under load, open loop: `connections` echo connections, `rate` messages per second in all
 * sent on a fixed schedule (round robin over the connections, whatever the replies do), each reply
 * timed from the moment its message was due, not from when it was written, so a stalled server or
 * generator shows in the figures instead of slowing the schedule. Replies on a connection come back in
 * order, so each connection keeps the due times of its messages in flight in a ring. A connection
 * more than RING messages behind, or a run that delivered less than 80% of the schedule, fails.
 */
async function openloop(cmd) {
  const { port, connections = 1000, rate, protocol } = cmd;
  if (!(rate > 0)) throw new Error("openloop needs a positive rate");
  const RING = 1024;
  const frame = messageFrame(cmd, "echo");
  const capacity = Math.min(8_000_000, Math.ceil((rate * (cmd.warmupMs + cmd.durationMs + cmd.stallMs)) / 1000) + 1024);
  const samples = new Float64Array(capacity);
  let recorded = 0;
  let recording = false;
  let received = 0;
  let behind = null;
  const onMessages = (conn, n) => {
    if (conn.due === undefined) return; // before the schedule starts (nothing is due)
    const now = performance.now();
    received += n;
    for (let i = 0; i < n; i++) {
      const due = conn.due[conn.head];
      conn.head = (conn.head + 1) % RING;
      conn.inFlight--;
      if (recording && recorded < capacity) samples[recorded++] = (now - due) * 1000;
    }
  };
  const conns = await openMany(port, "/echo", connections, onMessages, 200, { protocol });
  for (const conn of conns) {
    conn.due = new Float64Array(RING);
    conn.head = 0;
    conn.inFlight = 0;
  }
  let sent = 0;
  let running = true;
  const start = performance.now();
  const interval = 1000 / rate;
  // The schedule runs from a setImmediate loop: it keeps this core busy, so that messages leave on
  // time and replies are read as soon as they arrive (no wake-up from an idle CPU in the figures).
  const tick = () => {
    if (!running) return;
    const now = performance.now();
    const due = Math.floor((now - start) / interval);
    while (sent < due && behind === null) {
      const conn = conns[sent % connections];
      if (conn.inFlight >= RING) {
        behind = `the server fell ${RING} messages behind on a connection`;
        break;
      }
      conn.due[(conn.head + conn.inFlight) % RING] = start + sent * interval;
      conn.inFlight++;
      conn.socket.write(frame);
      sent++;
    }
    setImmediate(tick);
  };
  tick();
  try {
    await sleep(cmd.warmupMs);
    recording = true;
    const result = await measure(
      { ...cmd, warmupMs: 0 },
      () => {
        if (behind !== null) throw new Error(behind);
        return received;
      },
      conns,
    );
    recording = false;
    if (behind !== null) throw new Error(behind);
    if (result.rate < 0.8 * rate) {
      throw new Error(`delivered ${Math.round(result.rate)} msg/s of the ${Math.round(rate)} scheduled: not sustained`);
    }
    const sorted = samples.subarray(0, recorded).sort();
    return { ...result, target: rate, samples: recorded, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  } finally {
    running = false;
    closeAll(conns);
  }
}

/**
 * The spec's chat: `clients` connections in rooms of `roomSize` (client i is in room i % rooms),
 * each joining its room first (join_room, answered with joined_room, message_history and a
 * user_joined to the rest of the room). Then chat messages from the clients in turn, at most
 * `inflight` in flight (sent minus frames delivered / (roomSize - 1)), and every `rejoinEvery`-th
 * send a client that leaves its room and joins it again (so history on join is part of the load).
 * The first client of each room reads its frames in full: it times every chat message it receives
 * from its send time (carried in the message text), and fails the run on an error reply. The
 * others only count frames. `protocol` "eio": the same as Socket.IO events.
 */
async function chat(cmd) {
  const { port, clients = 2000, roomSize = 50, inflight = 64, rejoinEvery = 50, protocol } = cmd;
  const rooms = Math.ceil(clients / roomSize);
  const eio = protocol === "eio";
  const encode = (type, payload) =>
    textFrame(eio ? `42${JSON.stringify([type, payload])}` : JSON.stringify({ type, ...payload }));
  const samples = [];
  const MAX_SAMPLES = 2_000_000;
  let recording = false;
  let delivered = 0;
  let histories = 0;
  let failure = null;
  let pump = null;
  const chatPrefix = eio ? '42["chat"' : '{"type":"chat"';
  const onMessages = (conn, n) => {
    delivered += n;
    if (conn.probe) {
      const now = performance.now();
      for (const text of conn.parser.texts) {
        if (text.startsWith(chatPrefix)) {
          const at = text.indexOf('"message":"t');
          if (recording && at !== -1 && samples.length < MAX_SAMPLES) {
            samples.push((now - Number.parseFloat(text.slice(at + 12))) * 1000);
          }
        } else if (text.includes("message_history") && text.includes('"message":"t')) {
          histories++;
        } else if (text.includes('"type":"error"') || text.startsWith('42["error_reply"')) {
          failure ??= `error reply: ${text.slice(0, 200)}`;
        }
      }
      conn.parser.texts.length = 0;
    }
    pump?.();
  };
  const conns = [];
  let next = 0;
  let openFailure = null;
  const worker = async () => {
    while (openFailure === null && next < clients) {
      const index = next++;
      try {
        const conn = await openConnection(port, "/chat", onMessages, { protocol, full: index < rooms });
        conn.probe = index < rooms;
        conn.room = `room-${index % rooms}`;
        conns[index] = conn;
      } catch (error) {
        openFailure ??= error;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(200, clients) }, worker));
    if (openFailure !== null)
      throw new Error(`opened ${conns.filter(Boolean).length} of ${clients} chat clients: ${openFailure.message}`);
    for (const conn of conns) conn.socket.write(encode("join_room", { roomId: conn.room }));
    // Joined once the frames stop coming (every join is answered and announced).
    const deadline = performance.now() + 30_000;
    for (let last = -1; last !== delivered; ) {
      if (performance.now() > deadline) throw new Error("the joins did not settle within 30 s");
      last = delivered;
      await sleep(300);
    }
    if (failure !== null) throw new Error(failure);
    const perSend = Math.max(1, roomSize - 1);
    const start = delivered;
    let sent = 0;
    let sender = 0;
    let rejoiner = 0;
    pump = () => {
      let free = inflight - (sent - Math.floor((delivered - start) / perSend));
      while (free-- > 0) {
        if (sent % rejoinEvery === rejoinEvery - 1) {
          const conn = conns[rejoiner++ % clients];
          conn.socket.write(
            Buffer.concat([encode("leave_room", { roomId: conn.room }), encode("join_room", { roomId: conn.room })]),
          );
          sent += 2; // a leave and a join: about two room-wide notices
        } else {
          const conn = conns[sender++ % clients];
          conn.socket.write(encode("chat", { roomId: conn.room, message: `t${performance.now().toFixed(3)}` }));
          sent++;
        }
      }
    };
    pump();
    setTimeout(() => {
      recording = true;
    }, cmd.warmupMs);
    const result = await measure(
      cmd,
      () => {
        if (failure !== null) throw new Error(failure);
        return delivered;
      },
      conns,
    );
    pump = null;
    recording = false;
    if (failure !== null) throw new Error(failure);
    if (samples.length === 0) throw new Error("no chat message reached a probe during the measurement");
    const sorted = Float64Array.from(samples).sort();
    return {
      ...result,
      clients,
      rooms,
      samples: sorted.length,
      histories,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
    };
  } finally {
    pump = null;
    closeAll(conns.filter(Boolean));
  }
}

const idle = [];

async function open(cmd) {
  const conns = await openMany(cmd.port, cmd.path ?? "/idle", cmd.count, () => {}, cmd.concurrency ?? 200, {
    protocol: cmd.protocol,
  });
  for (const conn of conns) idle.push(conn);
  return { open: idle.length };
}

async function close() {
  const count = idle.length;
  closeAll(idle);
  return { closed: count };
}

const commands = { echo, rtt, broadcast, pubrtt, openloop, chat, open, close };

async function run(cmd, mark) {
  const fn = commands[cmd.cmd];
  if (fn === undefined) return { ok: false, error: `unknown command ${JSON.stringify(cmd.cmd)}` };
  try {
    const result = await fn({ warmupMs: 500, durationMs: 2000, stallMs: 2000, ...cmd, mark });
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
      const mark = (name) => process.stdout.write(`${JSON.stringify({ id: cmd.id, mark: name })}\n`);
      const result = await run(cmd, mark);
      process.stdout.write(`${JSON.stringify({ id: cmd.id, ...result })}\n`);
    });
  });
  lines.on("close", () => {
    closeAll(idle);
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ready: true, runtime: globalThis.Bun ? "bun" : "node" })}\n`);
}
