/**
 * Generic helpers that forward a function and its arguments to a Thread, a Process, a pool or an
 * executor compile, as they did before the calls were checked: the check resolves for a function
 * typed `(...args: A) => R` given `args: A`, or `(x: T) => R` given `[x]`. (A function typed by a
 * type parameter `F` with `args: Parameters<F>` does not: TypeScript cannot resolve the check
 * for it; type such a helper's function as `(...args: A) => R`.)
 */
import type * as futures from '../../src/futures/index.js';
import type * as mp from '../../src/multiprocessing/index.js';
import type * as threading from '../../src/threading/index.js';

declare const Thread: typeof threading.Thread;
declare const Process: typeof mp.Process;
declare const ThreadPoolExecutor: typeof futures.ThreadPoolExecutor;
declare const pool: mp.Pool;

export function startThread<A extends unknown[]>(fn: (...a: A) => void, args: A) {
  return new Thread({ target: fn, args });
}
export function startProcess<A extends unknown[]>(fn: (...a: A) => void, ...args: A) {
  return new Process({ target: fn, args });
}
export function one<T>(fn: (x: T) => void, x: T) {
  return new Thread({ target: fn, args: [x] });
}
export function executorWith<A extends unknown[]>(init: (...a: A) => void, initargs: A) {
  return new ThreadPoolExecutor({ initializer: init, initargs });
}
export function applyIn<A extends unknown[], R>(fn: (...a: A) => R, args: A) {
  return pool.apply(fn, args);
}
export function mapIn<T, R>(fn: (x: T) => R, xs: T[]) {
  return pool.map(fn, xs);
}
