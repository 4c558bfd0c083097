/**
 * Picks the engine adapter at `listen()`: explicit choice, else `VERB_ADAPTER`, else the runtime's
 * natural engine (`@verb/bun` under Bun, `@verb/deno` under Deno, `@verb/node` under Node).
 */

import type { VerbAdapter } from "./adapter.js";
import type { AdapterName } from "./options.js";
import { VerbOptionsError } from "./options.js";

const BUILT_IN: Record<AdapterName, { pkg: string; needs?: string }> = {
  bun: { pkg: "@verb/bun" },
  node: { pkg: "@verb/node", needs: "ws" },
  uws: { pkg: "@verb/uws", needs: "uWebSockets.js" },
  deno: { pkg: "@verb/deno" },
};

const INSTALL_HINT: Record<string, string> = {
  "uWebSockets.js":
    "npm install uNetworking/uWebSockets.js#v20.57.0 (uWebSockets.js is published on GitHub, not on the npm registry)",
  ws: "npm install ws",
};

/** True when running under Bun. */
export function isBunRuntime(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}

/** True when running under Deno. */
export function isDenoRuntime(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}

function isAdapter(value: unknown): value is VerbAdapter {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as VerbAdapter).name === "string" &&
    typeof (value as VerbAdapter).listen === "function"
  );
}

function missingModule(error: unknown): string | undefined {
  const code = (error as { code?: string } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") {
    // Bun reports a missing package without a Node error code.
    const message = String((error as Error | null)?.message ?? "");
    if (!/Cannot find (package|module)/.test(message)) return undefined;
  }
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error).message));
  return match?.[1] ?? "(unknown)";
}

/** Extracts the adapter from a loaded module (`adapter` export, or the default export). */
export function adapterFromModule(mod: unknown, specifier: string): VerbAdapter {
  const candidate =
    (mod as { adapter?: unknown }).adapter ??
    (mod as { default?: unknown }).default ??
    (mod as { default?: { adapter?: unknown } }).default?.adapter;
  if (!isAdapter(candidate)) {
    throw new TypeError(
      `${specifier} does not export a Verb adapter (an object with "name" and "listen"), as "adapter" or default`,
    );
  }
  return candidate;
}

/** Loads an adapter by built-in name (`bun`, `node`, `uws`, `deno`) or by module specifier (a package name or a path). */
export async function loadAdapter(nameOrSpecifier: string): Promise<VerbAdapter> {
  const builtIn = BUILT_IN[nameOrSpecifier as AdapterName];
  const specifier = builtIn?.pkg ?? nameOrSpecifier;
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch (error) {
    const missing = missingModule(error);
    if (missing === undefined) throw error;
    if (builtIn !== undefined && (missing === specifier || missing.startsWith(`${specifier}/`))) {
      throw new Error(`The Verb adapter "${specifier}" is not installed. Install it: npm install ${specifier}`, {
        cause: error,
      });
    }
    if (builtIn !== undefined) {
      throw new Error(
        `The Verb adapter "${specifier}" needs "${missing}", which is not installed. Install it: ${INSTALL_HINT[missing] ?? `npm install ${missing}`}`,
        { cause: error },
      );
    }
    throw new Error(`Cannot load the Verb adapter module "${specifier}": "${missing}" was not found`, { cause: error });
  }
  return adapterFromModule(mod, specifier);
}

/** Resolves the adapter for `listen()`. */
/** Validates the `adapter` option: a built-in name or an adapter object. Throws {@link VerbOptionsError}. */
export function assertAdapterChoice(choice: unknown): VerbAdapter | AdapterName {
  if (isAdapter(choice)) return choice;
  if (typeof choice === "string" && Object.hasOwn(BUILT_IN, choice)) return choice as AdapterName;
  throw new VerbOptionsError("adapter", `must be "bun", "node", "uws", "deno" or an adapter object; got ${String(choice)}`);
}

export async function resolveAdapter(choice: VerbAdapter | AdapterName | undefined): Promise<VerbAdapter> {
  if (choice !== undefined) {
    const checked = assertAdapterChoice(choice);
    return isAdapter(checked) ? checked : loadAdapter(checked);
  }
  const fromEnv = typeof process !== "undefined" ? process.env.VERB_ADAPTER?.trim() : undefined;
  if (fromEnv) return loadAdapter(fromEnv);
  return loadAdapter(isBunRuntime() ? "bun" : isDenoRuntime() ? "deno" : "node");
}
