/**
 * weft's messages from a thread travel on weft's own port (worker/protocol.ts); the thread's own
 * code may post anything on its parentPort: a message of the user's shaped as weft's (`{ type:
 * 'exception' | 'startUnreadable' | 'ended', … }`, and the 'raising' that once announced an
 * unreadable exception) must not be taken for an exception, a start failure or an end, and
 * weft's real ones must still be.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackSize, Thread } from '../../src/threading/index.js';
import { depth, nested } from '../futures/fixtures/unreadable-tasks.js';
import { hookedDuring } from '../support/excepthook.js';
import { checkLeaks } from '../support/leaks.js';
import { postWeftShapes } from './fixtures/foreign-posts.js';

checkLeaks({ graceMs: 3000 });

async function runToEnd(t: Thread): Promise<void> {
  t.start();
  await t.join({ timeout: 60_000 });
  assert.equal(t.isAlive(), false);
}

test("a thread's own messages shaped as weft's are not taken for weft's", async () => {
  const seen = await hookedDuring(() =>
    runToEnd(new Thread({ target: postWeftShapes, name: 'forger' })),
  );
  assert.deepEqual(
    seen.map((e) => (e as Error).message),
    [],
    'run() returned normally: the excepthook should hear nothing',
  );
});

test("after the thread's own lookalike messages, the exception escaping run() is still reported, once", async () => {
  const seen = await hookedDuring(() =>
    runToEnd(new Thread({ target: postWeftShapes, args: [true], name: 'forger-raising' })),
  );
  assert.deepEqual(
    seen.map((e) => (e as Error).message),
    ['the real one'],
  );
});

test('a real start failure is still reported after the change', async () => {
  const t = new Thread({ target: depth, args: [nested(1200)], name: 'deep-args-real' });
  const seen = await hookedDuring(async () => {
    // Read in the new worker, whose 512 KiB stack cannot read 1200 levels.
    const prev = stackSize(512 * 1024);
    try {
      t.start();
    } finally {
      stackSize(prev);
    }
    await t.join({ timeout: 60_000 });
    assert.equal(t.isAlive(), false);
  });
  assert.equal(seen.length, 1, `the excepthook heard ${seen.length} exception(s)`);
  assert.equal((seen[0] as Error & { code?: string }).code, 'ERR_WEFT_UNREADABLE_MESSAGE');
  assert.match(
    (seen[0] as Error | undefined)?.message ?? '',
    /Thread deep-args-real could not start/,
  );
});
