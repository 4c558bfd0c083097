/**
 * Where the session id and the stream cursors live between page loads (or process runs), so a
 * reload resumes where it stopped. Saves are debounced by the client (`saveDelay`), not made per
 * message. Browser-safe: the file storage is in `@verb/client/node`.
 */

import type { Cursor } from "@verb/protocol";

/** What the client saves. */
export interface ClientSnapshot {
  /** The session id of the last welcome. */
  session: string | null;
  /** The position in every stream. */
  cursors: Record<string, Cursor>;
}

/** A place for the client's snapshot. Both methods may be async; failures are reported on `error`. */
export interface ClientStorage {
  load(): ClientSnapshot | undefined | Promise<ClientSnapshot | undefined>;
  save(snapshot: ClientSnapshot): void | Promise<void>;
}

/**
 * In memory (the default: a fresh one per client). Pass the same one to a new client to carry a
 * session over, e.g. in tests.
 */
export function memoryStorage(): ClientStorage {
  let saved: string | undefined;
  return {
    load: () => (saved === undefined ? undefined : readSnapshot(saved)),
    save: (snapshot) => {
      saved = JSON.stringify(snapshot);
    },
  };
}

/** The part of the Web Storage API the client uses (`localStorage`, `sessionStorage`). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Web Storage: `sessionStorage` by default (per tab, survives a reload). `localStorage` is
 * shared by the tabs of an origin: give each client its own `key`, or tabs would present the
 * same session and take it from each other.
 */
export function webStorage(options: { storage?: WebStorageLike; key?: string } = {}): ClientStorage {
  const key = options.key ?? "verb-client";
  const storage = () => {
    const chosen = options.storage ?? (globalThis as { sessionStorage?: WebStorageLike }).sessionStorage;
    if (chosen === undefined) throw new TypeError("webStorage: no sessionStorage here; pass { storage }");
    return chosen;
  };
  return {
    load: () => {
      const text = storage().getItem(key);
      return text === null ? undefined : readSnapshot(text);
    },
    save: (snapshot) => storage().setItem(key, JSON.stringify(snapshot)),
  };
}

/** Reads a saved snapshot; `undefined` when it is not one. */
export function readSnapshot(text: string): ClientSnapshot | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { session, cursors } = value as { session?: unknown; cursors?: unknown };
  if (session !== null && typeof session !== "string") return undefined;
  if (typeof cursors !== "object" || cursors === null || Array.isArray(cursors)) return undefined;
  return { session, cursors: cursors as Record<string, Cursor> };
}
