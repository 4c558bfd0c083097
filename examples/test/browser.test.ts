/**
 * The spec's "HTTP + WebSocket Server" demo page driven by a real browser (Debian's Chromium through
 * playwright-core) on each adapter: the page loads @verb/client from the server, connects and
 * shows the connection state, a typed message comes back, and a server that goes away is shown
 * as "reconnecting".
 */

import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "../../packages/client/test/helpers.js";
import { ADAPTERS, freePort, runExample, skipReason } from "../../tests/helpers/runtimes.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const inCI = process.env.CI === "true" || process.env.CI === "1";
const noBrowser = existsSync(CHROMIUM) || inCI ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;

let browser: Browser | undefined;
beforeAll(async () => {
  if (noBrowser !== undefined) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

for (const adapter of ADAPTERS) {
  const skip = noBrowser ?? skipReason(adapter);
  describe.skipIf(skip !== undefined)(`demo page in Chromium on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("loads the client, shows the connection state, and 'Server received: ...' for a typed message", async () => {
      const port = await freePort();
      const server = await runExample(adapter, "http-websocket", { PORT: String(port) }, /HTTP \+ WebSocket demo on/);
      const page = await (browser as Browser).newPage();
      try {
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        const bundle = page.waitForResponse((response) => response.url().endsWith("/verb-client.js"));
        await page.goto(`http://127.0.0.1:${port}/`);
        expect(await page.locator("h1").textContent()).toBe("WebSocket Demo");
        const served = await bundle;
        expect(served.status()).toBe(200);
        expect(served.headers()["content-type"]).toMatch(/javascript/);
        await page.locator("#state", { hasText: /^open$/ }).waitFor({ timeout: 10_000 });
        await page.locator("#messages div", { hasText: "WebSocket connection established" }).waitFor({ timeout: 10_000 });
        await page.fill("#messageInput", `typed in Chromium on ${adapter}`);
        await page.click("button");
        await page
          .locator("#messages div", { hasText: `Server received: typed in Chromium on ${adapter}` })
          .waitFor({ timeout: 10_000 });
        expect(await page.inputValue("#messageInput")).toBe("");
        const lines = await page.locator("#messages div").allTextContents();
        expect(lines).toEqual(["WebSocket connection established", `Server received: typed in Chromium on ${adapter}`]);
        // The server goes away: the page says so (the client keeps trying by itself).
        await server.stop();
        await page.locator("#state", { hasText: /^reconnecting$/ }).waitFor({ timeout: 10_000 });
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        await server.stop();
      }
    });
  });
}

for (const adapter of ADAPTERS) {
  const skip = noBrowser ?? skipReason(adapter);
  describe.skipIf(skip !== undefined)(`chat page in Chromium on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("joins a room, shows its history on join, and after a cut rejoins and fills in what was missed", async () => {
      const port = await freePort();
      const server = await runExample(adapter, "chat", { PORT: String(port) }, /Chat on .*\(adapter: /);
      // One proxy per page, so that only Bob's connection is cut.
      const [toAlice, toBob] = [await TcpProxy.start(port), await TcpProxy.start(port)];
      const [alice, bob] = [await (browser as Browser).newPage(), await (browser as Browser).newPage()];
      const errors: string[] = [];
      for (const page of [alice, bob]) page.on("pageerror", (error) => errors.push(error.message));
      const line = (page: typeof alice, text: string) => page.locator("#messages li", { hasText: text }).first();
      const state = (page: typeof alice, value: string) =>
        page.locator("#state", { hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: 10_000 });
      try {
        await alice.goto(`http://127.0.0.1:${toAlice.port}/?name=alice`);
        await state(alice, "open");
        await alice.click("#join");
        await line(alice, "joined lobby").waitFor({ timeout: 10_000 });
        await alice.fill("#text", "hello from alice");
        await alice.click("#send");

        await bob.goto(`http://127.0.0.1:${toBob.port}/?name=bob`);
        await state(bob, "open");
        expect(await bob.locator("#me").textContent()).toBe("bob");
        await bob.click("#join");
        // The history on join, and the notice to the room.
        await line(bob, "alice: hello from alice").waitFor({ timeout: 10_000 });
        await line(alice, "bob joined lobby").waitFor({ timeout: 10_000 });

        // Bob's connection is cut and refused for a while; Alice speaks meanwhile.
        toBob.block(800);
        toBob.cut();
        await state(bob, "reconnecting");
        await alice.fill("#text", "while bob was away");
        await alice.click("#send");
        await state(bob, "open");
        await line(bob, "alice: while bob was away").waitFor({ timeout: 10_000 });
        // Rejoined (a second "joined lobby") and nothing shown twice.
        await expect.poll(() => bob.locator("#messages li", { hasText: "joined lobby" }).count()).toBe(2);
        const lines = await bob.locator("#messages li").allTextContents();
        expect(lines.filter((text) => text.startsWith("alice: "))).toEqual([
          "alice: hello from alice",
          "alice: while bob was away",
        ]);
        expect(errors).toEqual([]);
      } finally {
        await Promise.all([alice.close(), bob.close()]);
        await Promise.all([toAlice.close(), toBob.close()]);
        await server.stop();
      }
    });
  });
}
