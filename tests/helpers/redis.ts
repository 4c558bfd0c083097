/**
 * A real redis-server for tests, on a free port (Debian's redis-server package; `.ci/run`
 * installs it). Outside CI, a machine without it skips the Redis tests with a one-line reason.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type Running, runProcess } from "./runtimes.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";

/** Undefined when redis-server can run here; otherwise why the Redis tests are skipped. */
export function redisUnavailable(): string | undefined {
  const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (found.status === 0) return undefined;
  return inCI ? undefined : "redis-server is not installed (apt-get install redis-server)";
}

/** A redis-server process. */
export interface RedisServer {
  port: number;
  url: string;
  /** With persistence: the directory of its append-only file (reused by {@link restartRedis}). */
  dir: string | undefined;
  process: Running;
}

/** How {@link startRedis} runs Redis. */
export interface RedisStart {
  /** The port (default: a free one). */
  port?: number;
  /**
   * `true`: an append-only file fsynced before every reply (`appendonly yes`, `appendfsync
   * always`), in `dir` (default: a new temporary directory), so a restart, even after SIGKILL,
   * keeps every write Redis acknowledged. Default `false`: nothing on disk.
   */
  persistent?: boolean;
  dir?: string;
}

/** Starts redis-server on a port (a free one by default); without persistence unless asked. */
export async function startRedis(options: number | RedisStart = {}): Promise<RedisServer> {
  const { port, persistent = false, dir: given } = typeof options === "number" ? { port: options } : options;
  const chosen = port ?? (await freePort());
  const dir = persistent ? (given ?? mkdtempSync(join(tmpdir(), "verb-redis-"))) : undefined;
  const storage =
    dir === undefined
      ? ["--appendonly", "no"]
      : ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--appendfilename", "verb.aof"];
  const process = await runProcess(
    "redis-server",
    ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", ...storage, "--protected-mode", "no"],
    {},
    /Ready to accept connections/,
  );
  return { port: chosen, url: `redis://127.0.0.1:${chosen}`, dir, process };
}

/**
 * Stops a Redis (SIGKILL with `kill: true`: no chance to flush anything) and starts it again on
 * the same port, with the same data directory when it is persistent.
 */
export async function restartRedis(redis: RedisServer, { kill = false }: { kill?: boolean } = {}): Promise<RedisServer> {
  if (kill) {
    const exited = new Promise<void>((resolve) => redis.process.child.once("exit", () => resolve()));
    if (redis.process.child.exitCode === null && redis.process.child.signalCode === null) {
      redis.process.child.kill("SIGKILL");
      await exited;
    }
  } else await redis.process.stop();
  return startRedis({ port: redis.port, persistent: redis.dir !== undefined, dir: redis.dir });
}
