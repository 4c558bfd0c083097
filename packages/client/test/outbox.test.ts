/** The outbox over real reconnects: bounded while the server is away, its policies, volatile sends, expiry, the order after the welcome. */

import { type DropInfo, DroppedError, type VerbClient } from "@verb/client";
import { afterEach, expect, it } from "vitest";
import { closeAll, connect, opened, Site, sleep, until } from "./helpers.js";

let sites: Site[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(sites.map((site) => site.close()));
  sites = [];
});

/** Server options that record every application message, as text, in `received`. */
function recorder(received: string[]) {
  return {
    websocket: {
      message: (_ws: unknown, message: string | Buffer) => {
        received.push(typeof message === "string" ? message : `bytes:${[...message].join(",")}`);
      },
    },
  };
}

/** A recording server at a URL that survives restarts. */
async function recording() {
  const received: string[] = [];
  const site = await Site.start(recorder(received));
  sites.push(site);
  return { site, received };
}

/** Takes the server away; resolves once every client is waiting to reconnect. */
async function takeDown(site: Site, clients: VerbClient[]) {
  await site.stop();
  await until(() => clients.every((client) => client.state === "reconnecting"), "clients reconnecting");
}

/** The server again (a new one) at the same URL, recording into a new list. */
async function bringBack(site: Site) {
  const received: string[] = [];
  await site.restart(recorder(received));
  return { received };
}

it("queues while disconnected within its bounds by policy, then flushes in order after the welcome", async () => {
  const { site } = await recording();
  const drops: Record<string, DropInfo[]> = { oldest: [], newest: [], reject: [], bytes: [] };
  const oldest = connect(site.url, { outbox: { maxMessages: 3, policy: "drop-oldest" } });
  const newest = connect(site.url, { outbox: { maxMessages: 3, policy: "drop-newest" } });
  const reject = connect(site.url, { outbox: { maxMessages: 3, policy: "reject" } });
  const bytes = connect(site.url, { outbox: { maxBytes: 10 } });
  oldest.on("drop", (drop) => drops.oldest?.push(drop));
  newest.on("drop", (drop) => drops.newest?.push(drop));
  reject.on("drop", (drop) => drops.reject?.push(drop));
  bytes.on("drop", (drop) => drops.bytes?.push(drop));
  const clients = [oldest, newest, reject, bytes];
  await Promise.all(clients.map((client) => opened(client)));
  await takeDown(site, clients);

  expect([1, 2, 3, 4, 5].map((i) => oldest.send(`oldest ${i}`))).toEqual(["queued", "queued", "queued", "queued", "queued"]);
  expect([1, 2, 3, 4, 5].map((i) => newest.send(`newest ${i}`))).toEqual(["queued", "queued", "queued", "dropped", "dropped"]);
  expect([1, 2, 3].map((i) => reject.send(`reject ${i}`))).toEqual(["queued", "queued", "queued"]);
  expect(() => reject.send("reject 4")).toThrow(DroppedError);
  expect(["aaaa", "bbbb", "cccc"].map((text) => bytes.send(text))).toEqual(["queued", "queued", "queued"]);
  expect(drops.oldest?.map((d) => [d.reason, d.data])).toEqual([
    ["full", "oldest 1"],
    ["full", "oldest 2"],
  ]);
  expect(drops.newest?.map((d) => d.data)).toEqual(["newest 4", "newest 5"]);
  expect(drops.reject?.map((d) => d.data)).toEqual(["reject 4"]);
  expect(drops.bytes?.map((d) => d.data)).toEqual(["aaaa"]);
  expect(oldest.stats).toMatchObject({ outbox: 3, queued: 3, dropped: 2 });

  const back = await bringBack(site);
  await until(() => back.received.length === 11, "the queued messages");
  const from = (prefix: string) => back.received.filter((text) => text.startsWith(prefix));
  expect(from("oldest")).toEqual(["oldest 3", "oldest 4", "oldest 5"]);
  expect(from("newest")).toEqual(["newest 1", "newest 2", "newest 3"]);
  expect(from("reject")).toEqual(["reject 1", "reject 2", "reject 3"]);
  expect(back.received.filter((text) => text.length === 4)).toEqual(["bbbb", "cccc"]);
  // Acknowledged by the next pong or reply; nothing is sent twice meanwhile.
  await sleep(50);
  expect(back.received).toHaveLength(11);
});

it("never queues volatile sends, and drops expired messages before they go out", async () => {
  const { site } = await recording();
  const client = connect(site.url);
  const drops: DropInfo[] = [];
  client.on("drop", (drop) => drops.push(drop));
  await opened(client);
  expect(client.send("live", { volatile: true })).toBe("sent");
  await takeDown(site, [client]);
  expect(client.send("volatile", { volatile: true })).toBe("dropped");
  expect(client.send("expires", { expiresIn: 20 })).toBe("queued");
  expect(client.send("stays", { expiresIn: 60_000 })).toBe("queued");
  expect(client.send(new Uint8Array([7, 8]))).toBe("queued");
  expect(client.send({ json: true })).toBe("queued");
  await sleep(40);
  const back = await bringBack(site);
  await until(() => back.received.length === 3, "what did not expire");
  expect(back.received).toEqual(["stays", "bytes:7,8", '{"json":true}']);
  expect(drops.map((d) => [d.reason, d.data])).toEqual([
    ["offline", "volatile"],
    ["expired", "expires"],
  ]);
  expect(client.stats.dropped).toBe(2);
});

it("sends what was queued before the first welcome after the hello, numbered (the server sees plain messages)", async () => {
  const { site, received } = await recording();
  const client = connect(site.url);
  // Still connecting: queued; the server must get the hello first, then these, unwrapped.
  expect(client.send("first")).toBe("queued");
  expect(client.send("\u001estarts like an envelope")).toBe("queued");
  await until(() => received.length === 2, "both messages");
  expect(received).toEqual(["first", "\u001estarts like an envelope"]);
  expect(client.send("third")).toBe("sent");
  await until(() => received.length === 3, "the third");
});

it("asks for an acknowledgement when many messages are held, so the outbox stays small while open", async () => {
  const { site, received } = await recording();
  const client = connect(site.url, { outbox: { maxMessages: 40 } });
  await opened(client);
  // In batches: each one asks for an acknowledgement (a quarter of the bound is held), the pong
  // shrinks the outbox before the next batch, nothing is let go.
  for (let batch = 0; batch < 20; batch++) {
    for (let i = 0; i < 20; i++) client.send(`m${batch * 20 + i}`);
    await until(() => client.stats.outbox < 20, "the acknowledgement of a batch");
  }
  await until(() => received.length === 400, "400 messages");
  await until(() => client.stats.outbox === 0, "acknowledgements");
  expect(client.stats.released).toBe(0);
  // In one synchronous burst no pong can arrive: the outbox stays within its bound, the oldest sent are released.
  for (let i = 0; i < 100; i++) client.send(`burst${i}`);
  expect(client.stats.outbox).toBe(40);
  expect(client.stats.released).toBe(60);
  await until(() => received.length === 500 && client.stats.outbox === 0, "the burst, acknowledged");
  expect(received).toEqual([
    ...Array.from({ length: 400 }, (_, i) => `m${i}`),
    ...Array.from({ length: 100 }, (_, i) => `burst${i}`),
  ]);
});
