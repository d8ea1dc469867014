/**
 * Thread regressions from the bug bash:
 * - t52: a Thread passed to another thread arrived as `{}`; it now arrives as a handle that joins.
 * - t49: join({ timeout }) above 2^31 − 1 ms (or Infinity) handed it to setTimeout, which warned
 *   (TimeoutOverflowWarning) and fired at once, ending the wait for the worker's exit early.
 * - t37/t02: the default excepthook printed no `cause`, hiding the reason of a failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotCloneableError, Queue } from '../../src/queue/index.js';
import {
  __excepthook__,
  type ExceptHookArgs,
  setExcepthook,
  Thread,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { stderrOf } from '../support/stderr.js';
import { joinGiven, sleepFor, throwWithCause } from './fixtures/tasks.js';

checkLeaks();

describe('a Thread passed to another thread (bug bash t52)', () => {
  test('arrives as a handle the other thread can join', async () => {
    const sleeper = new Thread({ target: sleepFor, args: [200], name: 'sleeper' });
    sleeper.start();
    const out = new Queue<unknown>();
    const joiner = new Thread({ target: joinGiven, args: [sleeper, out], name: 'joiner' });
    joiner.start();
    assert.deepEqual(await out.get({ timeout: 15_000 }), [true, 'sleeper', sleeper.ident, false]);
    await joiner.join();
    await sleeper.join();
  });

  test('comes back as the very Thread object it was', async () => {
    const t = new Thread({ target: sleepFor, args: [10] });
    t.start();
    const q = new Queue<Thread>();
    q.putSync(t);
    assert.equal(await q.get(), t);
    await t.join();
  });

  test('before start() is refused with a TypeError saying to start it first', () => {
    const unstarted = new Thread({ target: sleepFor, args: [10], name: 'later' });
    const q = new Queue<Thread>();
    // A queue refuses what it cannot carry with NotCloneableError (its own class, docs/queue.md);
    // the TypeError is its cause (bug bash x2: the docs said TypeError).
    assert.throws(
      () => q.putSync(unstarted),
      (e: unknown) =>
        e instanceof NotCloneableError &&
        (e as Error).cause instanceof TypeError &&
        /Thread later .*start\(\) first/.test((e as Error).message),
    );
    const t = new Thread({ target: joinGiven, args: [unstarted, q] });
    assert.throws(() => t.start(), TypeError);
    assert.equal(t.ident, null);
  });
});

describe('Thread.join with a timeout beyond a timer (bug bash t49)', () => {
  for (const timeout of [2 ** 40, Number.POSITIVE_INFINITY]) {
    test(`join({ timeout: ${timeout} }) waits for the worker without a TimeoutOverflowWarning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        const t = new Thread({ target: sleepFor, args: [100] });
        t.start();
        await t.join({ timeout });
        assert.equal(t.isAlive(), false);
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings, []);
    });
  }
});

describe('the default excepthook (bug bash t37/t02)', () => {
  test("prints the cause chain, innermost first, with Python's separator", async () => {
    const seen: ExceptHookArgs[] = [];
    const prev = setExcepthook((a) => seen.push(a));
    try {
      const t = new Thread({ target: throwWithCause, name: 'reader' });
      t.start();
      await t.join();
    } finally {
      setExcepthook(prev);
    }
    assert.equal(seen.length, 1);
    const text = stderrOf(() => __excepthook__(seen[0] as ExceptHookArgs));
    const lines = text.split('\n');
    assert.equal(lines[0], 'Exception in thread reader:');
    const cause = text.indexOf('SyntaxError');
    const separator = text.indexOf(
      '\n\nThe above exception was the direct cause of the following exception:\n\n',
    );
    const outer = text.indexOf('Error: config could not be read');
    assert.ok(cause > 0 && separator > cause && outer > separator, text);
  });

  test('prints a local error with a non-error cause, and stops at a cycle', () => {
    const inner = new Error('inner', { cause: 'a plain reason' });
    const outer = new Error('outer', { cause: inner });
    (inner as { cause: unknown }).cause = outer;
    const text = stderrOf(() =>
      __excepthook__({ excType: 'Error', excValue: outer, excTraceback: null, thread: null }),
    );
    assert.match(text, /^Exception in thread unknown thread:\nError: inner/);
    assert.match(text, /direct cause of the following exception:\n\nError: outer/);
    const plain = stderrOf(() =>
      __excepthook__({
        excType: 'Error',
        excValue: new Error('outer', { cause: 'a plain reason' }),
        excTraceback: null,
        thread: null,
      }),
    );
    assert.match(plain, /a plain reason\n\nThe above exception was the direct cause/);
  });
});
