/**
 * The CLI against an adapter given by path, and its exit status and JSON report.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../../tests/helpers/runtimes.js";

const dir = mkdtempSync(join(tmpdir(), "verb-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("verb-conformance CLI", () => {
  it("runs checks against an adapter module given by path and writes the JSON report", () => {
    const report = join(dir, "report.json");
    const result = spawnSync(
      process.execPath,
      [
        "packages/conformance/dist/cli.js",
        "--adapter",
        "adapters/node/dist/index.js",
        "--only",
        "messages.text-echo,close.client-code",
        "--json",
        report,
        "--quiet",
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/text frame arrives as a string/);
    const rows = JSON.parse(readFileSync(report, "utf8")) as { id: string; status: string; adapter: string; ms: number }[];
    expect(rows.map((r) => r.id).sort()).toEqual(["close.client-code-reason", "messages.text-echo"]);
    for (const row of rows) {
      expect(row.status).toBe("pass");
      expect(row.adapter).toBe("adapters/node/dist/index.js");
      expect(typeof row.ms).toBe("number");
    }
  });

  it("fails with exit 1 when the adapter cannot start, and 2 on bad usage", () => {
    const broken = spawnSync(
      process.execPath,
      ["packages/conformance/dist/cli.js", "-a", "./does-not-exist.js", "--only", "text-echo", "--quiet"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/FAIL/);
    expect(broken.stdout).toMatch(/fixture failed to start/);
    const usage = spawnSync(process.execPath, ["packages/conformance/dist/cli.js"], { cwd: ROOT, encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--adapter is required/);
  });
});
