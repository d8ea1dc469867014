/**
 * A Thread is the first in its process to use multiprocessing, and the main thread never loaded
 * it: the Thread claims the broker, the main thread starts it when asked, and what the Thread
 * put before it ended must still arrive. (A file of its own: nothing else in this process may
 * have started the broker, and only type imports of multiprocessing here.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Queue } from '../../src/multiprocessing/index.js';
import { Queue as ThreadQueue } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { makeQueueForMain, putInto } from './fixtures/thread-first.js';

checkLeaks({ graceMs: 3000 });

describe('multiprocessing first used by a Thread', () => {
  test('a queue a Thread made and put into just before ending reaches the main thread', async () => {
    assert.equal(process.env.WEFT_BROKER, undefined, 'this file must start with no broker');
    const out = new ThreadQueue<unknown>();
    const t = new Thread({ target: makeQueueForMain, args: [out] });
    t.start();
    await t.join();
    // Only now does the main thread load multiprocessing (to revive the queue it is handed).
    await import('../../src/multiprocessing/index.js');
    const q = (await out.get()) as Queue<string>;
    assert.equal(await q.get({ timeout: 10_000 }), 'made in a Thread');
    // And threads started after it reach the same broker.
    const more = [1, 2].map((v) => new Thread({ target: putInto, args: [q, `put ${v}`] }));
    for (const x of more) x.start();
    for (const x of more) await x.join();
    const got = [await q.get({ timeout: 10_000 }), await q.get({ timeout: 10_000 })].sort();
    assert.deepEqual(got, ['put 1', 'put 2']);
  });
});
