import { describe, expect, it } from "vitest";
import { StreamTable } from "../src/streams.js";

describe("streams", () => {
  it("numbers a stream's messages 1, 2, 3 in its epoch", () => {
    const table = new StreamTable({ maxMessages: 10, ttlMs: 1000 }, "server");
    const stream = table.open("news");
    expect([stream.append("a", undefined, table.bounds, 0).seq, stream.append("b", undefined, table.bounds, 0).seq]).toEqual([
      1, 2,
    ]);
    expect(table.open("news")).toBe(stream);
  });

  it("gives a stream made again after its TTL a new epoch, so old cursors read as an epoch gap, not as numbers seen", () => {
    const table = new StreamTable({ maxMessages: 10, ttlMs: 1000 }, "server");
    const first = table.open("news");
    first.append("a", undefined, table.bounds, 0);
    first.idleSince = 0;
    table.sweep(5000);
    expect(table.get("news")).toBeUndefined();
    const again = table.open("news");
    expect(again.seq).toBe(0);
    expect(again.epoch).not.toBe(first.epoch);
    expect(again.epoch.startsWith("server")).toBe(true);
  });
});
