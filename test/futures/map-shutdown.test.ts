/**
 * Executor.map and shutdown, against both executors. Python's map submits its whole iterable at
 * the call, so `with Executor() as ex: results = ex.map(f, xs)` reads every result after the
 * block; weft's map is lazy, and a map made before shutdown goes on submitting after it (see
 * Executor.map). From the third bug-bash (/tmp/bugbash3/pools/t29, t26).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CancelledError,
  type Executor,
  ProcessPoolExecutor,
  RuntimeError,
  ThreadPoolExecutor,
} from '../../src/futures/index.js';
import { collected, gc } from '../support/gc.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { inc, untilFile } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

const kinds: Array<[string, (o: Record<string, unknown>) => Executor]> = [
  ['ThreadPoolExecutor', (o) => new ThreadPoolExecutor(o)],
  ['ProcessPoolExecutor', (o) => new ProcessPoolExecutor(o)],
];

for (const [name, make] of kinds) {
  describe(`${name}: map and shutdown`, () => {
    test('a map made before shutdown: shutdown waits for all of it, and every result is read after', async () => {
      // Past the window of calls in flight (about 8,200): the refills after shutdown threw
      // "cannot schedule new futures after shutdown" and the reader got none of the results.
      // One worker is enough: the window (8,192 and 4 per worker) is well under n all the same.
      const ex = make({ maxWorkers: 1 });
      const n = 10_000;
      const xs = Array.from({ length: n }, (_, i) => i);
      let completed = 0;
      const results = ex.map(inc, [xs], {
        onProgress: (c) => {
          completed = c;
        },
      });
      // The executor holds its running maps weakly: one still readable must not be lost.
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
      await ex.shutdown();
      assert.equal(completed, n, 'shutdown({ wait }) waited for every call of the map');
      let count = 0;
      let sum = 0;
      for await (const r of results) {
        count++;
        sum += r;
      }
      assert.equal(count, n);
      assert.equal(sum, (n * (n + 1)) / 2);
      // Made after shutdown: refused at the call, as Python's submit; an empty one submits nothing.
      assert.throws(() => ex.map(inc, [[1]]), RuntimeError);
      for await (const _ of ex.map(inc, [[]])) assert.fail('an empty map yields nothing');
    });

    test('shutdown({ cancelFutures }) ends a running map: nothing more is submitted, reading reaches CancelledError', async () => {
      const ex = make({ maxWorkers: 1 });
      const dir = mkdtempSync(join(tmpdir(), 'weft-map-shutdown-'));
      const gate = join(dir, 'go');
      let pulled = 0;
      function* gates(): Generator<string> {
        for (let i = 0; i < 50; i++) {
          pulled++;
          yield gate;
        }
      }
      const values = Array.from({ length: 50 }, (_, i) => i);
      try {
        const it = ex.map(untilFile, [gates(), values], { buffersize: 3 });
        const before = pulled;
        const down = ex.shutdown({ cancelFutures: true });
        writeFileSync(gate, '');
        const got: unknown[] = [];
        let error: unknown = null;
        try {
          for await (const v of it) got.push(v);
        } catch (e) {
          error = e;
        }
        // Without a rule it was a RuntimeError from the refill ("after shutdown").
        assert.ok(error instanceof CancelledError, `got ${String(error)}`);
        assert.deepEqual(got, values.slice(0, got.length));
        assert.equal(pulled, before, 'nothing was taken from the iterable after shutdown');
        await down;
      } finally {
        writeFileSync(gate, '');
        await ex.shutdown();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a map dropped unread still runs every call, and shutdown waits for them (as Python)', async () => {
      // Python's map submits its whole iterable at the call: `ex.map(f, xs)` never read runs f
      // on every x. The executor held its maps weakly: a dropped one ran its first window (8,200
      // calls) and shutdown ended without the rest.
      const ex = make({ maxWorkers: 1 });
      const n = 10_000;
      let pulled = 0;
      let completed = 0;
      function* xs(): Generator<number> {
        for (let i = 0; i < n; i++) {
          pulled++;
          yield i;
        }
      }
      const onProgress = (c: number): void => {
        completed = c;
      };
      const gone = new WeakRef(ex.map(inc, [xs()], { onProgress }));
      await collected(gone, 'the dropped map iterator');
      // Before any shutdown, as Python's calls run whether anyone shuts the executor down.
      await until(() => pulled === n, 'the dropped map to submit all of its iterable');
      await ex.shutdown();
      assert.equal(pulled, n);
      assert.equal(completed, n, 'shutdown({ wait }) waited for every call of the dropped map');
    });

    test('a map dropped after a read cancels its calls not started and closes its iterable (as Python)', async () => {
      // CPython closes map's generator when it is dropped, and its `finally` cancels the calls
      // not started: the dropped map went on running its whole window.
      const ex = make({ maxWorkers: 1 });
      const dir = mkdtempSync(join(tmpdir(), 'weft-map-dropped-'));
      const open = join(dir, 'open');
      const gate = join(dir, 'gate');
      writeFileSync(open, '');
      let pulled = 0;
      let closed = false;
      function* gates(): Generator<string> {
        try {
          for (let i = 0; i < 50; i++) {
            pulled++;
            yield i === 0 ? open : gate;
          }
        } finally {
          closed = true;
        }
      }
      const values = Array.from({ length: 50 }, (_, i) => i);
      let completed = 0;
      const onProgress = (c: number): void => {
        completed = c;
      };
      try {
        const gone = await (async () => {
          // Four calls queued for one worker: a short queue, sent one call at a time, so the
          // calls behind the running one are pending (a longer one goes to a child in a batch,
          // and a call sent to a child counts as running).
          const it = ex.map(untilFile, [gates(), values], { buffersize: 3, onProgress });
          assert.deepEqual(await it.next(), { done: false, value: 0 });
          return new WeakRef(it);
        })();
        const before = pulled;
        await collected(gone, 'the dropped map iterator');
        await until(() => closed, 'the dropped map to close its iterable');
        writeFileSync(gate, '');
        await ex.shutdown();
        assert.equal(pulled, before, 'nothing was taken from the iterable after the drop');
        // The first call, and the one the worker had started (if it had); the rest were cancelled.
        assert.ok(completed <= 2, `${completed} calls ran`);
      } finally {
        writeFileSync(gate, '');
        await ex.shutdown();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('initargs that cannot reach a worker: a TypeError from the constructor', () => {
      // A process pool's parent died of an uncaught DataCloneError when the child said hello.
      for (const bad of [() => 1, Symbol('s')]) {
        assert.throws(
          () => make({ initargs: [bad] }),
          (e: Error) =>
            e instanceof TypeError && e.message.startsWith(`${name}: initargs cannot be sent`),
        );
      }
    });
  });
}
