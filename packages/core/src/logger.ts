/**
 * The logger interface: what pino and console both satisfy. Verb is quiet by default: only errors
 * that no hook handled are written (to `console.error`).
 */

/** One log method: `(fields, message)` as pino takes it; console prints both. */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** A logger: pino, console, or anything with these methods (all optional). */
export interface Logger {
  debug?: LogMethod;
  info?: LogMethod;
  warn?: LogMethod;
  error?: LogMethod;
}

/** The default: errors only. */
export const quietLogger: Logger = {
  error: (fields, message) => console.error(`[verb] ${message}`, fields),
};

/** Calls one level of a logger if it has it, never throwing. */
export function log(logger: Logger, level: keyof Logger, fields: Record<string, unknown>, message: string): void {
  const method = logger[level];
  if (method === undefined) return;
  try {
    method.call(logger, fields, message);
  } catch {
    // A broken logger must not break the server.
  }
}
