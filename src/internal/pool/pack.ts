/**
 * Numbers in bulk across the pool's channel: a chunk's values (engine → runner) or a chunk's
 * results (runner → engine) that are all numbers travel as one typed array instead of an array.
 *
 * Why: the v8 serializer (child processes) and structured clone (threads) write and read an
 * array element by element, tagging each one — a 1000-number chunk costs tens of microseconds
 * each way, which for trivial tasks is most of what a chunked map spends. A typed array is one
 * copy of its bytes.
 *
 * Exact: every JavaScript number survives a Float64Array unchanged (−0, NaN, ±Infinity
 * included); Int32Array is chosen only when every value is an int32 other than −0, so it is
 * exact too and half the size. `unpack` returns an ordinary packed array again, so what a
 * future resolves to never shows how it travelled.
 */

/** Below this many values the scan and the conversions are not worth it. */
export const PACK_MIN = 16;

/** `values` as an Int32Array or a Float64Array when every one is a number, else null. */
export function packNumbers(values: ArrayLike<unknown>): Int32Array | Float64Array | null {
  const n = values.length;
  if (n < PACK_MIN) return null;
  let ints = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number') return null;
    if (ints && ((v | 0) !== v || (v === 0 && 1 / v < 0))) ints = false;
  }
  const out = ints ? new Int32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] as number;
  return out;
}

/** The values of a packed typed array as an ordinary array. */
export function unpack(a: Int32Array | Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) out.push(a[i] as number);
  return out;
}
