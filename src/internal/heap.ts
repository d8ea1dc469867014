/**
 * A binary min-heap ordered by a comparator; ties keep insertion order (a sequence number
 * breaks them), so equal priorities come out FIFO — which Python's heapq does not promise, but
 * which users of a priority queue expect.
 */
export type Compare<T> = (a: T, b: T) => number;

export class Heap<T> {
  private items: T[] = [];
  private seqs: number[] = [];
  private seq = 0;

  constructor(private readonly compare: Compare<T>) {}

  get length(): number {
    return this.items.length;
  }

  /** The item `pop` would return, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds `item`. If the comparator throws, the heap is left as it was and the error raised. */
  push(item: T): void {
    const items = this.items;
    const seqs = this.seqs;
    const start = items.length;
    let i = start;
    items.push(item);
    seqs.push(this.seq++);
    try {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.less(i, p)) {
          this.swap(i, p);
          i = p;
        } else break;
      }
    } catch (e) {
      // Undo the sift: walk the item back down the chain of parents it climbed, then drop it.
      const path: number[] = [];
      for (let j = start; j > i; j = (j - 1) >> 1) path.push(j);
      for (let k = path.length - 1; k >= 0; k--) {
        const child = path[k] as number;
        this.swap((child - 1) >> 1, child);
      }
      items.pop();
      seqs.pop();
      throw e;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop() as T;
    const lastSeq = this.seqs.pop() as number;
    if (items.length > 0) {
      items[0] = last;
      this.seqs[0] = lastSeq;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(l, m)) m = l;
        if (r < items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items = [];
    this.seqs = [];
  }

  private less(i: number, j: number): boolean {
    const c = this.compare(this.items[i] as T, this.items[j] as T);
    return c < 0 || (c === 0 && (this.seqs[i] as number) < (this.seqs[j] as number));
  }

  private swap(i: number, j: number): void {
    const t = this.items[i] as T;
    this.items[i] = this.items[j] as T;
    this.items[j] = t;
    const s = this.seqs[i] as number;
    this.seqs[i] = this.seqs[j] as number;
    this.seqs[j] = s;
  }
}

/**
 * Python's ordering for the values a priority queue usually holds: numbers, bigints, strings,
 * and arrays compared element by element (tuples like `[priority, item]`).
 * @throws TypeError for values Python could not compare either (objects, mixed kinds).
 */
export function pythonCompare(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      // Python's tuple comparison skips the elements that are equal, an object to itself
      // among them (`(1, job) < (1, job)` is False, not a TypeError); only the first pair that
      // differs is ordered. Top-level items are ordered with `<` directly, as heapq does.
      if (a[i] === b[i]) continue;
      const c = pythonCompare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  const ta = typeof a;
  const tb = typeof b;
  const numeric = (t: string) => t === 'number' || t === 'bigint' || t === 'boolean';
  if (ta === 'string' && tb === 'string') return compareCodePoints(a as string, b as string);
  if (numeric(ta) && numeric(tb)) {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  throw new TypeError(
    `PriorityQueue cannot order ${ta === 'object' ? 'an object' : ta} against ${tb === 'object' ? 'an object' : tb}: use numbers, strings, [priority, item] arrays, or pass { compare }`,
  );
}

/**
 * Strings in code-point order, as Python orders `str`: JavaScript's `<` orders UTF-16 code units,
 * which puts a character past U+FFFF (a surrogate pair) before U+E000..U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    // The first code units that differ decide. Within a pair (same high surrogate) unit order
    // is code-point order; across, moving surrogates above U+E000..U+FFFF makes it so.
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
