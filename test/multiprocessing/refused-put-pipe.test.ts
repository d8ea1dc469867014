/**
 * A Pipe end inside an item that a Queue put refuses (not sendable: a SharedArrayBuffer, a
 * function) or finds no room for stayed counted as on its way to another process, so the other
 * end never saw EOF once its own copies closed: its recv() waited for ever (helper-138's review;
 * Python hangs there too, its resource sharer keeping a copy of the descriptor). The end now
 * stops counting when the put fails.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Connection, Full, Pipe, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

/** b's recv() once its peer `a` is closed: EOFError, or 'still waiting' (the bug) within 20 s. */
async function afterPeerCloses(a: Connection, b: Connection): Promise<string> {
  a.close();
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    b.recv().then(
      () => 'a message',
      (e: Error) => e.name,
    ),
    new Promise<string>((res) => {
      t = setTimeout(() => res('still waiting'), 20_000);
    }),
  ]);
  clearTimeout(t);
  b.close();
  return r;
}

const refused = { name: 'NotCloneableError' };

describe('a Pipe end in an item a put does not deliver stops counting', () => {
  for (const [what, extra] of [
    ['a SharedArrayBuffer', () => new SharedArrayBuffer(8)],
    ['a function', () => () => 1],
  ] as const) {
    test(`putNowait, put and putSync refusing an item with ${what}: the other end sees EOF`, async () => {
      const q = new Queue<unknown>();
      const [a1, b1] = Pipe();
      assert.throws(() => q.putNowait({ conn: a1, x: extra() }), refused);
      assert.equal(await afterPeerCloses(a1, b1), 'EOFError');
      const [a2, b2] = Pipe();
      await assert.rejects(q.put({ conn: a2, x: extra() }), refused);
      assert.equal(await afterPeerCloses(a2, b2), 'EOFError');
      const [a3, b3] = Pipe();
      assert.throws(() => q.putSync({ conn: a3, x: extra() }), refused);
      assert.equal(await afterPeerCloses(a3, b3), 'EOFError');
      q.close();
    });

    test(`Connection.send refusing an item with ${what}: the other end sees EOF`, async () => {
      const [c, d] = Pipe();
      const [a, b] = Pipe();
      assert.throws(() => c.send({ conn: a, x: extra() }), refused);
      assert.equal(await afterPeerCloses(a, b), 'EOFError');
      c.close();
      d.close();
    });
  }

  test('a put on a full queue that times out (Full): the end it carried stops counting', async () => {
    const q = new Queue<unknown>(1);
    await q.put('filler');
    const [a, b] = Pipe();
    await assert.rejects(q.put({ conn: a }, { timeout: 50 }), Full);
    assert.equal(await afterPeerCloses(a, b), 'EOFError');
    assert.equal(await q.get(), 'filler');
    q.close();
  });

  // helper-139's review: a put the broker had taken just before the abort reached it is in the
  // queue all the same; dropping its end's token let the other end see EOF early.
  test('an aborted put the broker had already taken: its end still counts until it is received', async () => {
    const q = new Queue<unknown>(1);
    await q.put('filler');
    const [a, b] = Pipe();
    const ac = new AbortController();
    const put = q.put({ conn: a }, { signal: ac.signal });
    put.catch(() => {});
    // Parked at the broker (the queue is full)…
    await new Promise((r) => setTimeout(r, 300));
    // …which takes it as soon as this frees the room, before this thread reads the answer.
    assert.equal(q.getSync(), 'filler');
    ac.abort();
    await put.catch(() => {});
    a.close();
    // Old source: true at once (EOF), though the end is still in the queue.
    assert.equal(await b.poll(1000), false);
    const got = (await q.get()) as { conn: Connection };
    got.conn.send('through the end that was in the queue');
    assert.equal(await b.recv(), 'through the end that was in the queue');
    got.conn.close();
    assert.equal(await afterPeerCloses(a, b).catch((e: Error) => e.name), 'EOFError');
    q.close();
  });
});
