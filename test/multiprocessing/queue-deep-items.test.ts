/**
 * A queue item nested deeper than a reader's stack can read (a thread started with a larger
 * threading.stackSize() can write one) travelled inside the broker's frames: the broker read it,
 * and one it could not read closed the sender's whole connection (every request of that thread
 * failed); one the getter could not read closed the getter's. Items now travel as bytes the
 * broker does not read: the put succeeds, and only the get that cannot read the item fails, with
 * a typed error; the item is consumed (as Python's get loses an item it cannot unpickle), the
 * items after it and both connections go on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinableQueue, Pipe, Process, Queue } from '../../src/multiprocessing/index.js';
import { NotCloneableError } from '../../src/queue/index.js';
import { stackSize, Thread } from '../../src/threading/index.js';
import { settles } from '../support/settles.js';
import {
  getEach,
  nested,
  outcome,
  putDeepThenFlat,
  putDeepWithEnd,
} from './fixtures/deep-items-targets.js';

/** Starts `target` in a thread with a 64 MB stack: it can write what the main thread cannot read. */
function bigStackThread(target: (...a: never[]) => unknown, args: unknown[]): Thread {
  const prev = stackSize(64 * 1024 * 1024);
  try {
    const t = new Thread({ target, args });
    t.start();
    return t;
  } finally {
    stackSize(prev);
  }
}

const UNREADABLE =
  /^RuntimeError ERR_WEFT_UNREADABLE_MESSAGE Queue\.get: the item could not be read in this thread \(RangeError: Maximum call stack size exceeded\): it is nested too deeply for this thread's stack\. The item is consumed/;

// 4,000 levels: the broker could read it, this thread cannot. 50,000: the broker could not either.
for (const depth of [4_000, 50_000]) {
  test(`get of an item ${depth} levels deep fails that get only; the next item and the putter's connection go on`, async () => {
    const q = new Queue<unknown>();
    const back = new Queue<string>();
    try {
      const t = bigStackThread(putDeepThenFlat, [q, back, depth]);
      await assert.rejects(q.get({ timeout: 60_000 }), (e: Error) => {
        assert.match(outcome(e), UNREADABLE);
        return true;
      });
      assert.equal(await q.get({ timeout: 60_000 }), 'flat');
      // The putter gets and puts on its connection as before.
      await back.put('ping');
      assert.equal(await q.get({ timeout: 60_000 }), 'answer to ping');
      await t.join({ timeout: 60_000 });
      assert.equal(t.isAlive(), false);
      // The deep item was consumed: nothing is left.
      assert.equal(q.qsize(), 0);
    } finally {
      q.close();
      back.close();
    }
  });
}

test('getSync and a JoinableQueue: the unreadable item is consumed and still owes its taskDone', async () => {
  const q = new JoinableQueue<unknown>();
  const back = new Queue<string>();
  try {
    const t = bigStackThread(putDeepThenFlat, [q, back, 4_000]);
    // The thread answers it after its two puts: the third item.
    await back.put('ping');
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      try {
        seen.push(String(q.getSync({ timeout: 60_000 })));
      } catch (e) {
        seen.push(outcome(e).replace(/\.get: .*/s, '.get: unreadable'));
      }
    }
    assert.deepEqual(seen, [
      'RuntimeError ERR_WEFT_UNREADABLE_MESSAGE JoinableQueue.get: unreadable',
      'flat',
      'answer to ping',
    ]);
    // Python's count is the queue's: the consumed item is still unfinished until marked done.
    for (let i = 0; i < 3; i++) q.taskDone();
    assert.equal(await q.join({ timeout: 60_000 }), true);
    await t.join({ timeout: 60_000 });
  } finally {
    q.close();
    back.close();
  }
});

test('a Pipe end inside an item nobody could read stops counting: the reading end sees EOF', async () => {
  const q = new Queue<unknown>();
  const [r, w] = Pipe(false);
  try {
    const t = bigStackThread(putDeepWithEnd, [q, w, 4_000]);
    w.close();
    await assert.rejects(q.get({ timeout: 60_000 }), { code: 'ERR_WEFT_UNREADABLE_MESSAGE' });
    await t.join({ timeout: 60_000 });
    // Every writing handle is closed or dropped with the item: EOF, not a wait for ever.
    const end = await settles(
      r.recv().then(
        () => 'a message',
        (e: Error) => e.name,
      ),
      'recv on the reading end',
      20_000,
    );
    assert.equal(end, 'EOFError');
  } finally {
    r.close();
    q.close();
  }
});

test("a child process's get of an item too deep for it fails that get only", async () => {
  const q = new Queue<unknown>();
  const out = new Queue<string>();
  const back = new Queue<string>();
  try {
    const t = bigStackThread(putDeepThenFlat, [q, back, 4_000]);
    const p = new Process({ target: getEach, args: [q, out, 2] });
    p.start();
    const got = [await out.get({ timeout: 120_000 }), await out.get({ timeout: 60_000 })];
    assert.match(got[0] ?? '', UNREADABLE);
    assert.equal(got[1], 'flat');
    await p.join({ timeout: 60_000 });
    assert.equal(p.exitcode, 0);
    await back.put('done');
    assert.equal(await q.get({ timeout: 60_000 }), 'answer to done');
    await t.join({ timeout: 60_000 });
  } finally {
    q.close();
    out.close();
    back.close();
  }
});

test('a put of an item too deep for the sender to serialize fails that put only, with a typed error', async () => {
  const q = new Queue<unknown>();
  try {
    await assert.rejects(q.put(nested(500_000)), (e: Error) => {
      assert.ok(e instanceof NotCloneableError);
      assert.match(
        e.message,
        /^Queue\.put: the item is nested too deeply for this thread's stack to serialize \(RangeError: Maximum call stack size exceeded\)/,
      );
      return true;
    });
    assert.throws(() => q.putNowait(nested(500_000)), NotCloneableError);
    q.putNowait('after');
    assert.equal(await q.get({ timeout: 60_000 }), 'after');
  } finally {
    q.close();
  }
});
