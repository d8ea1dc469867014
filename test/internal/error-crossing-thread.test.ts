/**
 * Every public error class of weft, raised in a worker thread, comes back to the thread that
 * waits for it as itself: the same class (not the nearest one registered, nor a plain Error),
 * `instanceof` each of its classes, its name, message, code and fields, its cause, the errors of
 * a group, and the thread's stack as its cause (see src/internal/error-registry.ts). The cases
 * are test/internal/fixtures/error-table.ts; error-crossing-process.test.ts sends the same ones
 * through child processes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { run } from '../../src/asyncio/run.js';
import { toThread } from '../../src/asyncio/to-thread.js';
import { ThreadPoolExecutor } from '../../src/futures/thread-pool-executor.js';
import { CancelledError } from '../../src/internal/errors.js';
import { setExcepthook } from '../../src/threading/excepthook.js';
import { Thread } from '../../src/threading/thread.js';
import { checkLeaks } from '../support/leaks.js';
import { runScript, type ScriptRun } from '../support/run-script.js';
import { assertAllSame, assertExecutorCrossing } from './fixtures/error-compare.js';
import { make, raise } from './fixtures/error-table.js';

checkLeaks();

const labels = Object.keys(make);
const fixtures = new URL('./fixtures/', import.meta.url).pathname;

describe('an error raised in a thread comes back as itself, for every weft error class', () => {
  test('a Thread target: the excepthook gets it', async () => {
    const got = new Map<string, unknown>();
    const prev = setExcepthook((args) => {
      got.set(args.thread?.name ?? '?', args.excValue);
    });
    try {
      // A few threads at a time: a hundred at once would hold a hundred isolates.
      for (let i = 0; i < labels.length; i += 6) {
        const threads = labels
          .slice(i, i + 6)
          .map((label) => new Thread({ target: raise, args: [label], name: label }));
        for (const t of threads) t.start();
        for (const t of threads) await t.join();
      }
    } finally {
      setExcepthook(prev);
    }
    assertAllSame(got);
  });

  test('a ThreadPoolExecutor task: its future fails with it, and it comes back as a result', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      await assertExecutorCrossing(ex);
    } finally {
      await ex.shutdown();
    }
  });

  test('toThread: the awaiting task gets it', async () => {
    // Not a CancelledError (and GreenletExit): toThread's asyncio Future takes one as its own
    // cancellation and raises a new CancelledError, where Python's to_thread re-raises the
    // thread's own (its class and args). That is asyncio's wrapping, not the crossing.
    const crossing = labels.filter((l) => !((make[l] as () => Error)() instanceof CancelledError));
    const got = new Map<string, unknown>();
    await run(async () => {
      for (const label of crossing) got.set(label, await toThread(raise, label).catch((e) => e));
    });
    assertAllSame(got, crossing);
  });
});

/** The lines the program `name` of ./fixtures printed, run in a process of its own. */
async function program(name: string): Promise<ScriptRun & { lines: string[] }> {
  const r = await runScript(`${fixtures}${name}`);
  return { ...r, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

describe('a receiver that has not loaded the class', () => {
  test('gets the nearest class it has, branded as the sender’s: instanceof holds once it imports the class', async () => {
    const r = await program('late-class-main.ts');
    assert.deepEqual(r.lines, [
      'PoolFull ERR_WEFT_POOL_FULL no slot WeftError=true',
      'PoolFull=true Full=true QueueFull=true QueueEmpty=false queue.Full=true',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('KeyboardInterrupt from a pool task', () => {
  test('uncaught where its future is awaited, it ends the process by SIGINT, as Python', async () => {
    // Python: a KeyboardInterrupt raised by a ThreadPoolExecutor's (or ProcessPoolExecutor's)
    // function, re-raised by result() and uncaught, ends the interpreter by SIGINT (status 130).
    const r = await program('pool-interrupt-main.ts');
    assert.deepEqual(r.lines, [
      'KeyboardInterrupt: interrupted by SIGINT (Ctrl-C)',
      'exit listener',
    ]);
    assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /KeyboardInterrupt: interrupted by SIGINT/);
  });
});
