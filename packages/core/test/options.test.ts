import { createMessageRouter, createServer, DEFAULT_LIMITS, resolveWebSocketLimits, VerbOptionsError } from "@verb/core";
import { describe, expect, it } from "vitest";

function rejects(options: Record<string, unknown>, option: string, allowed: RegExp): void {
  let caught: unknown;
  try {
    resolveWebSocketLimits(options as never);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(VerbOptionsError);
  expect((caught as VerbOptionsError).option).toBe(option);
  expect((caught as Error).message).toMatch(allowed);
}

describe("websocket options", () => {
  it("fills every default explicitly, the same for every adapter", () => {
    expect(resolveWebSocketLimits({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      compression: "disabled",
      maxPayloadLength: 16 * 1024 * 1024,
      maxBackpressure: 16 * 1024 * 1024,
      idleTimeout: 120,
      maxLifetime: 0,
      sendPings: true,
      closeOnBackpressureLimit: false,
    });
  });

  it("accepts the spec's advanced options", () => {
    const limits = resolveWebSocketLimits({
      maxCompressedSize: 64 * 1024 * 1024,
      maxBackpressure: 64 * 1024 * 1024,
      closeOnBackpressureLimit: false,
      compression: "shared",
      maxPayloadLength: 16 * 1024 * 1024,
      idleTimeout: 120,
      maxLifetime: 0,
    });
    expect(limits.compression).toBe("shared");
    expect(limits.maxCompressedSize).toBe(64 * 1024 * 1024);
  });

  it("rejects bad values with the option's name and the allowed values", () => {
    rejects({ compression: "gzip" }, "websocket.compression", /"shared", "dedicated" or "disabled"/);
    rejects({ compression: true }, "websocket.compression", /"shared", "dedicated" or "disabled"/);
    rejects({ maxPayloadLength: 0 }, "websocket.maxPayloadLength", /integer from 1/);
    rejects({ maxPayloadLength: 1.5 }, "websocket.maxPayloadLength", /integer/);
    rejects({ maxBackpressure: -1 }, "websocket.maxBackpressure", /integer from 1/);
    rejects({ idleTimeout: 1 }, "websocket.idleTimeout", /0 \(off\) or an integer from 2 to 960/);
    rejects({ idleTimeout: 7.5 }, "websocket.idleTimeout", /integer/);
    rejects({ idleTimeout: 961 }, "websocket.idleTimeout", /960/);
    rejects({ maxLifetime: -1 }, "websocket.maxLifetime", /0 \(unlimited\) to 1440/);
    rejects({ maxLifetime: 300_000 }, "websocket.maxLifetime", /1440/);
    rejects({ closeOnBackpressureLimit: "yes" }, "websocket.closeOnBackpressureLimit", /true or false/);
    rejects({ sendPings: 1 }, "websocket.sendPings", /true or false/);
    rejects(
      { maxPayloadLength: 4096, maxCompressedSize: 1024 },
      "websocket.maxCompressedSize",
      /at least websocket.maxPayloadLength/,
    );
    rejects({ idleTimeot: 5 }, "websocket.idleTimeot", /not a Verb option/);
  });

  it("withOptions rejects bad options, handlers and ports at once", async () => {
    const app = createServer();
    expect(() => app.withOptions({ port: 70000 })).toThrow(/port must be an integer from 0 to 65535/);
    expect(() => app.withOptions({ websocket: { message: "nope" as never } })).toThrow(/websocket.message must be a function/);
    expect(() => app.withOptions({ websocket: { idleTimeout: 3.2 } })).toThrow(VerbOptionsError);
    expect(() => app.withOptions({ prot: 1 } as never)).toThrow(/prot is not a Verb option/);
    expect(() => app.withOptions({ adapter: "workerd" as never })).toThrow(/adapter must be "bun", "node", "uws", "deno"/);
    expect(() => app.withOptions({ websocket: 5 as never })).toThrow(/^websocket must be an object/);
    expect(() => app.withOptions({ websocket: { auth: { verifyToken: () => ({}), announce: "yes" as never } } })).toThrow(
      /websocket.auth.announce must be true, false or a function/,
    );
    expect(() =>
      app.withOptions({ websocket: { offlineQueue: { store: { enqueue: () => 0, take: () => [] } as never } } }),
    ).toThrow(/missing: depth, issueToken, resolveToken, totalDepth/);
  });

  it("close() and closeOnSignals() reject bad options by name", async () => {
    const app = createServer();
    await expect(app.close({ code: 1005 })).rejects.toThrow(/^close.code must be a close code that may be sent/);
    await expect(app.close({ timeout: -1 })).rejects.toThrow(/^close.timeout must be an integer/);
    await expect(app.close({ bogus: 1 } as never)).rejects.toThrow(/^close.bogus is not a Verb option/);
    expect(() => app.closeOnSignals({ signals: ["TERM" as never] })).toThrow(
      /^closeOnSignals.signals must be an array of signal names/,
    );
    expect(() => app.closeOnSignals({ exitCode: 300 })).toThrow(/^closeOnSignals.exitCode must be an integer/);
  });

  it("createMessageRouter rejects bad options by name", () => {
    expect(() => createMessageRouter({ requireAuth: "yes" as never })).toThrow(/^createMessageRouter.requireAuth must be/);
    expect(() => createMessageRouter({ rateLimit: {} } as never)).toThrow(/^createMessageRouter.rateLimit is not a Verb option/);
    expect(() => createMessageRouter({ rateLimits: { chat: { messages: 5, burst: 0 } } })).toThrow(
      /^createMessageRouter.rateLimits.chat.burst must be a number of messages, at least 1/,
    );
    expect(() => createMessageRouter({ rateLimits: { chat: { messages: 0 } } })).toThrow(
      /^createMessageRouter.rateLimits.chat.messages must be a number above 0/,
    );
    expect(() => createMessageRouter({ rateLimits: { chat: { messages: 5, per: 1 } } })).not.toThrow();
  });

  it("merges websocket options across calls", () => {
    const app = createServer();
    app.withOptions({ websocket: { idleTimeout: 30 } });
    app.withOptions({ websocket: { maxPayloadLength: 1024 } });
    expect(app.limits.idleTimeout).toBe(30);
    expect(app.limits.maxPayloadLength).toBe(1024);
  });
});
