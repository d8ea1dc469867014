/**
 * Executor.map cuts a plain array's chunks with Array.prototype.slice (no copy of the whole
 * input). An Array subclass, or an array with a `slice` or a `constructor` of its own, is read
 * through its iterator instead: its own slice, or the species constructor slice builds through,
 * could return anything (a review of 2026-12-07 found the subclass's `slice` called, and a map
 * over one that returns [] came back empty).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Executor, ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { inc } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

class EmptySlice<T> extends Array<T> {
  override slice(): T[] {
    return [];
  }
}

class Frozen<T> extends Array<T> {
  constructor(...items: T[]) {
    super(...items);
    Object.freeze(this);
  }
}

function forms(): Array<[string, number[]]> {
  const own = [1, 2, 3, 4, 5, 6, 7];
  Object.defineProperty(own, 'slice', { value: () => [99], enumerable: false });
  return [
    ['a subclass whose slice returns []', EmptySlice.from([1, 2, 3, 4, 5, 6, 7]) as number[]],
    ['a subclass whose constructor freezes', new Frozen(1, 2, 3, 4, 5, 6, 7) as number[]],
    ['an array with a slice of its own', own],
  ];
}

const kinds: Array<[string, () => Executor]> = [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor({ maxWorkers: 2 })],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor({ maxWorkers: 2 })],
];

for (const [kind, make] of kinds) {
  describe(`${kind}.map over arrays that are not plain`, () => {
    test('every item is mapped, in order, whatever the chunksize', async () => {
      const ex = make();
      try {
        for (const [what, xs] of forms()) {
          for (const chunksize of [1, 2, 3]) {
            const out: unknown[] = [];
            for await (const v of ex.map(inc, [xs], { chunksize })) out.push(v);
            assert.deepEqual(out, [2, 3, 4, 5, 6, 7, 8], `${what}, chunksize ${chunksize}`);
          }
        }
      } finally {
        await ex.shutdown();
      }
    });
  });
}
