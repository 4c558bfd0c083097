/**
 * The spec's "Basic WebSocket Server" and "HTTP + WebSocket Server" examples, run unchanged under
 * `bun`, `node`, and `VERB_ADAPTER=uws node`, and driven over real sockets (the spec's own test
 * scenario "WebSocket connection and messaging" included).
 */

import { afterEach, describe, expect, it } from "vitest";
import { TestClient } from "../../packages/conformance/src/clients/ws-client.js";
import { ADAPTERS, eventually, freePort, type Running, runExample, skipReason } from "../../tests/helpers/runtimes.js";

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

for (const adapter of ADAPTERS) {
  const skip = skipReason(adapter);
  describe.skipIf(skip !== undefined)(`spec examples on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("Basic WebSocket Server: welcome, then 'Echo: <message>'", async () => {
      const port = await freePort();
      const server = await runExample(adapter, "basic-websocket", { PORT: String(port) }, /WebSocket server running/);
      running.push(server);
      const client = await eventually(() => TestClient.open(`ws://127.0.0.1:${port}`));
      expect((await client.message()).text).toBe("Welcome to WebSocket server!");
      client.send("Hello Server!");
      expect((await client.message()).text).toContain("Echo: Hello Server!");
      client.close(1000, "done");
      await client.waitClose();
      await expect.poll(() => server.output()).toMatch(/Client disconnected: 1000 - done/);
      expect(server.output()).toContain("Received: Hello Server!");
    });

    it("HTTP + WebSocket Server: the page, the greeting, 'Server received: <message>'", async () => {
      const port = await freePort();
      const server = await runExample(adapter, "http-websocket", { PORT: String(port) }, /HTTP \+ WebSocket demo on/);
      running.push(server);
      expect(server.output()).toContain(`(adapter: ${adapter})`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      expect(await page.text()).toContain("<h1>WebSocket Demo</h1>");
      const client = await TestClient.open(`ws://127.0.0.1:${port}/`);
      expect((await client.message()).text).toBe("WebSocket connection established");
      client.send("hello from the test");
      expect((await client.message()).text).toBe("Server received: hello from the test");
      client.close();
    });
  });
}
