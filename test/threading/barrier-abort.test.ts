/**
 * Barrier abort() and reset() against a generation that is passing: they happen one after the
 * other, as under Python's lock, never half-way through each other (see the invariants in
 * src/threading/barrier.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, ThreadPoolExecutor } from '../../src/futures/index.js';
import { Queue } from '../../src/queue/index.js';
import { Barrier, BrokenBarrierError, Event, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  abortAndSay,
  arriveWithSlowAction,
  arriveWithStuckAction,
  barrierPartyUntil,
  slowAction,
  spinAction,
  stuckAction,
} from './fixtures/tasks.js';

checkLeaks();

const PATIENCE = 15_000;
const GEN = 0;

const outcome = (p: Promise<number>): Promise<string> =>
  p.then(
    (i) => `index ${i}`,
    (e: Error) => e.name,
  );

/** The internals these tests reach into. */
interface BarrierInternals {
  _a: Int32Array;
  parkable(gen: number, index: number): { attempt(): unknown; timedOut(): unknown };
}

describe('Barrier abort and reset against a passing generation', () => {
  test('abort() from another thread while the action runs lets the generation pass and breaks the next one', async () => {
    const b = new Barrier(2, { action: slowAction });
    const started = new Event();
    const out = new Queue<string>();
    const mine = outcome(b.wait());
    const t = new Thread({ target: arriveWithSlowAction, args: [b, started, out] });
    t.start();
    try {
      assert.equal(await started.wait({ timeout: PATIENCE }), true);
      // The last party is inside the action: this abort waits for its pass to finish.
      b.abort();
      assert.equal(await mine, 'index 0');
      assert.equal(await out.get({ timeout: PATIENCE }), 'index 1');
      assert.equal(b.broken, true);
      await assert.rejects(b.wait(), BrokenBarrierError);
    } finally {
      await t.join();
    }
  });

  test('an action that calls abort() breaks its own generation: every party, the last one too, gets BrokenBarrierError', async () => {
    const b: Barrier = new Barrier(2, { action: () => b.abort() });
    const first = outcome(b.wait());
    const last = outcome(b.wait());
    assert.deepEqual(await Promise.all([first, last]), [
      'BrokenBarrierError',
      'BrokenBarrierError',
    ]);
    assert.equal(b.broken, true);
    assert.equal(b.nWaiting, 0);
  });

  test('an action that calls reset() sends its generation away broken and leaves the barrier usable', async () => {
    let resets = 0;
    const b: Barrier = new Barrier(2, {
      action: () => {
        if (resets++ === 0) b.reset();
      },
    });
    const got = await Promise.all([outcome(b.wait()), outcome(b.wait())]);
    assert.deepEqual(got, ['BrokenBarrierError', 'BrokenBarrierError']);
    assert.equal(b.broken, false);
    // The next generation passes (the action does not reset again).
    assert.deepEqual((await Promise.all([b.wait(), b.wait()])).sort(), [0, 1]);
  });

  test('an action that calls reset() and then throws: its party gets the error and the barrier ends broken, as a throwing action leaves it', async () => {
    const boom = new Error('boom');
    const b: Barrier = new Barrier(2, {
      action: () => {
        b.reset();
        throw boom;
      },
    });
    const res = await Promise.allSettled([b.wait(), b.wait()]);
    const got = res.map((r) => (r.status === 'rejected' ? r.reason : r.value));
    assert.equal(got.filter((e) => e === boom).length, 1, 'one party gets what the action threw');
    assert.equal(got.filter((e) => e instanceof BrokenBarrierError).length, 1);
    assert.equal(b.broken, true);
    assert.equal(await outcome(b.wait()), 'BrokenBarrierError');
    b.reset();
  });

  test('a wait that gives up after its generation passed keeps the pass and does not break the barrier', async () => {
    const b = new Barrier(2);
    const x = b as unknown as BarrierInternals;
    const gen = Atomics.load(x._a, GEN);
    const first = b.wait();
    assert.equal(await b.wait(), 1);
    assert.equal(await first, 0);
    // As if the first party's timeout fired just after the last one arrived.
    assert.equal(x.parkable(gen, 0).timedOut(), 0);
    assert.equal(b.broken, false);
    assert.equal(b.nWaiting, 0);
    assert.deepEqual((await Promise.all([b.wait(), b.wait()])).sort(), [0, 1]);
  });

  test('a waiter that looks while an abort is half-way never takes the broken generation for passed', async () => {
    const b = new Barrier(2);
    const x = b as unknown as BarrierInternals;
    const gen = Atomics.load(x._a, GEN);
    const first = b.wait().catch((e: Error) => e.name);
    const attempt = x.parkable(gen, 0);
    // The abort lands between the waiter's first and second read of the barrier's words.
    const realLoad = Atomics.load;
    let reads = 0;
    Atomics.load = ((a: Int32Array, i: number) => {
      const v = realLoad(a, i);
      if (a.buffer === x._a.buffer && reads++ === 0) {
        Atomics.load = realLoad;
        b.abort();
      }
      return v;
    }) as typeof Atomics.load;
    let seen: unknown;
    try {
      seen = attempt.attempt();
    } catch (e) {
      seen = (e as Error).name;
    } finally {
      Atomics.load = realLoad;
    }
    // Either it has not seen the end yet, or it has seen it broken; never an index.
    assert.notEqual(seen, 0);
    assert.equal(await first, 'BrokenBarrierError');
    assert.throws(() => attempt.attempt(), BrokenBarrierError);
  });
});

