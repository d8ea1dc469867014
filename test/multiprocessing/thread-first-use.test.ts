/**
 * A Thread is the first in its process to use multiprocessing: it claims the broker, the main
 * thread starts it, and what the Thread put before it ended must still arrive. (A file of its
 * own: the broker must not have been started by anything else in this process.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Queue } from '../../src/multiprocessing/index.js';
import { Queue as ThreadQueue } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { makeQueueForMain, putFromThread } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('multiprocessing first used by a Thread', () => {
  test('a queue a Thread made and put into just before ending reaches the main thread', async () => {
    assert.equal(process.env.WEFT_BROKER, undefined, 'this file must start with no broker');
    const out = new ThreadQueue<unknown>();
    const t = new Thread({ target: makeQueueForMain, args: [out] });
    t.start();
    await t.join();
    const q = (await out.get()) as Queue<string>;
    assert.equal(await q.get({ timeout: 10_000 }), 'made in a Thread');
    // And threads started after it reach the same broker.
    const more = [1, 2].map((v) => new Thread({ target: putFromThread, args: [q, `put ${v}`] }));
    for (const x of more) x.start();
    for (const x of more) await x.join();
    const got = [await q.get({ timeout: 10_000 }), await q.get({ timeout: 10_000 })].sort();
    assert.deepEqual(got, ['put 1', 'put 2']);
  });
});
