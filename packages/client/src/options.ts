/** Option checks shared by the modules: a wrong option fails at `createClient`, naming it. */

/** A number option: `fallback` when absent; at least `min` (Infinity allowed), else a RangeError naming it. */
export function numberOption(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min)) throw new RangeError(`createClient: ${name} must be a number ≥ ${min}`);
  return value;
}
