// Cross-instance fan-out through the Redis backplane, beside the single-instance figure, in one run:
//   single   one Verb instance, no backplane: publisher and 1,000 subscribers on it
//   local+bp one instance with the backplane on (every publish also goes to Redis)
//   cross    publisher on instance A, 1,000 subscribers on instance B, A → Redis → B
// each backplane mode in both deliveries, pub/sub and durable (Redis Streams), with the publish
// latency (one publish at a time, A → B, p50/p99).
// Servers and redis-server on core 0, the load generator on core 1; modes interleaved per repetition;
// medians. Usage: node bench/cluster.mjs [--adapter uws,node,bun] [--reps 3] [--duration-ms 2000] [--smoke]
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    adapter: { type: "string", default: "uws" },
    reps: { type: "string" },
    "duration-ms": { type: "string" },
    subscribers: { type: "string" },
    smoke: { type: "boolean", default: false },
  },
});
const smoke = args.smoke;
// In CI a missing redis-server or a failed measurement fails the run, smoke or not.
const inCI = process.env.CI === "true";
const reps = Number(args.reps ?? (smoke ? 1 : 3));
const durationMs = Number(args["duration-ms"] ?? (smoke ? 300 : 2000));
const subscribers = Number(args.subscribers ?? (smoke ? 50 : 1000));
const adapters = args.adapter.split(",");
const env = { ...process.env };
const canPin = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const bun = join(root, "node_modules/.bin/bun");
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

if (spawnSync(process.execPath, ["-e", "require('uWebSockets.js')"], { cwd: root }).status !== 0) {
  const wrapper = process.env.VERB_NODE_GLIBC ?? resolve(root, "../shared/glibc/node-glibc");
  if (existsSync(wrapper)) env.PATH = `${spawnSync(wrapper, ["--bin-dir"], { encoding: "utf8" }).stdout.trim()}:${env.PATH}`;
}
if (spawnSync("redis-server", ["--version"]).status !== 0) {
  // Outside CI, a smoke run on a machine without Redis is a one-line skip.
  const skip = smoke && !inCI;
  console.error(`[cluster bench] ${skip ? "skipped: " : ""}redis-server is not installed (apt-get install redis-server)`);
  process.exit(skip ? 0 : 1);
}

const log = (line) => process.stderr.write(`[cluster bench] ${line}\n`);
const freePort = () =>
  new Promise((res, rej) => {
    const server = createServer();
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });

