/**
 * A Thread's message that cannot be read ('messageerror') must not vanish: real triggers, values
 * nested deeper than the reading thread's stack can deserialize (the main thread's stack, about
 * 1 MB, cannot read what a worker's 4 MB one writes; a thread started under a small
 * threading.stackSize() cannot read the arguments the main thread writes). And it must not be
 * blamed on the wrong thing: a message the thread's own code posts on parentPort is not run()'s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackSize, Thread } from '../../src/threading/index.js';
import { deepThrow, depth, nested, postDeep } from '../futures/fixtures/unreadable-tasks.js';
import { hookedDuring } from '../support/excepthook.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

function assertUnreadable(seen: unknown[], what: RegExp): void {
  assert.equal(seen.length, 1, `the excepthook heard ${seen.length} exception(s)`);
  const e = seen[0] as Error & { code?: string };
  assert.equal(e.name, 'RuntimeError', e.message);
  assert.equal(e.code, 'ERR_WEFT_UNREADABLE_MESSAGE');
  assert.match(e.message, what);
}

test('an exception escaping run() that cannot be read here reaches the excepthook as a RuntimeError', async () => {
  const seen = await hookedDuring(async () => {
    const t = new Thread({ target: deepThrow, args: [5000], name: 'deep-thrower' });
    t.start();
    await t.join({ timeout: 60_000 });
    assert.equal(t.isAlive(), false);
  });
  assertUnreadable(
    seen,
    /Thread deep-thrower: .*could not be read here \(RangeError: Maximum call stack size exceeded\)/,
  );
});

test('a thread that cannot read its arguments reports that it could not start', async () => {
  const t = new Thread({ target: depth, args: [nested(1200)], name: 'deep-args' });
  const seen = await hookedDuring(async () => {
    // Read when the worker is spawned: a 512 KiB stack cannot read 1200 levels.
    const prevSize = stackSize(512 * 1024);
    try {
      t.start();
    } finally {
      stackSize(prevSize);
    }
    await t.join({ timeout: 60_000 });
    assert.equal(t.isAlive(), false);
  });
  assertUnreadable(
    seen,
    /Thread deep-args could not start: .*could not be read in the new thread \(RangeError: Maximum call stack size exceeded\)/,
  );
});

test("a message the thread's own code posts that cannot be read here is not blamed on run()", async () => {
  // Posted on parentPort by the target, not by weft: weft delivers none of those (a readable one
  // is dropped too), so the excepthook hears only what escaped run(), read or not.
  const runs: Array<{ raise?: 'plain' | 'deep'; heard: RegExp | null }> = [
    { heard: null },
    { raise: 'plain', heard: /^after the post$/ },
    {
      raise: 'deep',
      heard:
        /Thread post-deep-deep: the exception that escaped run\(\) could not be read here \(RangeError: Maximum call stack size exceeded\)/,
    },
  ];
  for (const { raise, heard } of runs) {
    const seen = await hookedDuring(async () => {
      const args: unknown[] = raise === undefined ? [5000] : [5000, raise];
      const t = new Thread({ target: postDeep, args, name: `post-deep-${raise ?? 'none'}` });
      t.start();
      await t.join({ timeout: 60_000 });
      assert.equal(t.isAlive(), false);
    });
    if (heard === null) {
      assert.deepEqual(seen, [], `run() raised nothing, the excepthook heard: ${seen.map(String)}`);
      continue;
    }
    assert.equal(
      seen.length,
      1,
      `the excepthook heard ${seen.length} exception(s): ${seen.map(String)}`,
    );
    assert.match((seen[0] as Error).message, heard);
  }
});

test('the exception after a message this thread cannot read is reported even when the worker is gone before either is read', async () => {
  // This thread is busy until the worker has ended: its messages are all read at its exit. Node
  // reads a worker's own port then only to the first unreadable message (the deep post), so an
  // exception that came after it on that port was lost; weft's port is read to the end.
  const seen = await hookedDuring(async () => {
    const t = new Thread({ target: postDeep, args: [5000, 'plain'], name: 'post-then-raise' });
    t.start();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 60_000;
    while (t.isAlive() && Date.now() < until) Atomics.wait(nap, 0, 0, 5);
    assert.equal(t.isAlive(), false, 'the thread did not end within 60 s');
    // Finished, then its worker exits on the next turn of its loop.
    Atomics.wait(nap, 0, 0, 500);
    await t.join({ timeout: 60_000 });
  });
  assert.deepEqual(
    seen.map((e) => (e as Error).message),
    ['after the post'],
  );
});
