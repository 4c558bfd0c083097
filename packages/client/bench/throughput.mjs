// Messages per second received by a bare WebSocket (JSON.parse per message) and by @verb/client
// (sequenced: cursor checks, JSON.parse, the message event), from the same server process.
// Run after the build: node packages/client/bench/throughput.mjs [count] (Bun: bun ... uses its WebSocket).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "../dist/index.js";

/** What the handlers read, printed so that no engine can skip the work. */
let checksum = 0;

const count = Number(process.argv[2] ?? 200_000);
const WebSocketImpl = globalThis.WebSocket ?? (await import("ws")).default;
const server = spawn(process.execPath, [fileURLToPath(new URL("./server.mjs", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise((resolve) => server.stdout.on("data", (chunk) => resolve(/port (\d+)/.exec(String(chunk))?.[1])));
const url = `ws://127.0.0.1:${port}/`;

async function bare() {
  const ws = new WebSocketImpl(url);
  await new Promise((resolve) => (ws.onopen = resolve));
  let received = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    ws.onmessage = (event) => {
      checksum += JSON.parse(event.data).bid;
      if (++received === count) resolve();
    };
    ws.send(`go ${count}`);
  });
  const elapsed = performance.now() - started;
  ws.close();
  return (count / elapsed) * 1000;
}

/** The same sequenced stream as the client gets, read by hand: offer verb.v1, hello, then slice + JSON.parse. */
async function bareSession() {
  const ws = new WebSocketImpl(url, ["verb.v1"]);
  await new Promise((resolve) => (ws.onopen = resolve));
  ws.send(JSON.stringify({ type: "verb:hello", v: 1, session: null, cursors: {}, topics: ["t"] }));
  await new Promise((resolve) => {
    ws.onmessage = (event) => {
      if (String(event.data).startsWith('{"type":"verb:stream"')) resolve();
    };
  });
  let received = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    ws.onmessage = (event) => {
      const data = event.data;
      if (data.charCodeAt(0) !== 0x1e) return;
      checksum += JSON.parse(data.slice(data.indexOf("\n") + 1)).bid;
      if (++received === count) resolve();
    };
    ws.send(`\u001e1\ngo ${count}`);
  });
  const elapsed = performance.now() - started;
  ws.close();
  return (count / elapsed) * 1000;
}

async function verb() {
  const client = createClient(url, { WebSocket: WebSocketImpl });
  await client.subscribe("t");
  let received = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    client.on("message", (message) => {
      checksum += message.bid;
      if (++received === count) resolve();
    });
    client.send(`go ${count}`);
  });
  const elapsed = performance.now() - started;
  await client.close();
  return (count / elapsed) * 1000;
}

const results = { bare: [], session: [], verb: [] };
for (let round = 0; round < 4; round++) {
  results.bare.push(await bare());
  results.session.push(await bareSession());
  results.verb.push(await verb());
}
server.kill();
const best = (list) => Math.max(...list.slice(1));
const b = best(results.bare);
const s = best(results.session);
const v = best(results.verb);
console.log(`${typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`}: ${count} messages`);
console.log(`bare WebSocket, plain topic:       ${Math.round(b).toLocaleString()} msg/s`);
console.log(`bare WebSocket, the same stream:   ${Math.round(s).toLocaleString()} msg/s`);
console.log(
  `@verb/client:                      ${Math.round(v).toLocaleString()} msg/s (${(v / s).toFixed(2)}x the same stream, ${(v / b).toFixed(2)}x plain)`,
);
console.log(`(checksum ${checksum})`);
