import { describe, expect, it } from "vitest";
import { StagedSet } from "../src/staged-set.js";

describe("StagedSet", () => {
  it("behaves as a set: size, has, delete, no duplicates, a snapshot of every member", () => {
    const set = new StagedSet<string>();
    set.add("a");
    set.add("a");
    expect(set.size).toBe(1);
    set.add("b");
    set.add("a"); // already a member, no longer the staged one
    set.add("c");
    expect(set.size).toBe(3);
    expect(["a", "b", "c"].map((v) => set.has(v))).toEqual([true, true, true]);
    expect(set.toArray().sort()).toEqual(["a", "b", "c"]);
    expect(set.delete("c")).toBe(true);
    expect(set.delete("a")).toBe(true);
    expect(set.delete("a")).toBe(false);
    expect(set.has("a")).toBe(false);
    expect(set.toArray()).toEqual(["b"]);
    set.add("d");
    set.add("b");
    expect(set.size).toBe(2);
    for (const v of set.toArray()) set.delete(v);
    expect(set.size).toBe(0);
  });
});
