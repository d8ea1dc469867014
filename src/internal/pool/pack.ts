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

/** `values` as an Int32Array or a Float64Array when every one is a number, else null. One pass:
 * the values go into an Int32Array as they are read, a Float64Array from the first that is not
 * an int32 on (a scan then a copy read every value twice, most of a chunk's cost in the parent). */
export function packNumbers(values: ArrayLike<unknown>): Int32Array | Float64Array | null {
  const n = values.length;
  // Both ends first: a batch's flat arguments often begin with a number (a chunk's stride).
  if (n < PACK_MIN || typeof values[0] !== 'number' || typeof values[n - 1] !== 'number') {
    return null;
  }
  let ints: Int32Array | null = new Int32Array(n);
  let doubles: Float64Array | null = null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number') return null;
    if (ints !== null) {
      if (isInt32(v)) {
        ints[i] = v;
        continue;
      }
      doubles = new Float64Array(n);
      doubles.set(ints.subarray(0, i));
      ints = null;
    }
    (doubles as Float64Array)[i] = v;
  }
  return ints ?? doubles;
}

/** An int32 that an Int32Array gives back unchanged (−0 is not: it comes back as 0). */
function isInt32(v: number): boolean {
  return (v | 0) === v && (v !== 0 || 1 / v > 0);
}

/**
 * A chunk's results as they are made, `capacity` of them at most: in an Int32Array or a
 * Float64Array while every one is a number (as packNumbers would pack them, without the array
 * of results and the second pass), else in an array. A worker's reply path.
 */
export class ResultSink {
  #ints: Int32Array | null;
  #doubles: Float64Array | null = null;
  #values: unknown[] | null;
  #n = 0;
  constructor(readonly capacity: number) {
    this.#ints = capacity >= PACK_MIN ? new Int32Array(capacity) : null;
    this.#values = this.#ints === null ? [] : null;
  }
  put(v: unknown): void {
    const n = this.#n++;
    if (this.#values === null && typeof v === 'number') {
      const ints = this.#ints;
      if (ints !== null) {
        if (isInt32(v)) {
          ints[n] = v;
          return;
        }
        const doubles = new Float64Array(this.capacity);
        doubles.set(ints.subarray(0, n));
        this.#doubles = doubles;
        this.#ints = null;
      }
      (this.#doubles as Float64Array)[n] = v;
      return;
    }
    if (this.#values === null) {
      this.#values = unpack((this.#ints ?? this.#doubles) as Int32Array | Float64Array, n);
      this.#ints = null;
      this.#doubles = null;
    }
    this.#values.push(v);
  }
  /** The results so far: a typed array when every one is a number and there are enough, else an array. */
  take(): Int32Array | Float64Array | unknown[] {
    const packed = this.#ints ?? this.#doubles;
    if (packed === null) return this.#values as unknown[];
    return this.#n === packed.length ? packed : packed.slice(0, this.#n);
  }
}

/** The first `n` values of a packed typed array (all of them by default) as an ordinary array. */
export function unpack(a: Int32Array | Float64Array, n = a.length): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(a[i] as number);
  return out;
}