test('a party that looks only after later generations broke too still learns that its own broke', async () => {
  const b = new Barrier(2);
  // Its wake-up is delivered asynchronously: everything below happens before it looks.
  const late = outcome(b.wait());
  b.abort();
  b.reset();
  const next = outcome(b.wait());
  b.abort();
  assert.deepEqual(await Promise.all([late, next]), ['BrokenBarrierError', 'BrokenBarrierError']);
  b.reset();
  assert.deepEqual((await Promise.all([b.wait(), b.wait()])).sort(), [0, 1]);
});

describe('Barrier: three threads passing while another aborts and resets it at random', () => {
  test('every generation that passes gives each index once; no party hangs', async () => {
    const PARTIES = 3;
    const b = new Barrier(PARTIES, { action: spinAction });
    const counts = new Int32Array(new SharedArrayBuffer(4 * (PARTIES + 1)));
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const threads = Array.from(
      { length: PARTIES },
      () => new Thread({ target: barrierPartyUntil, args: [b, counts, stop] }),
    );
    for (const t of threads) t.start();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // Until enough passes and breaks have happened (bounded: a loaded machine is slower).
      const end = Date.now() + 20_000;
      let aborts = 0;
      // Rounds in which no generation passed: the machine is slow, so the next abort waits
      // longer (up to 50 ms), or a loaded machine could abort every generation before it passes.
      let stalled = 0;
      let seen = 0;
      while (Date.now() < end && (aborts < 200 || Atomics.load(counts, 0) < 50)) {
        const passes = Atomics.load(counts, 0);
        stalled = passes === seen ? stalled + 1 : 0;
        seen = passes;
        await sleep(Math.random() * 3 + Math.min(50, stalled * 5));
        b.abort();
        aborts++;
        await sleep(Math.random());
        b.reset();
      }
    } finally {
      Atomics.store(stop, 0, 1);
      b.abort();
      for (const t of threads) await t.join();
    }
    const passes = Atomics.load(counts, 0);
    assert.ok(passes > 0, 'no generation passed');
    assert.ok(Atomics.load(counts, PARTIES) > 0, 'no wait was broken');
    // A generation broken for some of its parties and passed for others would show here.
    for (let i = 1; i < PARTIES; i++) {
      assert.equal(
        Atomics.load(counts, i),
        passes,
        `index ${i} against index 0: ${counts.join(', ')}`,
      );
    }
  });
});

/**
 * A barrier of 2 whose last party, a call on `ex`, is inside its action when its worker is
 * killed (the forced cancellation is made, not awaited); this thread is the other party.
 */
async function killOwnerInAction(ex: ThreadPoolExecutor) {
  const b = new Barrier(2, { action: stuckAction });
  const started = new Event();
  const mine = outcome(b.wait());
  const f = ex.submit(arriveWithStuckAction, b, started);
  assert.equal(await started.wait({ timeout: PATIENCE }), true);
  f.cancel({ force: true });
  return { b, mine, f };
}

test('abort() takes over from a last party killed in the action, instead of waiting for it for ever', async () => {
  await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const { b, mine, f } = await killOwnerInAction(ex);
  await assert.rejects(f.result(), CancelledError);
  // From a thread of its own: an abort() that waited for the dead owner would block its thread.
  const done = new Event();
  const t = new Thread({ target: abortAndSay, args: [b, done], daemon: true });
  t.start();
  assert.equal(await done.wait({ timeout: PATIENCE }), true, 'abort() returned');
  await t.join();
  assert.equal(await mine, 'BrokenBarrierError');
  assert.equal(b.broken, true);
  // Usable again (its action would spin here too: no pass is tried).
  b.reset();
  assert.equal(b.broken, false);
  assert.equal(b.nWaiting, 0);
});

test('abort() right after the forced cancellation, on the thread that made it, takes over too', async () => {
  await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const { b, mine, f } = await killOwnerInAction(ex);
  // This thread handles the worker's 'exit' event only after abort() returns: abort() must see
  // the worker gone by itself.
  b.abort();
  assert.equal(await mine, 'BrokenBarrierError');
  await assert.rejects(f.result(), CancelledError);
  b.reset();
  assert.equal(b.broken, false);
});
