/**
 * weft/multiprocessing's signatures: a misuse Python would refuse with a TypeError when the call
 * runs fails to compile (`@ts-expect-error`: tsc fails if the line ever compiles), and inferred
 * result types are exact. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as mp from '../../src/multiprocessing/index.js';
import type { Equal, Expect } from './expect.js';

declare const pool: mp.Pool;
declare const Pool: typeof mp.Pool;
declare const Manager: typeof mp.Manager;
declare const cond: mp.Condition;
declare const mul: (a: number, b: number) => number;
declare const square: (x: number) => number;
declare const addDefault: (a: number, b?: number) => number;
declare const argCount: (...args: unknown[]) => number;
declare const report: (id: number, kw: { verbose: boolean }) => Promise<string>;
declare const add: (a: unknown, b: unknown) => number;
declare const op: (op: 'put' | 'get') => string;
declare const init: (label: string) => void;

export function pool_apply(): void {
  const r = pool.apply(mul, [6, 7]);
  const _r: Expect<Equal<typeof r, Promise<number>>> = true;
  const s = pool.apply(report, [1], { verbose: true });
  const _s: Expect<Equal<typeof s, Promise<string>>> = true;
  const a = pool.applyAsync(square, [9], null, { callback: (v) => v.toFixed() });
  const _a: Expect<Equal<typeof a, mp.AsyncResult<number>>> = true;
  pool.apply(() => 1);
  pool.apply(addDefault, [1]);
  pool.apply(addDefault, [1], {}); // `{}` is no keywords: no trailing object
  pool.apply(argCount, [1, 2], { k: 1 });
  pool.apply(argCount, [1, 2], null);
  pool.apply(op, ['put']);
  pool.apply((x, kw) => x.toFixed() + kw.tag.toUpperCase(), [1], { tag: 'x' });
  // @ts-expect-error: an argument of the wrong type
  pool.apply(mul, [6, 'a']);
  // @ts-expect-error: an argument missing
  pool.apply(mul, [6]);
  // @ts-expect-error: no arguments for a function that needs two
  pool.apply(mul);
  // @ts-expect-error: kwds of the wrong shape
  pool.apply(report, [1], { verbose: 1 });
  // @ts-expect-error: the trailing kwargs object missing
  pool.apply(report, [1]);
  // @ts-expect-error: not one of the literal types the parameter takes
  pool.apply(op, ['pop']);
  // @ts-expect-error: the result is a number, not a string
  pool.applyAsync(square, [9], null, { callback: (v: string) => v });
  // @ts-expect-error
  pool.applyAsync(square, ['9']);
}

export function pool_maps(): void {
  const m = pool.map(square, [1, 2, 3]);
  const _m: Expect<Equal<typeof m, Promise<number[]>>> = true;
  const ma = pool.mapAsync((s: string) => s.length, ['a', 'bc']);
  const _ma: Expect<Equal<typeof ma, mp.AsyncResult<number[]>>> = true;
  const chars = pool.map((c) => c.toUpperCase(), 'abc');
  const _chars: Expect<Equal<typeof chars, Promise<string[]>>> = true;
  const i = pool.imap(square, [1, 2]);
  const _i: Expect<Equal<typeof i, mp.IMapIterator<number>>> = true;
  const u = pool.imapUnordered(async (x: number) => String(x), [1, 2]);
  const _u: Expect<Equal<typeof u, mp.IMapIterator<string>>> = true;
  // @ts-expect-error: items of the wrong type
  pool.map((x: number) => x * 2, ['a']);
  // @ts-expect-error
  pool.mapAsync(square, ['a']);
  // @ts-expect-error
  pool.imap(square, ['a']);
  // @ts-expect-error
  pool.imapUnordered(square, ['a']);
}

export function pool_starmap(): void {
  const s = pool.starmap(mul, [
    [1, 2],
    [3, 4],
  ]);
  const _s: Expect<Equal<typeof s, Promise<number[]>>> = true;
  pool.starmap((a, b) => a + b, [[1, 2]]);
  // Any iterable is an argument list, as Python's func(*args); only its length is unknown.
  pool.starmap(add, ['ab', 'cd']);
  pool.starmap(add, [new Set([1, 2]), new Int32Array([3, 4])]);
  pool.starmap(square, [[1], [2, 3]]); // an extra argument is passed and ignored
  const sa = pool.starmapAsync(mul, [[1, 2]]);
  const _sa: Expect<Equal<typeof sa, mp.AsyncResult<number[]>>> = true;
  // @ts-expect-error: an argument of the wrong type
  pool.starmap(mul, [[1, 'a']]);
  // @ts-expect-error: an argument list of the wrong type
  pool.starmap(mul, [new Set(['a'])]);
  // @ts-expect-error
  pool.starmapAsync(mul, [[1, 'a']]);
}

export function pool_initializer(): void {
  new Pool(2, { initializer: init, initargs: ['ready'] });
  new Pool(2, { initializer: () => {} });
  new Pool(2, { maxtasksperchild: 1 });
  // @ts-expect-error: initargs of the wrong type
  new Pool(2, { initializer: init, initargs: [1] });
  // @ts-expect-error: initargs missing
  new Pool(2, { initializer: init });
}

export async function manager_and_condition(): Promise<void> {
  const m = Manager();
  const d = m.dict({ a: 1 });
  const _d: Expect<Equal<typeof d, mp.DictProxy<string, number>>> = true;
  const pairs = m.dict([[1, 'one']]);
  const _pairs: Expect<Equal<typeof pairs, mp.DictProxy<number, string>>> = true;
  const typed = m.dict<string, boolean>();
  const _typed: Expect<Equal<typeof typed, mp.DictProxy<string, boolean>>> = true;
  // @ts-expect-error: a value of the wrong type
  await d.set('b', 'two');
  const got = await cond.waitFor(() => 42);
  const _got: Expect<Equal<typeof got, number>> = true;
  const asyncGot = await cond.waitFor(async () => 'ready' as const);
  const _asyncGot: Expect<Equal<typeof asyncGot, 'ready'>> = true;
}

export async function queues(
  q: mp.Queue<number>,
  j: mp.JoinableQueue<number>,
  s: mp.SimpleQueue<number>,
) {
  await q.put(1);
  const n = await q.get();
  const _n: Expect<Equal<typeof n, number>> = true;
  // @ts-expect-error: put of the wrong type
  await q.put('1');
  // @ts-expect-error
  q.putNowait('1');
  // @ts-expect-error
  await j.put('1');
  // @ts-expect-error
  await s.put('1');
}

declare const SharedMemory: typeof mp.SharedMemory;

/** SharedMemory: Python's keywords in one options object, each of its own type. */
export function shared_memory(): void {
  const shm = new SharedMemory({ create: true, size: 8 });
  const _b: Expect<Equal<typeof shm.buf, Uint8Array>> = true;
  const _n: Expect<Equal<typeof shm.name, string>> = true;
  new SharedMemory({ name: shm.name });
  // @ts-expect-error: size is a number of bytes
  new SharedMemory({ create: true, size: '8' });
  // @ts-expect-error: Python's positional name is the `name` option
  new SharedMemory('wnsm_1');
  // @ts-expect-error: name is read-only
  shm.name = 'other';
}
