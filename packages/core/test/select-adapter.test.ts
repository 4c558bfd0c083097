/**
 * Adapter selection errors, checked in an installation that lacks packages: a temporary folder
 * holding only the built @verb/core (and @verb/uws without uWebSockets.js).
 */

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../../tests/helpers/runtimes.js";

const dir = mkdtempSync(join(tmpdir(), "verb-select-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function install(pkg: string, from: string): void {
  const target = join(dir, "node_modules", pkg);
  cpSync(join(ROOT, from, "package.json"), join(target, "package.json"));
  cpSync(join(ROOT, from, "dist"), join(target, "dist"), { recursive: true });
}

function listenWith(adapter: string): string {
  const script = join(dir, `listen-${adapter}.mjs`);
  writeFileSync(
    script,
    `import { createServer } from "@verb/core";
     try { await createServer().withOptions({ adapter: ${JSON.stringify(adapter)} }).listen(0); console.log("listening"); process.exit(0); }
     catch (error) { console.log(error.message); }`,
  );
  return spawnSync(process.execPath, [script], { cwd: dir, encoding: "utf8" }).stdout.trim();
}

describe("adapter selection", () => {
  install("@verb/protocol", "packages/protocol");
  install("@verb/core", "packages/core");
  install("@verb/uws", "adapters/uws");

  it("names the adapter package to install when it is missing", () => {
    expect(listenWith("node")).toBe('The Verb adapter "@verb/node" is not installed. Install it: npm install @verb/node');
  });

  it("names the engine to install when the adapter's engine is missing", () => {
    expect(listenWith("uws")).toMatch(
      /^The Verb adapter "@verb\/uws" needs "uWebSockets.js", which is not installed\. Install it: npm install uNetworking\/uWebSockets.js#v20.57.0/,
    );
  });
});
