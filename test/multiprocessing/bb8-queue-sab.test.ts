/**
 * A SharedArrayBuffer put on an unbounded multiprocessing Queue, or sent through a Pipe: the put
 * (or send) returned, and the item was dropped when the thread's messages were written to the
 * broker, with only a process warning — a lost item, and a recv() on the other end of a Pipe
 * waiting for ever. A bounded queue's put, a Process's args and a pool task refused it already.
 * It is now refused at the call, with NotCloneableError, and the queue or pipe goes on. A view
 * over one is copied, as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pipe, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const refused = (e: unknown): boolean =>
  (e as Error).name === 'NotCloneableError' &&
  (e as { code?: string }).code === 'ERR_WEFT_NOT_CLONEABLE' &&
  /SharedArrayBuffer/.test((e as Error).message);

describe('a SharedArrayBuffer in a multiprocessing Queue item or a Pipe message', () => {
  test('put, putNowait and putSync on an unbounded queue refuse it at the call; the queue goes on', async () => {
    const q = new Queue<unknown>();
    await assert.rejects(q.put(new SharedArrayBuffer(8)), refused);
    assert.throws(() => q.putNowait({ inside: [new SharedArrayBuffer(8)] }), refused);
    assert.throws(() => q.putSync(new Map([['k', new SharedArrayBuffer(8)]])), refused);
    await q.put('after');
    assert.equal(await q.get({ timeout: 10_000 }), 'after');
    assert.equal(q.qsize(), 0);
    q.close();
  });

  test('a view over one is sent as a copy, as before', async () => {
    const q = new Queue<unknown>();
    const view = new Uint8Array(new SharedArrayBuffer(4));
    view.set([1, 2, 3, 4]);
    await q.put(view);
    const got = (await q.get({ timeout: 10_000 })) as Uint8Array;
    assert.deepEqual([...got], [1, 2, 3, 4]);
    q.close();
  });

  test('Connection.send refuses it at the call; the next message is received', async () => {
    const [a, b] = Pipe();
    assert.throws(() => a.send(new SharedArrayBuffer(8)), refused);
    a.send('next');
    assert.equal(await b.recv(), 'next');
    assert.equal(await b.poll(), false);
    a.close();
    b.close();
  });
});
