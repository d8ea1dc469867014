/**
 * A Thread's message that cannot be read ('messageerror') must not vanish: real triggers, values
 * nested deeper than the reading thread's stack can deserialize (the main thread's stack, about
 * 1 MB, cannot read what a worker's 4 MB one writes; a thread started under a small
 * threading.stackSize() cannot read the arguments the main thread writes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ExceptHookArgs,
  setExcepthook,
  stackSize,
  Thread,
} from '../../src/threading/index.js';
import { deepThrow, depth, nested } from '../futures/fixtures/unreadable-tasks.js';
import { checkLeaks } from '../support/leaks.js';
import { WORKER_DATA_UNREADABLE_HANGS } from '../support/worker-data.js';

checkLeaks({ graceMs: 3000 });

async function hookedDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const prev = setExcepthook((args: ExceptHookArgs) => {
    seen.push(args.excValue);
  });
  try {
    await fn();
  } finally {
    setExcepthook(prev);
  }
  return seen;
}

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

test('a thread that cannot read its arguments reports that it could not start', {
  skip: WORKER_DATA_UNREADABLE_HANGS,
}, async () => {
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
  assertUnreadable(seen, /Thread deep-args could not start: .*could not be read in the new thread/);
});
