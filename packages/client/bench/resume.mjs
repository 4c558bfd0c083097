// Resume time after a cut: a client subscribed to a topic loses its connection, the server
// publishes `missed` messages meanwhile, and the path comes back. Timed from the moment the path is
// back (the proxy lets the waiting connection through) to the client holding every missed message,
// in order: the reconnect handshake, hello with cursors, the replay and its delivery.
// Run after the build: node packages/client/bench/resume.mjs [missed] [rounds]
import { spawn } from "node:child_process";
import { createServer as createTcpServer, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { createClient } from "../dist/index.js";

const missed = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 7);
const DEADLINE_MS = 20_000;
const WebSocketImpl = globalThis.WebSocket ?? (await import("ws")).default;

const server = spawn(process.execPath, [fileURLToPath(new URL("./server.mjs", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise((resolve) => server.stdout.on("data", (chunk) => resolve(/port (\d+)/.exec(String(chunk))?.[1])));

/** Between the client and the server: cuts every connection, then holds new ones until released. */
const pairs = new Set();
let held = [];
let holding = false;
const proxy = createTcpServer((downstream) => {
  const connect = () => {
    const upstream = new Socket();
    const pair = [downstream, upstream];
    pairs.add(pair);
    const end = () => {
      downstream.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    upstream.connect(Number(port), "127.0.0.1");
    downstream.pipe(upstream).pipe(downstream);
    downstream.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  };
  if (holding) held.push(connect);
  else connect();
});
await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const url = `ws://127.0.0.1:${proxy.address().port}/`;

function within(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A plain socket straight to the server: it triggers the publishes and sees them all go out. */
const control = new WebSocketImpl(`ws://127.0.0.1:${port}/`);
await within(new Promise((resolve) => (control.onopen = resolve)), "the control socket");
let controlSeen = 0;
control.onmessage = () => controlSeen++;
async function publish(count) {
  const target = controlSeen + count;
  control.send(`go ${count}`);
  await within(
    new Promise((resolve) => {
      const poll = () => (controlSeen >= target ? resolve() : setTimeout(poll, 1));
      poll();
    }),
    "the publishes",
  );
}

const client = createClient(url, { WebSocket: WebSocketImpl, reconnect: { initialDelay: 10, maxDelay: 10 } });
await within(client.subscribe("t"), "the subscription");
let received = 0;
let waiter;
client.on("message", () => {
  received++;
  if (waiter !== undefined && received >= waiter.target) waiter.resolve();
});
// A discontinuity would mean the replay did not hold what was missed: the measurement is void.
const gaps = [];
client.on("discontinuity", (gap) => gaps.push(gap));
const until = (target) =>
  within(
    new Promise((resolve) => {
      if (received >= target) resolve();
      else waiter = { target, resolve };
    }),
    `${target} messages`,
  );

await publish(10);
await until(10);
const times = [];
for (let round = 0; round < rounds; round++) {
  holding = true;
  for (const [downstream, upstream] of pairs) {
    downstream.destroy();
    upstream.destroy();
  }
  await publish(missed);
  const target = received + missed;
  // Let the client notice the cut and wait at the proxy with its next attempt.
  await within(
    new Promise((resolve) => {
      const poll = () => (held.length > 0 ? resolve() : setTimeout(poll, 1));
      poll();
    }),
    "the reconnect attempt",
  );
  const started = performance.now();
  holding = false;
  for (const connect of held) connect();
  held = [];
  await until(target);
  times.push(performance.now() - started);
  if (gaps.length > 0) throw new Error(`the resume reported a discontinuity: ${JSON.stringify(gaps)}`);
}
await client.close();
control.close();
proxy.close();
server.kill();
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(
  `${typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`}: resume after a cut, ${missed} missed messages, ${rounds} rounds`,
);
console.log(
  `time to every missed message: median ${median.toFixed(1)} ms (min ${sorted[0].toFixed(1)}, max ${sorted.at(-1).toFixed(1)})`,
);
