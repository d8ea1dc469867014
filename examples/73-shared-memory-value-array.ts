/**
 * Lesson 73: sharing state between processes with `Value` and `Array` (Python's docs example:
 * a child sets `num.value` and negates every item of `arr`, and the parent sees both). Then the
 * same memory put to work: two processes fill the two halves of one shared `Array` of doubles in
 * place, through `getObj()` (a typed array over the items), and the parent sums what they wrote
 * without a single item being sent to it.
 */
import {
  Process,
  type SharedArray,
  Array as SharedArrayOf,
  type SharedValue,
  task,
  Value,
} from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

/** Python's `f(n, a)`: `n.value = 3.1415927`, then `a[i] = -a[i]` for every item. */
export const negate = task(import.meta, (num: SharedValue, arr: SharedArray<'i'>) => {
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: the literal of Python's docs
  num.value = 3.1415927;
  for (let i = 0; i < arr.length; i++) arr.setSync(i, -arr.getSync(i));
});

/**
 * The items themselves (Python's `get_obj()`), or null where weft could not put them in shared
 * memory (no shm addon: then they are in the broker, and the slower calls reach them).
 */
function itemsOf(a: SharedArray<'d'>): Float64Array | null {
  try {
    return a.getObj();
  } catch {
    return null;
  }
}

/** Writes `i * i` into items `from` to `to` of `squares`, in place. */
export const fillSquares = task(
  import.meta,
  (squares: SharedArray<'d'>, from: number, to: number) => {
    const items = itemsOf(squares);
    if (items !== null) {
      for (let i = from; i < to; i++) items[i] = i * i;
    } else {
      squares.setSliceSync(
        from,
        to,
        Array.from({ length: to - from }, (_, k) => (from + k) * (from + k)),
      );
    }
  },
);

const lesson = defineLesson({
  title: 'Shared memory: Value and Array between processes',
  shows:
    "A child changes a Value and an Array and the parent sees it; two children fill one shared Array's halves in place.",
  module: 'multiprocessing',
  async main({ quick, log }) {
    const num = Value('d', 0.0);
    const arr = SharedArrayOf(
      'i',
      Array.from({ length: 10 }, (_, i) => i),
    );
    const p = new Process({ target: negate, args: [num, arr] });
    p.start();
    await p.join();
    log(`num.value = ${num.value}`);
    log(`arr[:] = [${arr.toArraySync().join(', ')}]`);

    // Small enough that the sum of the squares is exact in a double (under 2^53).
    const n = quick ? 100_000 : 200_000;
    const squares = SharedArrayOf('d', n);
    const half = n / 2;
    const workers = [
      new Process({ target: fillSquares, args: [squares, 0, half] }),
      new Process({ target: fillSquares, args: [squares, half, n] }),
    ];
    for (const w of workers) w.start();
    for (const w of workers) await w.join();
    let sum = 0;
    for (const x of itemsOf(squares) ?? squares.toArraySync()) sum += x;
    // The sum of i² for i < n: (n − 1) n (2n − 1) / 6.
    const expected = ((n - 1) * n * (2 * n - 1)) / 6;
    log(
      `Two processes wrote ${n.toLocaleString('en')} squares into one shared Array; the parent's sum is ${sum === expected ? 'exact' : `WRONG (${sum} instead of ${expected})`}: ${sum.toExponential(6)}.`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