/** Starts a child pinned to `core`; resolves with its first JSON line (or the line matching `ready`). */
function start(core, command, argv, extraEnv, ready) {
  const [file, ...rest] = canPin ? ["taskset", "-c", String(core), command, ...argv] : [command, ...argv];
  const child = spawn(file, rest, { cwd: root, env: { ...env, ...extraEnv }, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${argv.at(-1)} did not start: ${stderr}`)), 20_000);
    const lines = createInterface({ input: child.stdout });
    const onLine = (line) => {
      if (!ready(line)) return;
      clearTimeout(timer);
      lines.off("line", onLine);
      res(child);
    };
    lines.on("line", onLine);
    child.once("exit", () => rej(new Error(`${argv.at(-1)} exited: ${stderr}`)));
  });
}

async function verb(adapter, port, redisUrl, delivery = "pubsub", prefix = "verb:") {
  const runtime = adapter === "bun" ? [bun, []] : [process.execPath, ["--expose-gc"]];
  const extra = {
    BENCH_PORT: String(port),
    VERB_ADAPTER: adapter,
    VERB_DELIVERY: delivery,
    BENCH_PREFIX: prefix,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  return start(0, runtime[0], [...runtime[1], join(root, "bench/servers/verb.mjs")], extra, (line) => line.startsWith("{"));
}

function loadgen(command) {
  const argv = [join(root, "bench/loadgen.mjs"), JSON.stringify(command)];
  const [file, ...rest] = canPin ? ["taskset", "-c", "1", process.execPath, ...argv] : [process.execPath, ...argv];
  const result = spawnSync(file, rest, { cwd: root, env, encoding: "utf8", timeout: durationMs + 60_000 });
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: result.stderr.trim() || "no answer" };
  }
}

let runs = 0;

async function measure(adapter, mode, redisUrl) {
  const [portA, portB] = [await freePort(), await freePort()];
  const servers = [];
  const delivery = mode.includes("durable") ? "durable" : "pubsub";
  // A fresh key prefix per run: durable histories of earlier runs do not weigh on this one.
  const prefix = `bench${process.pid}-${++runs}:`;
  // Latency is measured across instances too: A → Redis → B.
  const cross = mode.startsWith("cross") || mode.startsWith("latency");
  try {
    if (mode === "single") servers.push(await verb(adapter, portA));
    else servers.push(await verb(adapter, portA, redisUrl, delivery, prefix));
    if (cross) servers.push(await verb(adapter, portB, redisUrl, delivery, prefix));
    if (mode.startsWith("latency")) {
      const latency = loadgen({
        cmd: "pubrtt",
        port: portB,
        pubPort: portA,
        warmupMs: smoke ? 100 : 300,
        durationMs: Math.min(durationMs, 1500),
        settleMs: 500,
      });
      if (!latency.ok) throw new Error(latency.error);
      return latency;
    }
    const result = loadgen({
      cmd: "broadcast",
      port: cross ? portB : portA,
      pubPort: portA,
      subscribers,
      outstanding: 256,
      payload: 32,
      warmupMs: smoke ? 100 : 500,
      durationMs,
      settleMs: cross ? 500 : 300,
    });
    if (!result.ok) throw new Error(result.error);
    return { rate: result.rate };
  } finally {
    for (const server of servers) server.kill("SIGKILL");
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
const format = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n / 1e3)}k`);

const redisPort = await freePort();
await start(
  0,
  "redis-server",
  ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
  {},
  (line) => line.includes("Ready to accept connections"),
);
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const modes = ["single", "local+bp", "cross", "local+durable", "cross-durable", "latency-pubsub", "latency-durable"];
const results = {};
let failed = false;
for (const adapter of adapters) {
  results[adapter] = Object.fromEntries(modes.map((m) => [m, []]));
  for (let rep = 1; rep <= reps; rep++) {
    for (const mode of modes) {
      try {
        if (mode.startsWith("latency")) {
          const latency = await measure(adapter, mode, redisUrl);
          results[adapter][mode].push(latency);
          log(`${adapter} ${mode} rep ${rep}/${reps}: p50 ${latency.p50.toFixed(0)} µs, p99 ${latency.p99.toFixed(0)} µs`);
          continue;
        }
        const { rate } = await measure(adapter, mode, redisUrl);
        results[adapter][mode].push(rate);
        log(`${adapter} ${mode} rep ${rep}/${reps}: ${format(rate)} deliveries/s`);
      } catch (error) {
        failed = true;
        log(`${adapter} ${mode} rep ${rep}/${reps}: failed: ${error.message}`);
      }
    }
  }
}

console.log(
  `\nCross-instance fan-out, ${new Date().toISOString()}: ${subscribers} subscribers, 32-byte broadcasts, 256 in flight, ${reps} rep(s), medians`,
);
console.log(
  "| adapter | single instance | + backplane, pub/sub | across, pub/sub | + backplane, durable | across, durable | durable / pub/sub (across) | publish latency p50 / p99, pub/sub | durable |",
);
console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
const µs = (n) => (Number.isFinite(n) ? `${n >= 1000 ? `${(n / 1000).toFixed(1)} ms` : `${n.toFixed(0)} µs`}` : "–");
for (const adapter of adapters) {
  const m = Object.fromEntries(
    modes.filter((mode) => !mode.startsWith("latency")).map((mode) => [mode, median(results[adapter][mode])]),
  );
  const lat = (mode, p) => median(results[adapter][mode].map((r) => r[p]));
  console.log(
    `| ${adapter} | ${format(m.single)} | ${format(m["local+bp"])} | ${format(m.cross)} | ${format(m["local+durable"])} | ${format(m["cross-durable"])} | ${(m["cross-durable"] / m.cross).toFixed(2)}× | ${µs(lat("latency-pubsub", "p50"))} / ${µs(lat("latency-pubsub", "p99"))} | ${µs(lat("latency-durable", "p50"))} / ${µs(lat("latency-durable", "p99"))} |`,
  );
}
// A failed measurement fails the run (also a smoke run: it is there to catch exactly that).
if (failed) log("some measurements failed (see above)");
process.exit(failed ? 1 : 0);
