/**
 * Scale-out on a real Redis: a cluster of three instances — Bun, Node + ws, Node + uWebSockets.js —
 * with clients on each. Room chat and socket publishes across instances, per-user delivery to a
 * user on two instances, ordering per publisher, no duplicates, no self-echo, the offline queue
 * resumed on another instance, and a Redis restart mid-run.
 */

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../packages/conformance/src/clients/ws-client.js";
import { type RedisServer, redisUnavailable, startRedis } from "./helpers/redis.js";
import { BUN, freePort, ROOT, type Running, runExample, runProcess, skipReason } from "./helpers/runtimes.js";

const NAMES = ["bun", "node", "uws"] as const;
type Name = (typeof NAMES)[number];
const skip = redisUnavailable() ?? NAMES.map(skipReason).find((reason) => reason !== undefined);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)(`Redis backplane cluster (bun + node + uws)${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let redis: RedisServer;
  let probe: Redis;
  const ports = {} as Record<Name, number>;
  const instances: Running[] = [];
  const clients: TestClient[] = [];

  async function startInstance(name: Name): Promise<void> {
    const port = await freePort();
    const script = `${ROOT}tests/fixtures/cluster-instance.mjs`;
    const env = { NAME: name, PORT: String(port), REDIS_URL: redis.url, VERB_ADAPTER: name };
    instances.push(
      name === "bun"
        ? await runProcess(BUN, [script], env, /ready on/, { adapter: name })
        : await runProcess(process.execPath, [script], env, /ready on/, { adapter: name }),
    );
    ports[name] = port;
  }

  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url, { maxRetriesPerRequest: null });
    probe.on("error", () => {});
    for (const name of NAMES) await startInstance(name);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.terminate();
    await Promise.all(instances.map((instance) => instance.stop()));
    probe?.disconnect();
    await redis?.process.stop();
  });

  async function connect(name: Name, query: string): Promise<TestClient> {
    const client = await TestClient.open(`ws://127.0.0.1:${ports[name]}/?${query}`);
    clients.push(client);
    expect(JSON.parse((await client.message()).text)).toEqual({ type: "hello", via: name });
    return client;
  }

  async function json(client: TestClient, type: string): Promise<Record<string, unknown>> {
    for (;;) {
      const message = JSON.parse((await client.message()).text) as Record<string, unknown>;
      if (message.type === type) return message;
    }
  }

  /** Waits until `count` instances subscribe to a topic's channel in Redis. */
  async function subscribed(topic: string, count: number): Promise<void> {
    const channel = `verb:${topic}`;
    for (let i = 0; i < 100; i++) {
      const [, subscribers] = (await probe.pubsub("NUMSUB", channel)) as [string, number];
      if (Number(subscribers) >= count) return;
      await sleep(30);
    }
    throw new Error(`${channel} never reached ${count} subscribers`);
  }

  async function metrics(name: Name) {
    return (await (await fetch(`http://127.0.0.1:${ports[name]}/metrics`)).json()) as {
      backplane: { connected: boolean; published: number; received: number; lost: number; topics: number };
    };
  }

  const send = (client: TestClient, value: unknown) => client.send(JSON.stringify(value));

  /** How many connections Redis counts on a topic's channel (one per subscribed instance). */
  async function channelSubscribers(topic: string): Promise<number> {
    const [, subscribers] = (await probe.pubsub("NUMSUB", `verb:${topic}`)) as [string, number];
    return Number(subscribers);
  }

  async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await condition()) return;
      await sleep(25);
    }
    throw new Error(`${what}: not reached within ${timeoutMs} ms`);
  }

  it("Redis subscriptions are reference-counted per instance: one per topic, released when the last local socket leaves", async () => {
    for (const name of NAMES) {
      const topic = `refcount-${name}`;
      const [first, second] = [await connect(name, ""), await connect(name, "")];
      for (const client of [first, second]) {
        send(client, { type: "subscribe", topic });
        await json(client, "subscribed");
      }
      await until(async () => (await channelSubscribers(topic)) === 1, `${name}: the channel subscribed`);
      expect(await channelSubscribers(topic), `${name}: two local subscribers, one Redis subscription`).toBe(1);
      expect((await metrics(name)).backplane.topics).toBeGreaterThanOrEqual(1);
      first.close(1000);
      await first.waitClose();
      // The other socket still listens: the instance keeps the channel. A publish from another instance proves it.
      const other = NAMES.find((n) => n !== name) as Name;
      const publisher = await connect(other, "client=rc-pub");
      send(publisher, { type: "publish", topic, message: "still subscribed" });
      expect((await json(second, "published")).message).toBe("still subscribed");
      expect(await channelSubscribers(topic)).toBe(1);
      second.close(1000);
      await second.waitClose();
      await until(async () => (await channelSubscribers(topic)) === 0, `${name}: the channel released`);
      publisher.close(1000);
    }
  });

  it("presence is cluster-wide: users, clients and room sizes on other instances; a killed instance's share is gone within 10 s", async () => {
    const port = await freePort();
    const env = { NAME: "extra", PORT: String(port), REDIS_URL: redis.url, VERB_ADAPTER: "node" };
    const extra = await runProcess(process.execPath, [`${ROOT}tests/fixtures/cluster-instance.mjs`], env, /ready on/, {
      adapter: "node",
    });
    instances.push(extra);
    const ask = async (name: Name) =>
      (await (await fetch(`http://127.0.0.1:${ports[name]}/presence?user=pam&client=pres-c&room=pres-room`)).json()) as {
        user: boolean;
        client: boolean;
        room: number;
      };
    expect(await ask("bun")).toEqual({ user: false, client: false, room: 0 });
    const client = await TestClient.open(`ws://127.0.0.1:${port}/?token=pam&client=pres-c`);
    clients.push(client);
    await client.message();
    send(client, { type: "join_room", roomId: "pres-room" });
    await json(client, "joined_room");
    const local = await connect("uws", "client=pres-d");
    send(local, { type: "join_room", roomId: "pres-room" });
    await json(local, "joined_room");
    for (const name of NAMES) expect(await ask(name), name).toEqual({ user: true, client: true, room: 2 });
    extra.child.kill("SIGKILL");
    const killed = Date.now();
    await until(async () => !(await ask("bun")).user, "the killed instance's user gone");
    expect(Date.now() - killed, "within the 10 s presence expiry (+ a heartbeat)").toBeLessThan(12_500);
    expect(await ask("node")).toEqual({ user: false, client: false, room: 1 });
  }, 30_000);

  it("room chat crosses instances: every member once, never the sender", async () => {
    const [a, b, c] = await Promise.all([connect("bun", "client=ra"), connect("node", "client=rb"), connect("uws", "client=rc")]);
    for (const client of [a, b, c]) {
      send(client, { type: "join_room", roomId: "lobby" });
      await json(client, "joined_room");
    }
    await subscribed("verb:room:lobby", 3);
    send(a, { type: "chat", roomId: "lobby", message: "hello from bun" });
    send(c, { type: "chat", roomId: "lobby", message: "hello from uws" });
    const chats = async (client: TestClient, count: number) => {
      const seen: string[] = [];
      for (let i = 0; i < count; i++) {
        const chat = await json(client, "chat");
        seen.push(`${String(chat.from)}:${String(chat.message)}`);
      }
      return seen.sort();
    };
    // Two publishers on two instances: each member gets both, in any order between publishers.
    expect(await chats(b, 2)).toEqual(["ra:hello from bun", "rc:hello from uws"]);
    expect(await chats(a, 1)).toEqual(["rc:hello from uws"]);
    expect(await chats(c, 1)).toEqual(["ra:hello from bun"]);
    await sleep(300);
    for (const [client, expected] of [
      [a, 1],
      [b, 2],
      [c, 1],
    ] as const) {
      const received = client.received.filter((m) => m.text.includes('"type":"chat"'));
      expect(received.length, "exactly one copy each, no self-echo").toBe(expected);
    }
  });

  it("socket publish reaches subscribers on other instances but not the publisher", async () => {
    const x = await connect("bun", "client=px");
    const y = await connect("node", "client=py");
    const z = await connect("uws", "client=pz");
    for (const client of [x, y, z]) {
      send(client, { type: "subscribe", topic: "news" });
      await json(client, "subscribed");
    }
    await subscribed("news", 3);
    send(y, { type: "publish", topic: "news", message: "from node" });
    expect(await json(x, "published")).toMatchObject({ from: "py", via: "node" });
    expect(await json(z, "published")).toMatchObject({ from: "py", via: "node" });
    await sleep(300);
    expect(y.received.some((m) => m.text.includes('"type":"published"'))).toBe(false);
  });

  it("per-user delivery reaches a user connected on two instances, exactly once each", async () => {
    const phone = await connect("bun", "token=alice");
    const laptop = await connect("uws", "token=alice");
    const bob = await connect("node", "token=bob");
    await subscribed("verb:user:alice", 2);
    const response = await fetch(`http://127.0.0.1:${ports.node}/notify/alice`, {
      method: "POST",
      body: JSON.stringify({ title: "deploy done" }),
      headers: { "content-type": "application/json" },
    });
    expect(await response.json()).toEqual({ delivered: true });
    for (const socket of [phone, laptop])
      expect(await json(socket, "notification")).toMatchObject({ title: "deploy done", via: "node" });
    const absent = await fetch(`http://127.0.0.1:${ports.bun}/notify/nobody`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(await absent.json()).toEqual({ delivered: false });
    await sleep(300);
    for (const socket of [phone, laptop]) expect(socket.received.filter((m) => m.text.includes("notification")).length).toBe(1);
    expect(bob.received.some((m) => m.text.includes("notification"))).toBe(false);
  });

  it("keeps the order of one publisher and loses nothing on a healthy Redis (500 messages)", async () => {
    const publisher = await connect("bun", "client=seqpub");
    const subscribers = await Promise.all([connect("node", "client=seq1"), connect("uws", "client=seq2")]);
    for (const client of subscribers) {
      send(client, { type: "subscribe", topic: "seq" });
      await json(client, "subscribed");
    }
    await subscribed("seq", 2);
    send(publisher, { type: "sequence", topic: "seq", count: 500 });
    for (const client of subscribers) {
      for (let i = 0; i < 500; i++) expect((await json(client, "seq")).i).toBe(i);
    }
  });

  it("sendTo finds a client on another instance, or queues it in Redis until it resumes elsewhere", async () => {
    const target = await connect("uws", "client=target");
    const sender = await connect("node", "client=sender");
    await subscribed("verb:client:target", 1);
    send(sender, { type: "sendTo", clientId: "target", message: "direct hop" });
    expect(await json(sender, "sendTo")).toEqual({ type: "sendTo", status: "queued" });
    expect(await json(target, "direct")).toMatchObject({ message: "direct hop", via: "node" });
    target.close(1000);
    await target.waitClose();
    await sleep(100);
    send(sender, { type: "sendTo", clientId: "target", message: "while away" });
    await json(sender, "sendTo");
    await sleep(300);
    const back = await connect("bun", "client=target");
    expect(await json(back, "direct")).toMatchObject({ message: "while away", via: "node" });
  });

  it("survives a Redis restart: local delivery never stops, losses are counted, cross-instance delivery resumes", async () => {
    const n1 = await connect("node", "client=local1");
    const n2 = await connect("node", "client=local2");
    const remote = await connect("uws", "client=remote1");
    const far = await connect("bun", "client=far1");
    for (const client of [n1, n2, remote, far]) {
      send(client, { type: "join_room", roomId: "ops" });
      await json(client, "joined_room");
    }
    await subscribed("verb:room:ops", 3);
    const lostBefore = (await metrics("bun")).backplane.lost;
    await redis.process.stop();
    await sleep(300);
    send(n1, { type: "chat", roomId: "ops", message: "local while redis is down" });
    expect(await json(n2, "chat")).toMatchObject({ message: "local while redis is down" });
    send(far, { type: "chat", roomId: "ops", message: "lost while redis is down" });
    await sleep(300);
    expect((await metrics("bun")).backplane.lost).toBeGreaterThan(lostBefore);
    expect(remote.received.some((m) => m.text.includes("lost while redis is down"))).toBe(false);
    redis = await startRedis(redis.port);
    for (let i = 0; i < 100; i++) {
      const states = await Promise.all(NAMES.map(async (name) => (await metrics(name)).backplane.connected));
      if (states.every(Boolean)) break;
      await sleep(100);
    }
    await subscribed("verb:room:ops", 3);
    send(far, { type: "chat", roomId: "ops", message: "back again" });
    for (const client of [n1, n2, remote])
      expect(await json(client, "chat")).toMatchObject({ message: "back again", via: "bun" });
  });

  it("the cluster example: two instances behind one Redis share rooms and private messages", async () => {
    const [nodePort, bunPort] = [await freePort(), await freePort()];
    instances.push(await runExample("node", "cluster", { PORT: String(nodePort), REDIS_URL: redis.url }, /adapter: node/));
    instances.push(await runExample("bun", "cluster", { PORT: String(bunPort), REDIS_URL: redis.url }, /adapter: bun/));
    const ann = await TestClient.open(`ws://127.0.0.1:${nodePort}/?name=ann`);
    const ben = await TestClient.open(`ws://127.0.0.1:${bunPort}/?name=ben`);
    clients.push(ann, ben);
    expect(await json(ann, "welcome")).toMatchObject({ name: "ann", instance: nodePort });
    expect(await json(ben, "welcome")).toMatchObject({ name: "ben", instance: bunPort });
    send(ann, { type: "join_room", roomId: "general" });
    send(ben, { type: "join_room", roomId: "general" });
    await json(ann, "joined_room");
    await json(ben, "joined_room");
    await subscribed("verb:room:general", 2);
    send(ann, { type: "chat", roomId: "general", message: "hi from node" });
    expect(await json(ben, "chat")).toMatchObject({ user: "ann", message: "hi from node", port: nodePort });
    send(ben, { type: "private_message", to: "ann", message: "psst" });
    expect(await json(ann, "private_message")).toMatchObject({ from: "ben", message: "psst" });
    send(ben, { type: "private_message", to: "nobody", message: "?" });
    expect(await json(ben, "error")).toEqual({ type: "error", message: "User not found or offline" });
  });
});
