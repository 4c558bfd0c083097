/**
 * The published packages: what `npm pack` would ship (the README and every entry point), and that
 * each package README's example really runs against the built packages. The build runs before
 * vitest in `npm test`, so dist/ exists here.
 */

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TestClient } from "../packages/conformance/src/clients/ws-client.js";
import { redisUnavailable, startRedis } from "./helpers/redis.js";
import { BUN, DENO, eventually, freePort, ROOT, type Running, runProcess, skipReason } from "./helpers/runtimes.js";

const run = promisify(execFile);
/** Deno from the npm package `deno` (its install script links the binary there). */

interface Manifest {
  name: string;
  private?: boolean;
  main?: string;
  module?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
}

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const workspaces: string[] = JSON.parse(read("package.json")).workspaces;
const published = workspaces
  .map((dir) => ({ dir, manifest: JSON.parse(read(`${dir}/package.json`)) as Manifest }))
  .filter(({ manifest }) => manifest.private !== true);

/** Every file a manifest points at: main, module, types, bin and the exports' leaves. */
function referencedFiles(manifest: Manifest): string[] {
  const found = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string") found.add(value.replace(/^\.\//, ""));
    else if (value !== null && typeof value === "object") for (const inner of Object.values(value)) add(inner);
  };
  add(manifest.main);
  add(manifest.module);
  add(manifest.types);
  add(manifest.bin);
  add(manifest.exports);
  return [...found];
}

const EXTRA: Record<string, string[]> = {
  "@verb/conformance": ["bin/verb-conformance.js", "dist/cli.js", "dist/fixture.js"],
};

describe("npm pack", () => {
  it("finds the published packages", () => {
    expect(published.map(({ manifest }) => manifest.name).sort()).toEqual(
      [
        "@verb/bun",
        "@verb/client",
        "@verb/conformance",
        "@verb/core",
        "@verb/deno",
        "@verb/node",
        "@verb/protocol",
        "@verb/redis",
        "@verb/uws",
      ].sort(),
    );
  });

  for (const { manifest } of published) {
    it(`${manifest.name} ships its README and its entry points`, async () => {
      const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--workspace", manifest.name], { cwd: ROOT });
      const [pack] = JSON.parse(stdout) as { files: { path: string; mode: number }[] }[];
      const files = new Map(pack?.files.map((file) => [file.path, file.mode]));
      const expected = [
        "README.md",
        "dist/index.js",
        "dist/index.cjs",
        "dist/index.d.ts",
        ...(EXTRA[manifest.name] ?? []),
        ...referencedFiles(manifest),
      ];
      expect([...new Set(expected)].filter((path) => !files.has(path))).toEqual([]);
      for (const bin of typeof manifest.bin === "object" ? Object.values(manifest.bin) : []) {
        expect((files.get(bin.replace(/^\.\//, "")) ?? 0) & 0o111, `${bin} is executable`).not.toBe(0);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Each package README's example, run as written but for its port (3000 → a free one).

const scratch = mkdtempSync(join(ROOT, ".verb-readme-examples-"));
const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop()));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The first ```ts block under the README's "## Example" heading. */
function readmeExample(dir: string): string {
  const readme = read(`${dir}/README.md`);
  const section = readme.slice(readme.indexOf("\n## Example"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error(`${dir}/README.md has no \`\`\`ts block under "## Example"`);
  expect(code.match(/\b3000\b/g), `${dir}/README.md's example listens on 3000`).toHaveLength(1);
  return code;
}

/** Writes the example with its port replaced, inside the repository so that @verb/* resolve. */
function writeExample(dir: string, port: number, runtime: "node" | "bun" | "deno"): string {
  const source = readmeExample(dir).replace(/\b3000\b/, String(port));
  const name = `${dir.replaceAll("/", "-")}-${port}`;
  const file = join(scratch, runtime === "node" ? `${name}.mjs` : `${name}.ts`);
  const code =
    runtime !== "node"
      ? source
      : ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
          .outputText;
  writeFileSync(file, code);
  return file;
}

async function startExample(dir: string, runtime: "node" | "bun" | "deno", env: Record<string, string> = {}) {
  const port = await freePort();
  const file = writeExample(dir, port, runtime);
  const server =
    runtime === "deno"
      ? // The permissions the README's command gives.
        await runProcess(DENO, ["run", "--allow-net", "--allow-env", file], env, /listening on/)
      : await runProcess(runtime === "bun" ? BUN : process.execPath, [file], env, /listening on/);
  running.push(server);
  return { port, server };
}

/** Opens a socket, sends a line and waits for an answer that contains it. */
async function echoes(port: number): Promise<void> {
  const client = await eventually(() => TestClient.open(`ws://127.0.0.1:${port}/`));
  client.send("hello from the test");
  await client.until(() => client.received.some((m) => m.text.includes("hello from the test")), "the echo");
  client.close();
}

const adapterExamples = [
  { dir: "packages/core", runtime: "node", adapter: "node" },
  { dir: "adapters/node", runtime: "node", adapter: "node" },
  { dir: "adapters/bun", runtime: "bun", adapter: "bun" },
  { dir: "adapters/uws", runtime: "node", adapter: "uws" },
  { dir: "adapters/deno", runtime: "deno", adapter: "deno" },
] as const;

describe("package README examples", () => {
  for (const { dir, runtime, adapter } of adapterExamples) {
    const skip =
      adapter !== "deno"
        ? skipReason(adapter)
        : existsSync(DENO) || process.env.CI === "true"
          ? undefined
          : "node_modules/deno/deno is missing (npm ci)";
    it.skipIf(skip !== undefined)(
      `${dir}: serves HTTP and echoes on ${adapter}${skip ? ` (skipped: ${skip})` : ""}`,
      async () => {
        const { port, server } = await startExample(dir, runtime);
        if (dir === "packages/core") expect(server.output()).toContain("(adapter: node)");
        const page = await fetch(`http://127.0.0.1:${port}/`);
        expect(page.status).toBe(200);
        expect(await page.text()).toBe("ok");
        await echoes(port);
      },
    );
  }

  const noRedis = redisUnavailable();
  it.skipIf(noRedis !== undefined)(
    `packages/redis: a message sent to one instance reaches the clients of another${noRedis ? ` (skipped: ${noRedis})` : ""}`,
    async () => {
      const redis = await startRedis();
      running.push(redis.process);
      const a = await startExample("packages/redis", "node", { REDIS_URL: redis.url });
      const b = await startExample("packages/redis", "node", { REDIS_URL: redis.url });
      const onA = await eventually(() => TestClient.open(`ws://127.0.0.1:${a.port}/`));
      const onB = await eventually(() => TestClient.open(`ws://127.0.0.1:${b.port}/`));
      // At-most-once across instances: resend until B's subscription has reached Redis.
      let n = 0;
      const timer = setInterval(() => onA.send(`across ${n++}`), 100);
      try {
        await onB.until(() => onB.received.some((m) => m.text.startsWith("across ")), "a message from the other instance");
      } finally {
        clearInterval(timer);
      }
      await onA.until(() => onA.received.some((m) => m.text.startsWith("across ")), "the publisher's own copy");
      onA.close();
      onB.close();
    },
  );
});
