/**
 * A thread killed inside a put or get, holding one of the queue's internal mutexes (PLOCK for
 * producers, CLOCK for a FIFO queue's consumers). It used to leave every other user of the queue
 * parked for ever, event loops included (the mutex is waited for synchronously, even by `put`
 * and `get`). Now the queue is marked broken and every call, in every thread, throws
 * OwnerDiedError. The kill is made deterministic: a pool worker takes the mutex as the operation
 * would (`_lockForTest`), stalls, and its call is force-cancelled (its worker is terminated).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelledError, ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  JoinableQueue,
  LifoQueue,
  OwnerDiedError,
  PriorityQueue,
  Queue,
} from '../../src/queue/index.js';
import {
  Event,
  Thread,
  OwnerDiedError as ThreadingOwnerDiedError,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { type PieceThread, piece, pieceThreads } from '../support/piece-threads.js';
import { settles } from '../support/settles.js';
import { until } from '../support/until.js';
import { blockingOp, holdMutex } from './fixtures/tasks.js';

checkLeaks();

const PATIENCE = 15_000;
/** Header words (core.ts's layout table). */
const GET_WAITERS = 32;
const PUT_WAITERS = 33;
const JOIN_WAITERS = 34;

/**
 * A thread started once for the file and sent the blocking put or get of a test (a thread is slow
 * to start); the test of threads that end starts its own.
 */
const pool = pieceThreads(['blocked']);
before(() => pool.start());
after(() => pool.close());
const blocked = pool.threads[0] as PieceThread;

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: Error) => e.constructor.name,
  );

/** Waits until a pool worker holds `side`'s mutex of `q`, stalled; `kill` terminates it. */
async function holder(ex: ThreadPoolExecutor, q: Queue<unknown>, side: 'put' | 'get') {
  const started = new Event();
  const f = ex.submit(holdMutex, q, side, started);
  assert.equal(await started.wait({ timeout: PATIENCE }), true, 'the holder took the mutex');
  return {
    kill: async () => {
      f.cancel({ force: true });
      await assert.rejects(f.result(), CancelledError);
    },
  };
}

const waiters = (q: Queue<unknown>, i: number): number => Atomics.load(q._core.a, i);

const BROKEN =
  /thread 'ThreadPoolExecutor-\d+_0' \(\d+\) ended in the middle of a put or get.*make a new queue/;

/** Every kind of call on a broken queue throws, in this thread. */
async function assertBroken(q: Queue<unknown>): Promise<void> {
  assert.throws(() => q.putSync(1), OwnerDiedError);
  await assert.rejects(q.put(1), OwnerDiedError);
  assert.throws(() => q.putNowait(1), OwnerDiedError);
  assert.throws(() => q.getSync(), OwnerDiedError);
  await assert.rejects(q.get({ timeout: 10 }), OwnerDiedError);
  assert.throws(() => q.getNowait(), OwnerDiedError);
  assert.throws(() => q.qsize(), OwnerDiedError);
  assert.throws(() => q.empty(), OwnerDiedError);
  assert.throws(() => q.taskDone(), OwnerDiedError);
  await assert.rejects(q.join(), OwnerDiedError);
  assert.throws(() => q.shutdown(), OwnerDiedError);
}

