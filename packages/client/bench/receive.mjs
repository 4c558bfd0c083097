// The client's own receive path, without a network: a stand-in WebSocket hands the same frames to
// @verb/client and to a bare handler (the envelope's payload sliced off, JSON.parse), in a loop.
// node packages/client/bench/receive.mjs [count]
import { createClient } from "../dist/index.js";

/** What the handlers read, printed so that no engine can skip the work. */
let checksum = 0;

const count = Number(process.argv[2] ?? 500_000);
const message = (i) => JSON.stringify({ type: "price", symbol: "VERB", bid: 101.25, ask: 101.5, at: i });
// Flat strings, as a socket delivers them (a template literal would make ropes that the first read flattens).
const decoder = new TextDecoder();
const flat = (text) => decoder.decode(new TextEncoder().encode(text));
const sequencedFrames = Array.from({ length: count }, (_, i) => flat(`\u001e"t",${i + 1}\n${message(i)}`));

let socket;
class StandIn {
  readyState = 0;
  bufferedAmount = 0;
  binaryType = "blob";
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor() {
    socket = this;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data) {
    if (typeof data !== "string" || !data.startsWith('{"type":"verb:')) return;
    const message = JSON.parse(data);
    const subscribed = () => {
      this.onmessage?.({ data: '{"type":"verb:subscribed","topic":"t"}' });
      this.onmessage?.({ data: '{"type":"verb:stream","stream":"t","epoch":"e","seq":0}' });
    };
    if (message.type === "verb:hello") {
      queueMicrotask(() => {
        this.onmessage?.({ data: '{"type":"verb:welcome","v":1,"session":"s","resumed":false,"received":0}' });
        if (message.topics.includes("t")) subscribed();
      });
    } else if (message.type === "verb:sub") queueMicrotask(subscribed);
  }
  close() {
    this.readyState = 3;
  }
}

/** The same frames read by hand: the envelope's payload sliced off and parsed. */
function bare() {
  const onmessage = (event) => {
    const data = event.data;
    if (data.charCodeAt(0) === 0x1e) checksum += JSON.parse(data.slice(data.indexOf("\n", 1) + 1)).bid;
  };
  const started = performance.now();
  for (const data of sequencedFrames) onmessage({ data });
  return (count / (performance.now() - started)) * 1000;
}

async function verb() {
  const client = createClient("ws://bench.invalid/", { WebSocket: StandIn, heartbeat: false });
  await client.subscribe("t");
  client.on("message", (message) => {
    checksum += message.bid;
  });
  const started = performance.now();
  for (const data of sequencedFrames) socket.onmessage({ data });
  const rate = (count / (performance.now() - started)) * 1000;
  if (client.cursors().t.seq !== count) throw new Error("messages were lost");
  await client.close();
  return rate;
}

const results = { bare: [], verb: [] };
for (let round = 0; round < 5; round++) {
  results.bare.push(bare());
  results.verb.push(await verb());
}
const best = (list) => Math.max(...list.slice(1));
const b = best(results.bare);
const v = best(results.verb);
console.log(
  `${typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`}: ${count} messages, receive path only`,
);
console.log(`bare handler (slice + JSON.parse): ${Math.round(b).toLocaleString()} msg/s`);
console.log(`@verb/client:              ${Math.round(v).toLocaleString()} msg/s (${(v / b).toFixed(2)}x)`);
console.log(`(checksum ${checksum})`);
