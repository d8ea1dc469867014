/**
 * Connection.poll() and wait() on Pipe ends wait at the broker instead of asking it over and over.
 * poll() asked the broker for the direction's state every 2 ms until something changed: a process
 * waiting on ten idle Connections made thousands of round trips a second. Now a poll is one
 * request, parked with the direction's gets and answered by what wakes them (an item, the last
 * writer gone); a poll withdrawn (signal, close, timeout) leaves no waiter at the broker, and
 * never takes an item. The counts asserted are requests, not times.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import { broker } from '../../src/internal/process/broker-client.js';
import { type Connection, Pipe, wait } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { pollThenRecv } from './fixtures/poll-targets.js';

checkLeaks({ graceMs: 3000 });

/** The polls of `c`'s reading direction parked at the broker (its answer follows our earlier messages). */
async function pollsAt(c: Connection): Promise<number> {
  const id = c._inId;
  assert.ok(id !== null, 'a readable end');
  const [, , polls] = (await broker().request('pipeState', id, [])) as number[];
  return polls as number;
}

/** Resolves once `c` has `n` polls parked at the broker (a hang fails the test, see settles). */
async function parked(c: Connection, n: number): Promise<void> {
  await settles(
    (async () => {
      while ((await pollsAt(c)) !== n) await new Promise((r) => setTimeout(r, 5));
    })(),
    `${n} poll(s) parked at the broker`,
  );
}

