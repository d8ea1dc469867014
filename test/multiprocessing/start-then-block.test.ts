/**
 * Python's `p.start(); q.get()` ported line by line: `p.start(); q.getSync()` on the thread that
 * started the child. The child's target used to be sent by this thread's event loop once the
 * child said hello, so the parked thread held its own child back: the call waited until its
 * timeout (for ever without one). The target now goes at fork (early-inbox.cjs). (A pool's calls
 * still go out from this thread's loop, batched and to workers that said they are ready: the
 * docs say to await the first answer there.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { forkLeaf, putOne } from './fixtures/start-then-block.js';

checkLeaks({ graceMs: 3000 });

// Bounds against a hang on a loaded machine (a child starts in well under a second here); on the
// old source the child got nothing to run until the call gave up, so `Empty` was thrown.
const BOUND_MS = 30_000;

describe('a blocking call right after start(), on the same thread', () => {
  test('p.start(); q.getSync(): the child runs its target while this thread is parked', async () => {
    const q = new Queue<string>();
    const p = new Process({ target: putOne, args: [q, 'from the child'] });
    p.start();
    assert.equal(q.getSync({ timeout: BOUND_MS }), 'from the child');
    await p.join();
    assert.equal(p.exitcode, 0);
  });

  test('several children started back to back each get their own target', async () => {
    const q = new Queue<string>();
    const ps = ['a', 'b', 'c'].map((v) => new Process({ target: putOne, args: [q, v] }));
    for (const p of ps) p.start();
    const got = [0, 1, 2].map(() => q.getSync({ timeout: BOUND_MS }));
    assert.deepEqual(got.sort(), ['a', 'b', 'c']);
    for (const p of ps) await p.join();
    assert.deepEqual(
      ps.map((p) => p.exitcode),
      [0, 0, 0],
    );
  });
});

describe('a program a weft child forks in its turn', () => {
  // helper-139's review: fork() passes execArgv on, so the leaf loaded early-inbox.cjs too, whose
  // 'message' listener kept its channel, and the leaf, alive for ever.
  test('ends by itself: the early inbox listens only in the child weft started', async () => {
    const q = new Queue<string>();
    const p = new Process({ target: forkLeaf, args: [q, 20_000] });
    p.start();
    assert.equal(await q.get(), 'exited 0');
    await p.join();
    assert.equal(p.exitcode, 0);
  });
});
