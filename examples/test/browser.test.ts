/**
 * The spec's "HTTP + WebSocket Server" demo page driven by a real browser (Debian's Chromium through
 * playwright-core) on each adapter: the page loads, connects, a typed message comes back.
 */

import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    it("loads, connects, and shows 'Server received: ...' for a typed message", async () => {
      const port = await freePort();
      const server = await runExample(adapter, "http-websocket", { PORT: String(port) }, /HTTP \+ WebSocket demo on/);
      const page = await (browser as Browser).newPage();
      try {
        await page.goto(`http://127.0.0.1:${port}/`);
        expect(await page.locator("h1").textContent()).toBe("WebSocket Demo");
        await page.locator("#messages div", { hasText: "WebSocket connection established" }).waitFor({ timeout: 10_000 });
        await page.fill("#messageInput", `typed in Chromium on ${adapter}`);
        await page.click("button");
        await page
          .locator("#messages div", { hasText: `Server received: typed in Chromium on ${adapter}` })
          .waitFor({ timeout: 10_000 });
        expect(await page.inputValue("#messageInput")).toBe("");
        const lines = await page.locator("#messages div").allTextContents();
        expect(lines).toEqual(["WebSocket connection established", `Server received: typed in Chromium on ${adapter}`]);
      } finally {
        await page.close();
        await server.stop();
      }
    });
  });
}
