/**
 * A real redis-server for tests, on a free port (Debian's redis-server package; `.ci/run`
 * installs it). Outside CI, a machine without it skips the Redis tests with a one-line reason.
 */

import { spawnSync } from "node:child_process";
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
  process: Running;
}

/** Starts redis-server (no persistence) on `port`, or a free one. */
export async function startRedis(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  const process = await runProcess(
    "redis-server",
    ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
    {},
    /Ready to accept connections/,
  );
  return { port: chosen, url: `redis://127.0.0.1:${chosen}`, process };
}
