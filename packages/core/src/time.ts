/**
 * Socket time stamps. Each socket keeps a few times; as floats, V8 would box each one in a heap
 * number per socket, so they are kept as ms since the server started, truncated to a 32-bit
 * integer. Stamps wrap after 24.8 days: compare them only through {@link since}, which is exact
 * for intervals up to that long (the longest socket interval, `maxLifetime`, is one day).
 */

/** The stamp of `elapsed` ms since the server started. */
export function toStamp(elapsed: number): number {
  return elapsed | 0;
}

/** Milliseconds from stamp `earlier` to stamp `later` (negative if `later` is before). */
export function since(later: number, earlier: number): number {
  return (later - earlier) | 0;
}
