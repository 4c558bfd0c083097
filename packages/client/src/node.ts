/**
 * @verb/client/node: what only Node (and Bun, Deno) can do, kept out of the browser bundle.
 */

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type ClientStorage, readSnapshot } from "./storage.js";

export type { ClientSnapshot, ClientStorage } from "./storage.js";

/**
 * A JSON file: the session and the cursors survive a restart of the process. Writes are atomic
 * (a temporary file renamed over it) and never overlap: the latest snapshot wins.
 */
export function fileStorage(path: string): ClientStorage {
  let queue: Promise<void> = Promise.resolve();
  let pending: string | undefined;
  const write = async (): Promise<void> => {
    if (pending === undefined) return;
    const text = pending;
    pending = undefined;
    const temporary = `${path}.${process.pid}.tmp`;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, text);
    await rename(temporary, path);
  };
  return {
    async load() {
      try {
        return readSnapshot(await readFile(path, "utf8"));
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw error;
      }
    },
    save(snapshot) {
      pending = JSON.stringify(snapshot);
      // One write at a time; a write finds the latest snapshot (or nothing left to do).
      queue = queue.then(write, write);
      return queue;
    },
  };
}