describe('Connection.poll() waits at the broker', () => {
  test('an idle poll(300) is one request and answers false; nothing is left parked', async () => {
    const [a, b] = Pipe();
    // The broker up first: a first request can take longer than the poll while it starts.
    assert.equal(await a.poll(), false);
    const before = broker()._requests;
    assert.equal(await a.poll(300), false);
    const made = broker()._requests - before;
    // Before: one request every 2 ms or so, over a hundred here.
    assert.ok(made <= 2, `poll(300) made ${made} broker requests`);
    assert.equal(await pollsAt(a), 0);
    a.close();
    b.close();
  });

  test('wait() on 10 idle Connections for 300 ms: a few requests per Connection', async () => {
    const pipes = Array.from({ length: 10 }, () => Pipe());
    const readers = pipes.map(([r]) => r);
    assert.deepEqual(await wait(readers, { timeout: 0 }), []);
    const before = broker()._requests;
    assert.deepEqual(await wait(readers, { timeout: 300 }), []);
    const made = broker()._requests - before;
    // A look, a parked poll and a last look each: 30. Before: thousands.
    assert.ok(made <= 40, `wait() made ${made} broker requests`);
    for (const r of readers) assert.equal(await pollsAt(r), 0);
    for (const [a, b] of pipes) {
      a.close();
      b.close();
    }
  });

  test('wait() whose signal aborts during its first look rejects (it waited for ever)', async () => {
    const pipes = Array.from({ length: 3 }, () => Pipe());
    const readers = pipes.map(([r]) => r);
    assert.deepEqual(await wait(readers, { timeout: 0 }), []);
    const ac = new AbortController();
    const reason = new Error('stop');
    // The look is a round trip to the broker: the abort comes while it is on its way.
    const waiting = wait(readers, { signal: ac.signal });
    ac.abort(reason);
    await assert.rejects(settles(waiting, 'wait()', 20_000), (e) => e === reason);
    for (const [a, b] of pipes) {
      a.close();
      b.close();
    }
  });

  test('an item sent while it waits answers true at once; the item stays for recv()', async () => {
    const [a, b] = Pipe();
    const polling = a.poll(null);
    await parked(a, 1);
    b.send('x');
    assert.equal(await settles(polling, 'poll()'), true);
    assert.equal(await a.poll(), true, 'poll never takes the item');
    assert.equal(await a.recv(), 'x');
    assert.equal(await pollsAt(a), 0);
    a.close();
    b.close();
  });

  test('the last writer closing while it waits answers true (recv raises EOFError)', async () => {
    const [r, w] = Pipe(false);
    const polling = r.poll(60_000);
    await parked(r, 1);
    w.close();
    assert.equal(await settles(polling, 'poll()'), true);
    await assert.rejects(r.recv(), (e: Error) => e.name === 'EOFError');
    r.close();
  });

  test('an aborted signal withdraws the poll: no waiter left, the next item goes to recv()', async () => {
    const [a, b] = Pipe();
    const ac = new AbortController();
    const polling = a.poll(null, { signal: ac.signal });
    await parked(a, 1);
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(polling, (e) => e === reason);
    assert.equal(await pollsAt(a), 0);
    b.send('after');
    assert.equal(await a.recv(), 'after');
    a.close();
    b.close();
  });

  test('a timeout withdraws the poll at the broker; so does close()', async () => {
    const [a, b] = Pipe();
    assert.equal(await a.poll(50), false);
    assert.equal(await pollsAt(a), 0);
    // Three at once on one handle, then its close: each answers true, none is left.
    const polls = [a.poll(null), a.poll(60_000), a.poll(null)];
    await parked(a, 3);
    const id = a._inId as string;
    a.close();
    assert.deepEqual(await settles(Promise.all(polls), 'polls'), [true, true, true]);
    const [, , left] = (await broker().request('pipeState', id, [])) as number[];
    assert.equal(left, 0);
    b.close();
  });

  test('twenty polls (and recvs) waiting on one handle: no MaxListenersExceededWarning', async () => {
    // Each waits on the handle's closing signal: from the eleventh, Node printed the warning
    // (the old poll, a loop of requests, added no listener).
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const [a, b] = Pipe();
    try {
      const polls = Array.from({ length: 20 }, () => a.poll(null));
      await parked(a, 20);
      const recvs = Array.from({ length: 20 }, () => a.recv());
      for (let i = 0; i < 20; i++) b.send(i);
      assert.deepEqual(await settles(Promise.all(polls), 'polls'), Array(20).fill(true));
      const got = (await settles(Promise.all(recvs), 'recvs')) as number[];
      assert.deepEqual(
        got,
        Array.from({ length: 20 }, (_, i) => i),
      );
      // Node emits a warning on a later tick than the listener's addition.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
      a.close();
      b.close();
    }
  });

  test('a poll waiting behind a recv of the same handle: the batch the recv brought answers it', async () => {
    const [a, b] = Pipe();
    const [other, otherEnd] = Pipe();
    const first = a.recv();
    const polling = a.poll(null);
    await parked(a, 1);
    // The first send of a turn is written at once, the others at its end, together: this one
    // goes first so that both items reach the broker in one message and the recv takes both.
    other.send('warm');
    b.send(1);
    b.send(2);
    assert.equal(await first, 1);
    assert.equal(await settles(polling, 'poll()'), true);
    assert.equal(await a.recv(), 2);
    assert.equal(await pollsAt(a), 0);
    assert.equal(await otherEnd.recv(), 'warm');
    for (const c of [a, b, other, otherEnd]) c.close();
  });
});

describe('poll() from another thread and from a child process', () => {
  for (const [where, make] of [
    ['a thread', () => new ThreadPoolExecutor({ maxWorkers: 1 })],
    ['a child process', () => new ProcessPoolExecutor({ maxWorkers: 1 })],
  ] as const) {
    test(`from ${where}: parked at the broker, woken by our send`, async () => {
      const ex = make();
      const [mine, theirs] = Pipe();
      const [hear, say] = Pipe(false);
      try {
        // Our copies of its ends stay open until it is done: a pool encodes a task's arguments
        // when a worker takes it, not at submit.
        const fut = ex.submit(pollThenRecv, theirs, say, 60_000);
        assert.equal(await settles(hear.recv(), 'the task starts'), 'polling');
        // Its poll waits at the broker (a session of its own), not in a loop of requests.
        await parked(theirs, 1);
        mine.send('to you');
        const got = (await settles(fut.result(), 'the task')) as {
          ready: boolean;
          requests: number;
          value: unknown;
        };
        assert.deepEqual(got, { ready: true, requests: 1, value: 'to you' });
      } finally {
        for (const c of [mine, theirs, hear, say]) c.close();
        await ex.shutdown();
      }
    });
  }
});
