/**
 * @verb/client in headless Chromium (Debian's chromium through playwright-core) against a server
 * process on every adapter: the page loads the client's browser bundle from the server, connects
 * through the fault-injecting proxy, receives sequenced messages, survives cuts (one in the middle
 * of a frame, one reset) and resumes exactly once and in order.
 */

import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "./client-scenarios-proxy.js";
import {
  type AdapterName,
  DENO,
  engineOf,
  ROOT,
  type Running,
  runProcess,
  scriptCommand,
  skipReason,
} from "./helpers/runtimes.js";

type Adapter = AdapterName | "deno";
const ALL: readonly Adapter[] = ["bun", "node", "uws", "deno"];
const FIXTURE = `${ROOT}tests/fixtures/client-scenario-server.mjs`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const inCI = process.env.CI === "true" || process.env.CI === "1";
const noBrowser = existsSync(CHROMIUM) || inCI ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;

function skipFor(adapter: Adapter): string | undefined {
  if (noBrowser !== undefined) return noBrowser;
  if (adapter === "deno") return existsSync(DENO) || inCI ? undefined : "node_modules/deno/deno is missing (npm ci)";
  return skipReason(adapter);
}

interface Seen {
  users: number[];
  opens: boolean[];
  gaps: unknown[];
  states: string[];
}

const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: Seen }).seen);

/** Waits, polling the page, until `predicate` holds for what it has seen. */
async function until(page: Page, predicate: (s: Seen) => boolean, what: string, timeout = 10_000): Promise<Seen> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const current = await seen(page);
    if (predicate(current)) return current;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(current).slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let browser: Browser | undefined;
beforeAll(async () => {
  if (noBrowser !== undefined) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
});
afterAll(async () => {
  await browser?.close();
});

for (const adapter of ALL) {
  const reason = skipFor(adapter);
  describe.skipIf(reason !== undefined)(`@verb/client in Chromium on ${adapter}${reason ? ` (skipped: ${reason})` : ""}`, () => {
    let server: Running | undefined;
    afterAll(async () => {
      await server?.stop();
    });

    it("loads the bundle from the server, receives sequenced messages and resumes exactly once after cuts", async () => {
      const [command, args] = scriptCommand(adapter, FIXTURE);
      server = await runProcess(command, args, { VERB_ADAPTER: adapter, PORT: "0" }, /ready on \d+ \(adapter: [\w-]+\)/, {
        adapter,
        timeoutMs: 30_000,
      });
      expect(engineOf(server.child.pid as number)).toBe(adapter);
      const port = Number(/ready on (\d+)/.exec(server.output())?.[1]);
      const control = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(15_000) });
        expect(response.ok).toBe(true);
        return response.json();
      };
      const proxy = await FaultProxy.start(port);
      const page = await (browser as Browser).newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      try {
        const user = `user-browser-${adapter}`;
        await page.goto(`http://127.0.0.1:${port}/page?ws=${encodeURIComponent(proxy.url)}&user=${user}`);
        await until(page, (s) => s.opens.length === 1, "the first open");
        expect(await page.locator("#state").textContent()).toBe("open");
        await control(`/control/stream?user=${user}&count=200&batch=10&wait=1`);
        await until(page, (s) => s.users.length === 200, "the first 200");
        let total = 200;
        for (const fault of ["cut-mid-frame", "reset"] as const) {
          const opens = (await seen(page)).opens.length;
          const sending = control(`/control/stream?user=${user}&count=300&batch=10&wait=1`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          await proxy.inject(fault);
          await sending;
          total += 300;
          await until(page, (s) => s.opens.length > opens, `the reconnect after ${fault}`);
        }
        const last = await until(page, (s) => s.users.length >= total, "every message");
        await new Promise((resolve) => setTimeout(resolve, 100));
        const final = await seen(page);
        expect(final.users).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(final.gaps).toEqual([]);
        expect(last.opens.slice(1).every(Boolean)).toBe(true);
        expect(final.states).toContain("reconnecting");
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        await proxy.close();
      }
    }, 60_000);
  });
}
