/**
 * A recv (or a Queue get) aborted by its signal while the broker's answer is on its way gives
 * that item back to the front of the queue ('unget'). The caller's next recv was sent at once,
 * before the item was back, and the broker served it the next item: the aborted one came after
 * it. A consumer looping on `recv({ signal: AbortSignal.timeout(t) })` got a Pipe's messages out
 * of order (hundreds of 2000 in a run by hand). The next get of that thread now asks once the
 * aborted one is settled at the broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pipe, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

/**
 * One round: a get waiting at the broker, two items put, the get aborted in the same step (its
 * answer, the first item, is then on its way), and the next get made at once. It must be the
 * first item.
 */
async function round(
  get: (signal?: AbortSignal) => Promise<unknown>,
  put: (v: number) => void,
  ready: () => Promise<unknown>,
  k: number,
): Promise<[unknown, unknown]> {
  const ac = new AbortController();
  const first = get(ac.signal);
  first.catch(() => {});
  // A round trip of this thread: the broker has the get waiting by its answer.
  await ready();
  put(2 * k);
  put(2 * k + 1);
  ac.abort(new Error('given up'));
  await assert.rejects(first, /given up/);
  const a = await get();
  const b = await get();
  return [a, b];
}

describe('an aborted recv or get does not reorder what comes next', () => {
  test('Pipe: recv after an aborted recv gets the first message, then the second', async () => {
    const [r, w] = Pipe();
    try {
      for (let k = 0; k < 20; k++) {
        const got = await round(
          (signal) => r.recv({ signal }),
          (v) => w.send(v),
          () => r.poll(0),
          k,
        );
        assert.deepEqual(got, [2 * k, 2 * k + 1], `round ${k}`);
      }
    } finally {
      r.close();
      w.close();
    }
  });

  test('Queue: get after an aborted get gets the first item, then the second', async () => {
    const q = new Queue<number>();
    try {
      for (let k = 0; k < 20; k++) {
        const got = await round(
          (signal) => q.get({ signal }),
          (v) => q.putNowait(v),
          async () => q.qsize(),
          k,
        );
        assert.deepEqual(got, [2 * k, 2 * k + 1], `round ${k}`);
      }
    } finally {
      q.close();
    }
  });

  test('poll after an aborted recv sees the message that recv gave back', async () => {
    // The message is on its way back to the broker when the recv rejects: a poll(0) made then
    // answered false, though a recv would get it at once.
    const [r, w] = Pipe(false);
    try {
      for (let k = 0; k < 10; k++) {
        const ac = new AbortController();
        const first = r.recv({ signal: ac.signal });
        first.catch(() => {});
        await r.poll(0);
        w.send(k);
        ac.abort(new Error('given up'));
        await assert.rejects(first, /given up/);
        assert.equal(await r.poll(0), true, `round ${k}`);
        assert.equal(await r.recv(), k);
      }
    } finally {
      r.close();
      w.close();
    }
  });

  test('a consumer looping on recv with a short timeout signal gets every message in order', async () => {
    const [r, w] = Pipe(false);
    const n = 400;
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        w.send(i);
        if (i % 5 === 0) await new Promise((res) => setTimeout(res, 1));
      }
    })();
    const got: number[] = [];
    let aborts = 0;
    while (got.length < n) {
      try {
        got.push((await r.recv({ signal: AbortSignal.timeout(aborts % 2) })) as number);
      } catch (e) {
        assert.equal((e as Error).name, 'TimeoutError');
        aborts++;
      }
    }
    await sending;
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => i),
    );
    r.close();
    w.close();
  });
});