describe('a thread killed holding the producer mutex', () => {
  for (const Q of [Queue, LifoQueue, PriorityQueue]) {
    test(`${Q.name}: gets parked on the empty queue wake with OwnerDiedError, and every later call throws it`, async () => {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
      const q = new Q<unknown>();
      const out = new Queue<string>();
      const { kill } = await holder(ex, q, 'put');
      // Waiting for items, not for the mutex: one blocked thread and one async get here.
      const t = piece(blocked, blockingOp, [q, 'get', out]);
      t.start();
      const waiting = q.get();
      await until(() => waiters(q, GET_WAITERS) === 2, 'both gets parked');
      await kill();
      // Nobody puts: the waiters find the dead holder themselves.
      const err = await settles(
        waiting.catch((e: unknown) => e),
        'the parked get',
      );
      assert.ok(err instanceof OwnerDiedError);
      assert.match((err as Error).message, BROKEN);
      assert.equal(await settles(out.get(), 'the parked getSync'), 'OwnerDiedError');
      await t.join();
      await assertBroken(q);
      // The thread reported through `out`: an unrelated queue works on.
      out.putSync('still');
      assert.equal(out.getSync(), 'still');
    });

    test(`${Q.name}: a put waiting for the mutex throws OwnerDiedError instead of hanging, and so do gets of the items stored before`, async () => {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
      const q = new Q<unknown>();
      // Complete items: a FIFO get takes them without the producer mutex, until the queue is
      // found broken (assertBroken's getSync).
      q.putSync(1);
      q.putSync(2);
      const out = new Queue<string>();
      const { kill } = await holder(ex, q, 'put');
      await kill();
      // In a thread of its own, and here, where it parks the event loop in slices meanwhile.
      const t = piece(blocked, blockingOp, [q, 'put', out]);
      t.start();
      assert.equal(await outcome(q.put(1)), 'OwnerDiedError');
      assert.equal(await settles(out.get(), 'the putSync'), 'OwnerDiedError');
      await t.join();
      await assertBroken(q);
    });
  }

  test('OwnerDiedError of weft/queue is the one of weft/threading', () => {
    assert.equal(OwnerDiedError, ThreadingOwnerDiedError);
  });
});

describe('a thread killed holding the consumer mutex', () => {
  for (const Q of [Queue, JoinableQueue]) {
    test(`${Q.name}: puts waiting for room and joins wake with OwnerDiedError, and gets throw it`, async () => {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
      const q = new Q<unknown>(1);
      q.putSync('first');
      const out = new Queue<string>();
      const { kill } = await holder(ex, q, 'get');
      const t = piece(blocked, blockingOp, [q, 'put', out]);
      t.start();
      const putting = outcome(q.put('second'));
      const joining = outcome(q.join());
      await until(
        () => waiters(q, PUT_WAITERS) === 2 && waiters(q, JOIN_WAITERS) === 1,
        'the puts and the join parked',
      );
      await kill();
      assert.equal(await settles(putting, 'the parked put'), 'OwnerDiedError');
      assert.equal(await settles(joining, 'the parked join'), 'OwnerDiedError');
      assert.equal(await settles(out.get(), 'the parked putSync'), 'OwnerDiedError');
      await t.join();
      await assertBroken(q);
    });
  }

  test('Queue: a get waiting for the mutex throws OwnerDiedError instead of hanging', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const q = new Queue<unknown>();
    q.putSync('a');
    q.putSync('b');
    const out = new Queue<string>();
    const { kill } = await holder(ex, q, 'get');
    await kill();
    const t = piece(blocked, blockingOp, [q, 'get', out]);
    t.start();
    assert.equal(await settles(out.get(), 'the getSync'), 'OwnerDiedError');
    await t.join();
    await assertBroken(q);
  });
});

describe('threads that end holding no queue mutex', () => {
  test('a thread that used the queue and returned normally leaves it working', async () => {
    const q = new Queue<unknown>(4);
    const out = new Queue<string>();
    const t = new Thread({ target: blockingOp, args: [q, 'put', out] });
    t.start();
    assert.equal(await out.get(), 'ok');
    await t.join();
    const g = new Thread({ target: blockingOp, args: [q, 'get', out] });
    g.start();
    assert.equal(await out.get(), 'ok');
    await g.join();
    q.putSync(1);
    assert.equal(q.qsize(), 1);
    assert.equal(await q.get(), 1);
    q.taskDone();
    q.taskDone();
    await q.join();
  });

  test('a worker killed while parked on an empty queue (not holding the mutex) leaves it working', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const q = new Queue<unknown>();
    const out = new Queue<string>();
    const f = ex.submit(blockingOp, q, 'get', out);
    await until(() => waiters(q, GET_WAITERS) === 1, 'the worker parked on the empty queue');
    f.cancel({ force: true });
    await assert.rejects(f.result(), CancelledError);
    q.putSync('x');
    assert.equal(q.getSync(), 'x');
    await q.put('y');
    assert.equal(await q.get(), 'y');
    assert.equal(q.qsize(), 0);
  });
});
