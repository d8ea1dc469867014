/**
 * weft/futures' signatures: a misuse Python would refuse with a TypeError when the call runs
 * fails to compile (`@ts-expect-error`: tsc fails if the line ever compiles), and inferred
 * result types are exact. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as futures from '../../src/futures/index.js';
import type { Equal, Expect } from './expect.js';

declare const ex: futures.Executor;
declare const ThreadPoolExecutor: typeof futures.ThreadPoolExecutor;
declare const ProcessPoolExecutor: typeof futures.ProcessPoolExecutor;
declare const mul: (a: number, b: number) => number;
declare const square: (x: number) => number;
declare const op: (op: 'put' | 'get') => string;
declare const init: (label: string, n: number) => void;

export function executor_map(): void {
  const m = ex.map(mul, [
    [1, 2],
    [3, 4],
  ]);
  const _m: Expect<Equal<typeof m, AsyncIterableIterator<number>>> = true;
  const s = ex.map(async (x: number) => String(x), [[1, 2]], { chunksize: 2 });
  const _s: Expect<Equal<typeof s, AsyncIterableIterator<string>>> = true;
  // Each iterable gives its own parameter its type; any iterable, of any length.
  ex.map((n, c) => n.toFixed() + c.toUpperCase(), [[1, 2], new Set(['a'])]);
  function* gen(): Generator<number> {
    yield 1;
  }
  ex.map(square, [gen()]);
  ex.map(op, [['put', 'get']]);
  const lists: number[][] = [[1], [2]];
  ex.map(Math.max, lists); // as many iterables as the list holds: checked item by item
  // @ts-expect-error: the second iterable's items have the wrong type
  ex.map(mul, [[1, 2], ['a']]);
  // @ts-expect-error: one iterable for a function of two parameters
  ex.map(mul, [[1, 2]]);
  // @ts-expect-error: items of the wrong type
  ex.map(square, ['abc']);
  // @ts-expect-error: not one of the literal types the parameter takes
  ex.map(op, [['pop']]);
  const strings: string[][] = [['1']];
  // @ts-expect-error
  ex.map(square, strings);
}

export function executor_submit(): void {
  const f = ex.submit(mul, 6, 7);
  const _f: Expect<Equal<typeof f, futures.Future<number>>> = true;
  // @ts-expect-error
  ex.submit(mul, 6, '7');
  // @ts-expect-error
  ex.submit(mul, 6);
}

export function executor_initializer(): void {
  new ThreadPoolExecutor({ initializer: init, initargs: ['ready', 1] });
  new ThreadPoolExecutor({ maxWorkers: 2, initializer: () => {} });
  new ProcessPoolExecutor({ initializer: init, initargs: ['ready', 1] });
  // @ts-expect-error: initargs of the wrong type
  new ThreadPoolExecutor({ initializer: init, initargs: ['ready', '1'] });
  // @ts-expect-error: initargs missing
  new ThreadPoolExecutor({ initializer: init });
  // @ts-expect-error
  new ProcessPoolExecutor({ initializer: init, initargs: [1] });
}
