/**
 * A ProcessPoolExecutor's workers take the next numbers of this process's children, and a
 * Process made in one is named from that number, as Python's (checked with 3.11.2 and 3.13,
 * `fork` and `spawn`: `class Worker(Process)` made in ForkProcess-1 is `Worker-1:1`, a plain
 * Process after it `Process-1:2`, and a Process made in the parent afterwards comes after the
 * workers). weft's worker had no identity: those were `ProcessPoolExecutor-0_0:1` and
 * `ProcessPoolExecutor-0_0:2`. The worker's own name stays weft's (`ProcessPoolExecutor-0_0`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { describeWorker } from './fixtures/bb9-targets.js';

checkLeaks({ graceMs: 3000 });

interface Seen {
  name: string;
  ident: number[];
  subclass: string;
  plain: string;
}

describe("a ProcessPoolExecutor worker's identity", () => {
  test('is the next number; Processes made in the worker are named from it', async () => {
    const before = new Process({})._identity[0] as number;
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    let seen: Seen[];
    try {
      // One after the other: the worker's children are numbered in the order they are made.
      seen = [(await ex.submit(describeWorker)) as Seen, (await ex.submit(describeWorker)) as Seen];
    } finally {
      await ex.shutdown();
    }
    const after = new Process({})._identity[0] as number;
    const [a, b] = seen;
    assert.ok(a && b);
    assert.match(a.name, /^ProcessPoolExecutor-\d+_0$/);
    assert.deepEqual(a.ident, [before + 1]);
    assert.equal(a.subclass, `NamedWorker-${before + 1}:1`);
    assert.equal(a.plain, `Process-${before + 1}:2`);
    // The same worker ran the second call: its counter went on.
    assert.deepEqual(b.ident, [before + 1]);
    assert.equal(b.subclass, `NamedWorker-${before + 1}:3`);
    assert.equal(b.plain, `Process-${before + 1}:4`);
    assert.equal(after, before + 2, 'a Process made afterwards comes after the worker');
  });
});
