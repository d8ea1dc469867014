/**
 * multiprocessing `ShareableList` item access against Python's
 * `multiprocessing.shared_memory.ShareableList` (this repository's peer
 * bench/peers/python/mp_shareable_list.py), one process each:
 *
 * - int: `sl[i % 64] = i; x = sl[i % 64]` on a list of 64 ints — `set`/`get`.
 * - str: the same with strings of 7 ASCII characters (8-byte slots).
 * - list: `list(sl)` of 64 mixed items (ints, floats, strings, booleans, null) — `[...sl]`.
 *
 * What it shows: both read and write the block in place, with no lock and no copy of the list;
 * each access of either decodes the item's format and kind from the block, as another process
 * may have changed them. Python's goes through `struct` several times an access; weft's reads
 * the bytes with a DataView, and short ASCII strings with a loop of its own (no call into
 * Buffer's UTF-8 codec). A `Proxy` giving `sl[i]` would cost some ten times `get(i)` and slow
 * every other property too: weft has none.
 */
import { ShareableList } from 'weft/multiprocessing';
import type { BenchSuite, Harness } from '../harness.js';
import { runLocalPython } from '../peers/python.js';

export const SCENARIOS = {
  int: 'ShareableList of 64 ints: write an item, read it back',
  str: 'ShareableList of 64 strings (7 ASCII characters): write an item, read it back',
  list: 'ShareableList of 64 mixed items: read the whole list',
} as const;

const PASSES = 3;
const ITEMS = 64;

function mixed(): (number | string | boolean | null)[] {
  return Array.from(
    { length: ITEMS },
    (_, i) =>
      [i, i + 0.5, `s${String(i).padStart(5, '0')}`, i % 2 === 0, null][i % 5] as
        | number
        | string
        | boolean
        | null,
  );
}

/** A list for the rows, unlinked when the suite ends. */
function made<T>(items: (T & (number | string | boolean | null))[], lists: ShareableList[]) {
  const sl = new ShareableList<T>(items);
  lists.push(sl as ShareableList);
  return sl;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-shareable-list',
  title: 'weft/multiprocessing ShareableList vs Python multiprocessing.shared_memory',
  async run(h: Harness) {
    const n = h.quick ? 20_000 : 200_000;
    const lists: ShareableList[] = [];
    try {
      const ints = made(
        Array.from({ length: ITEMS }, (_, i) => i),
        lists,
      );
      const strs = made<string>(new Array(ITEMS).fill('item-00'), lists);
      const whole = made(mixed(), lists);
      const words = ['abcdefg', 'hijklmn'] as const;
      await h.interleaved(h.quick ? 1 : PASSES, async () => {
        await h.measure({
          scenario: SCENARIOS.int,
          impl: 'weft set()/get()',
          n,
          fn: () => {
            let sum = 0;
            for (let i = 0; i < n; i++) {
              ints.set(i & 63, i);
              sum += ints.get(i & 63);
            }
            if (sum !== (n * (n - 1)) / 2) throw new Error(`read back ${sum}`);
          },
        });
        await h.measure({
          scenario: SCENARIOS.str,
          impl: 'weft set()/get()',
          n,
          fn: () => {
            let chars = 0;
            for (let i = 0; i < n; i++) {
              strs.set(i & 63, words[i & 1] as string);
              chars += strs.get(i & 63).length;
            }
            if (chars !== 7 * n) throw new Error(`read back ${chars} characters`);
          },
        });
        await h.measure({
          scenario: SCENARIOS.list,
          impl: 'weft [...sl]',
          n: n / ITEMS,
          fn: () => {
            let count = 0;
            for (let i = 0; i < n / ITEMS; i++) count += [...whole].length;
            if (count !== n) throw new Error(`read ${count} items`);
          },
        });
        await runLocalPython(
          h,
          'mp_shareable_list.py',
          [String(n)],
          (name) =>
            name.endsWith('int_rw')
              ? SCENARIOS.int
              : name.endsWith('str_rw')
                ? SCENARIOS.str
                : name.endsWith('list64')
                  ? SCENARIOS.list
                  : null,
          'python',
        );
      });
    } finally {
      for (const sl of lists) sl.shm.unlink();
    }
    h.note(
      `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes, Python's included; one process each, the lists in /dev/shm`,
    );
    h.note(
      "both lay the block out alike (weft's is Python 3.11's, byte for byte) and decode each item's format and kind from it at every access; neither takes a lock.",
    );
  },
};
