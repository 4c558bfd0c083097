/**
 * The message router with real Standard Schema libraries (zod, valibot): types inferred from the
 * schema, issues turned into error replies naming the fields. Over real sockets the conformance
 * suite checks the same router on every adapter; here the socket only records what is sent.
 */

import { createMessageRouter, type VerbSocket } from "@verb/core";
import * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";

function recorder(): { ws: VerbSocket<{ user?: { id: string } }>; sent: unknown[] } {
  const sent: unknown[] = [];
  const ws = {
    data: {},
    send(data: unknown) {
      sent.push(JSON.parse(String(data)));
      return "sent";
    },
  } as unknown as VerbSocket<{ user?: { id: string } }>;
  return { ws, sent };
}

describe("message router with Standard Schema libraries", () => {
  it("zod: typed payloads, issues naming fields", async () => {
    const seen: unknown[] = [];
    const router = createMessageRouter<{ user?: { id: string } }>().on(
      "move",
      z.object({ type: z.literal("move"), x: z.number().int(), y: z.number(), tags: z.array(z.string()).optional() }),
      (_ws, data) => {
        expectTypeOf(data.x).toEqualTypeOf<number>();
        expectTypeOf(data.tags).toEqualTypeOf<string[] | undefined>();
        seen.push(data);
      },
    );
    const { ws, sent } = recorder();
    await router.handle(ws, JSON.stringify({ type: "move", x: 1, y: 2.5 }));
    expect(seen).toEqual([{ type: "move", x: 1, y: 2.5 }]);
    await router.handle(ws, JSON.stringify({ type: "move", x: 1.5, tags: ["a", 3] }));
    const reply = sent[0] as { message: string; issues: { path: string }[] };
    expect(reply.message).toMatch(/^Invalid move message: /);
    expect(reply.issues.map((i) => i.path).sort()).toEqual(["tags[1]", "x", "y"]);
  });

  it("valibot: typed payloads, issues naming fields", async () => {
    const seen: unknown[] = [];
    const router = createMessageRouter().on(
      "greet",
      v.object({ type: v.literal("greet"), name: v.pipe(v.string(), v.minLength(2)) }),
      (_ws, data) => {
        expectTypeOf(data.name).toEqualTypeOf<string>();
        seen.push(data.name);
      },
    );
    const { ws, sent } = recorder();
    await router.handle(ws as never, JSON.stringify({ type: "greet", name: "Ada" }));
    await router.handle(ws as never, JSON.stringify({ type: "greet", name: "A" }));
    expect(seen).toEqual(["Ada"]);
    expect((sent[0] as { issues: { path: string }[] }).issues[0]?.path).toBe("name");
  });

  it("rejects a non-schema and duplicate types at registration", () => {
    const router = createMessageRouter();
    expect(() => router.on("a", {} as never, () => {})).toThrow(/not a Standard Schema/);
    router.on("b", () => {});
    expect(() => router.on("b", () => {})).toThrow(/already has a handler/);
    expect(() => router.binary(256, () => {})).toThrow(RangeError);
  });
});
