import { MemoryOfflineStore, type QueuedMessage } from "@verb/core";
import { describe, expect, it } from "vitest";

const message = (n: number, at = Date.now()): QueuedMessage => ({ data: `m${n}`, binary: false, at });

describe("MemoryOfflineStore", () => {
  it("keeps the newest maxMessages in order, dropping the oldest one at a time", () => {
    const store = new MemoryOfflineStore();
    const bounds = { maxMessages: 100, ttlMs: 60_000 };
    let dropped = 0;
    for (let i = 0; i < 1000; i++) dropped += store.enqueue("a", message(i), bounds);
    expect(dropped).toBe(900);
    expect(store.depth("a")).toBe(100);
    expect(store.totalDepth()).toBe(100);
    expect(store.take("a", bounds).map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `m${900 + i}`));
    expect(store.depth("a")).toBe(0);
    expect(store.totalDepth()).toBe(0);
  });

  it("sweeps expired messages from the front and forgets empty queues", () => {
    const store = new MemoryOfflineStore();
    const bounds = { maxMessages: 10, ttlMs: 1000 };
    const now = Date.now();
    for (let i = 0; i < 4; i++) store.enqueue("a", message(i, now - 5000), bounds);
    for (let i = 4; i < 6; i++) store.enqueue("a", message(i, now), bounds);
    store.enqueue("b", message(9, now - 5000), bounds);
    expect(store.sweep(now, bounds)).toBe(5);
    expect(store.depth("a")).toBe(2);
    expect(store.depth("b")).toBe(0);
    expect(store.totalDepth()).toBe(2);
    expect(store.take("a", bounds).map((m) => m.data)).toEqual(["m4", "m5"]);
  });
});
