/**
 * A Thread whose worker is ended with the worker that started it (a ThreadPoolExecutor's worker
 * stopped by shutdown(), a Thread that calls process.exit()): Node ends the nested worker, and its
 * 'exit' event, which marks it finished in the thread table, was the dead thread's to hear. Its
 * slot said alive for ever: threading.enumerate() listed it, and a child process, which waits for
 * its non-daemon threads at its exit (exit-hooks.ts), never exited.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import { Process } from '../../src/multiprocessing/index.js';
import { enumerate } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { until } from '../support/until.js';
import {
  startNonDaemonThread,
  threadExitsEarly,
  tpeStartsNonDaemonThread,
} from './fixtures/thread-cut-off-targets.js';

checkLeaks({ graceMs: 3000 });

describe('a Thread ended with the worker that started it', () => {
  test('is not listed alive once its starter, an executor worker, has stopped', async () => {
    const before = enumerate().length;
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.equal(await ex.submit(startNonDaemonThread, 2000).result(), false);
    await ex.shutdown();
    await until(
      () => enumerate().length === before,
      'the thread table to forget the cut-off thread',
    );
  });

  for (const target of [tpeStartsNonDaemonThread, threadExitsEarly]) {
    test(`does not keep a child process from exiting (${target.name})`, async () => {
      const p = new Process({ target });
      p.start();
      try {
        await settles(p.join(), 'the child exits', 30_000);
        assert.equal(p.exitcode, 0);
      } finally {
        if (p.isAlive()) p.kill();
      }
    });
  }
});
