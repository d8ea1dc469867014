/**
 * A task may post anything where its pool's runner speaks: on a worker thread's parentPort, on
 * a child's IPC channel (process.send). None of it may crash the caller's process or be taken
 * for the runner's messages (pool/protocol.ts, worker/protocol.ts): the call returns its own
 * result and the pool carries on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BrokenThreadPool,
  type Future,
  ProcessPoolExecutor,
  ThreadPoolExecutor,
} from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  deepLater,
  exitLater,
  postOnParentPort,
  sendOnChannel,
  sevenLater,
} from './fixtures/foreign-tasks.js';
import { add } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

/** Generous: it only turns a hang into a failure on a loaded machine. */
const DEADLINE = 60_000;

for (const which of ['plain', 'shaped'] as const) {
  test(`a thread pool task posting ${which} messages on parentPort gets its own result; the pool carries on`, async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      assert.equal(await ex.submit(postOnParentPort, which, 42).result({ timeout: DEADLINE }), 42);
      // Twice in a batch, with calls around them.
      const fs = [
        ex.submit(add, 1, 2),
        ex.submit(postOnParentPort, which, 'mine'),
        ex.submit(postOnParentPort, which, 43),
        ex.submit(add, 3, 4),
      ];
      const got = [];
      for (const f of fs) got.push(await f.result({ timeout: DEADLINE }));
      assert.deepEqual(got, [3, 'mine', 43, 7]);
      assert.equal(await ex.submit(add, 5, 6).result({ timeout: DEADLINE }), 11);
    } finally {
      await ex.shutdown();
    }
  });

  test(`a process pool task sending ${which} messages with process.send gets its own result; the pool carries on`, async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      assert.equal(await ex.submit(sendOnChannel, which, 42).result({ timeout: DEADLINE }), 42);
      const got = [];
      for await (const v of ex.map(sendOnChannel, [
        [which, which, which],
        ['a', 'b', 'c'],
      ]))
        got.push(v);
      assert.deepEqual(got, ['a', 'b', 'c']);
      assert.equal(await ex.submit(add, 5, 6).result({ timeout: DEADLINE }), 11);
    } finally {
      await ex.shutdown();
    }
  });
}

test('a thread pool worker that a task ends after an unreadable outcome loses none of the outcomes posted before', async () => {
  // This thread is busy until the worker is gone, so everything it posted is read at its exit:
  // Node reads a worker's own port then only to the first unreadable message, weft's port to
  // the end. The outcomes go one to a message: each call is async (runner.ts flushes what it
  // holds before awaiting one).
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const flag = new SharedArrayBuffer(4);
  try {
    // A worker that is up, and seven calls submitted at once: more than a short queue, they go
    // to it in one batch (engine.ts), sent from a microtask of this thread's. Three unreadable
    // outcomes, each followed by a readable one: Node may read one of them before it hears of
    // the exit, and one more then.
    assert.equal(await ex.submit(add, 0, 1).result({ timeout: DEADLINE }), 1);
    const deeps: Future<unknown>[] = [];
    const sevens: Future<number>[] = [];
    for (let i = 0; i < 3; i++) {
      deeps.push(ex.submit(deepLater, 5000));
      sevens.push(ex.submit(sevenLater));
    }
    const exits = ex.submit(exitLater, flag);
    await Promise.resolve();
    const word = new Int32Array(flag);
    const until = Date.now() + DEADLINE;
    while (Atomics.load(word, 0) === 0 && Date.now() < until) Atomics.wait(word, 0, 0, 5);
    assert.equal(Atomics.load(word, 0), 1, 'the worker did not exit');
    // Set in the worker's last 'exit' listener: it is gone on the next turn of its loop.
    Atomics.wait(word, 0, 1, 500);
    const got = [];
    for (const f of sevens) got.push(await f.result({ timeout: DEADLINE }));
    assert.deepEqual(got, [7, 7, 7]);
    for (const f of deeps) await assert.rejects(f.result({ timeout: DEADLINE }));
    await assert.rejects(exits.result({ timeout: DEADLINE }), BrokenThreadPool);
  } finally {
    await ex.shutdown();
  }
});
