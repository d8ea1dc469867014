/**
 * Every waiting call of weft/multiprocessing takes `{ signal }`: an aborted signal rejects the
 * wait with its reason and withdraws it from the broker, so what comes later (a set, a notify, a
 * party, an item) goes to the waiters still there. Without a signal, a call inside a weft/asyncio
 * task takes the task's. The broker serves the parent too: every test runs in this process, and
 * a synchronous call (`isSet()`, `locked()`, `nWaiting()`, `qsize()`) — which the broker runs
 * only after this thread's earlier messages — says when a wait is registered there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, createTask, run, sleep } from '../../src/asyncio/index.js';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  JoinableQueue,
  Lock,
  Pipe,
  RLock,
  SimpleQueue,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';

checkLeaks({ graceMs: 3000 });

/** Long enough never to run out on a loaded machine: only a wait that ignores its signal meets it. */
const LONG = 10_000;

/** `p`, or a failure if it has not settled within `ms` (a wait that ignores its signal). */
const within = <T>(p: Promise<T>, ms = LONG): Promise<T> => settles(p, 'the wait', ms);

const is = (reason: unknown) => (e: unknown) => e === reason;

test('an already aborted signal rejects every wait at once and leaves nothing', async () => {
  const reason = new Error('aborted before');
  const signal = AbortSignal.abort(reason);
  const ev = new Event();
  await assert.rejects(within(ev.wait({ signal })), is(reason));

  const cond = new Condition(new Lock());
  assert.equal(await cond.acquire(), true);
  await assert.rejects(within(cond.wait({ signal })), is(reason));
  await assert.rejects(within(cond.waitFor(() => true, { signal })), is(reason));
  assert.equal(cond.lock.locked(), true, 'the lock was never released');
  cond.release();

  const barrier = new Barrier(2);
  await assert.rejects(within(barrier.wait({ signal })), is(reason));
  assert.equal(barrier.nWaiting(), 0);
  assert.equal(barrier.broken(), false);

  const jq = new JoinableQueue<number>();
  await jq.put(1);
  await assert.rejects(within(jq.join({ signal })), is(reason));

  const [a, b] = Pipe();
  await assert.rejects(within(b.recv({ signal })), is(reason));
  await assert.rejects(within(b.poll(null, { signal })), is(reason));
  const sq = new SimpleQueue<number>();
  await assert.rejects(within(sq.get({ signal })), is(reason));

  const rlock = new RLock();
  const bsem = new BoundedSemaphore(1);
  await assert.rejects(within(rlock.acquire({ signal })), is(reason));
  await assert.rejects(within(bsem.acquire({ signal })), is(reason));
  assert.equal(rlock.locked(), false);
  assert.equal(bsem.getValue(), 1);

  a.close();
  b.close();
  sq.close();
  jq.close();
});

test('Event.wait aborted mid-wait rejects with the reason; a later set wakes the next waiter', async () => {
  const ev = new Event();
  const ac = new AbortController();
  const w = ev.wait({ timeout: LONG, signal: ac.signal });
  assert.equal(ev.isSet(), false);
  const reason = new Error('stop waiting');
  ac.abort(reason);
  await assert.rejects(within(w), is(reason));
  const next = ev.wait({ timeout: LONG });
  ev.set();
  assert.equal(await within(next), true);
});

test('JoinableQueue.join aborted mid-wait rejects with the reason; join still completes', async () => {
  const q = new JoinableQueue<number>();
  await q.put(1);
  const ac = new AbortController();
  const j = q.join({ timeout: LONG, signal: ac.signal });
  assert.equal(q.qsize(), 1);
  const reason = new Error('stop joining');
  ac.abort(reason);
  await assert.rejects(within(j), is(reason));
  assert.equal(await q.get(), 1);
  q.taskDone();
  assert.equal(await within(q.join({ timeout: LONG })), true);
  q.close();
});

test('Condition.wait aborted mid-wait re-acquires the lock; a later notify goes to the next waiter', async () => {
  // A plain Lock: all waiters are of this thread, which an RLock would let re-enter.
  const cond = new Condition(new Lock());
  assert.equal(await cond.acquire(), true);
  const ac = new AbortController();
  const a = cond.wait({ timeout: LONG, signal: ac.signal });
  assert.equal(cond.lock.locked(), false, 'a waits, the lock released');
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  const b = cond.wait({ timeout: LONG });
  assert.equal(cond.lock.locked(), false, 'b waits too');

  const reason = new Error('stop waiting');
  ac.abort(reason);
  await assert.rejects(within(a), is(reason));
  assert.equal(cond.lock.locked(), true, 'a holds the lock again as it rejects');
  cond.release();

  assert.equal(await cond.acquire({ timeout: LONG }), true);
  cond.notify();
  cond.release();
  assert.equal(await within(b), true, 'the notify woke b: a was withdrawn');
  cond.release();
});

test('Condition.wait aborted while another holds the lock rejects once it has the lock', async () => {
  const cond = new Condition(new Lock());
  assert.equal(await cond.acquire(), true);
  const ac = new AbortController();
  let settled = false;
  const a = cond.wait({ signal: ac.signal }).finally(() => {
    settled = true;
  });
  assert.equal(cond.lock.locked(), false);
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  const reason = new Error('stop waiting');
  ac.abort(reason);
  // A round trip after the withdrawal: had the broker answered it, the answer came first.
  assert.equal(await new Event().wait({ timeout: 0 }), false);
  assert.equal(settled, false, 'a waits for the lock, as a cancelled wait does in Python');
  cond.release();
  await assert.rejects(within(a), is(reason));
  assert.equal(cond.lock.locked(), true);
  cond.release();
});

test('Condition.wait aborted after a notify picked it passes the notification on', async () => {
  const cond = new Condition(new Lock());
  assert.equal(await cond.acquire(), true);
  const ac = new AbortController();
  const a = cond.wait({ timeout: LONG, signal: ac.signal });
  assert.equal(cond.lock.locked(), false);
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  const b = cond.wait({ timeout: LONG });
  assert.equal(cond.lock.locked(), false);
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  cond.notify(); // picks a, the oldest: it waits for the lock this thread holds
  const reason = new Error('stop waiting');
  ac.abort(reason); // reaches the broker after the notify
  cond.release();
  await assert.rejects(within(a), is(reason));
  cond.release();
  assert.equal(await within(b), true, 'b was notified in place of a');
  cond.release();
});

test('Condition.wait aborted after the broker answered it passes the notification on', async () => {
  const cond = new Condition(new Lock());
  assert.equal(await cond.acquire(), true);
  const ac = new AbortController();
  const a = cond.wait({ timeout: LONG, signal: ac.signal });
  assert.equal(cond.lock.locked(), false);
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  const b = cond.wait({ timeout: LONG });
  assert.equal(cond.lock.locked(), false);
  assert.equal(await cond.acquire({ timeout: LONG }), true);
  cond.notify();
  cond.release(); // a re-acquires the lock at the broker and is answered: notified
  const reason = new Error('stop waiting');
  ac.abort(reason); // the withdrawal finds a answered: this process passes the notify on
  await assert.rejects(within(a), is(reason));
  cond.release();
  assert.equal(await within(b), true, 'b was notified in place of a');
  cond.release();
});

test('Barrier.wait aborted mid-wait rejects with the reason and breaks the barrier', async () => {
  const barrier = new Barrier(3);
  const ac = new AbortController();
  const first = barrier.wait({ timeout: LONG, signal: ac.signal });
  const second = barrier.wait({ timeout: LONG });
  assert.equal(barrier.nWaiting(), 2);
  const reason = new Error('not coming');
  ac.abort(reason);
  await assert.rejects(within(first), is(reason));
  await assert.rejects(within(second), BrokenBarrierError);
  assert.equal(barrier.broken(), true);
  await assert.rejects(barrier.wait({ timeout: LONG }), BrokenBarrierError);
  await barrier.reset();
  const passed = await within(Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]));
  assert.deepEqual(
    passed.sort((x, y) => x - y),
    [0, 1, 2],
  );
});

test('Barrier.wait aborted as its party completed the barrier still runs the action', async () => {
  let actions = 0;
  const barrier = new Barrier(2, {
    action: () => {
      actions++;
    },
  });
  const first = barrier.wait({ timeout: LONG });
  // A synchronous call writes what this thread queued: the request made next goes at once.
  assert.equal(barrier.nWaiting(), 1);
  const ac = new AbortController();
  const last = barrier.wait({ timeout: LONG, signal: ac.signal });
  const reason = new Error('too late');
  ac.abort(reason); // the broker has released the generation before the withdrawal arrives
  await assert.rejects(within(last), is(reason));
  assert.equal(actions, 1, 'the last party runs the action even when withdrawn');
  // Python's indices: the order of arrival.
  assert.equal(await within(first), 0);
  assert.equal(barrier.broken(), false, 'the generation had passed: nothing to break');
});

test('Barrier.wait aborted before its request left this process never arrives', async () => {
  // Its 'create' goes first in this turn: the request made next waits for the turn's end.
  const barrier = new Barrier(2);
  const ac = new AbortController();
  const w = barrier.wait({ timeout: LONG, signal: ac.signal });
  const reason = new Error('changed my mind');
  ac.abort(reason);
  await assert.rejects(within(w), is(reason));
  assert.equal(barrier.nWaiting(), 0);
  assert.equal(barrier.broken(), false, 'a party that never arrived breaks nothing');
});

test('Connection.recv aborted mid-wait rejects with the reason; the next object goes to the next recv', async () => {
  const [a, b] = Pipe();
  const ac = new AbortController();
  const r = b.recv({ signal: ac.signal });
  // poll asks the broker after the recv's request: the recv is waiting there by then.
  assert.equal(await b.poll(0), false);
  const reason = new Error('stop receiving');
  ac.abort(reason);
  await assert.rejects(within(r), is(reason));
  a.send('x');
  assert.equal(await within(b.recv()), 'x');
  a.close();
  b.close();
});

test('a task cancelled in a multiprocessing wait gets CancelledError there, and withdraws it', async () => {
  await run(async () => {
    const ev = new Event();
    const cond = new Condition(new Lock());
    const barrier = new Barrier(2);
    const jq = new JoinableQueue<number>();
    const [a, b] = Pipe();
    await jq.put(1);
    assert.equal(await cond.acquire(), true);
    const tasks = [
      createTask(() => ev.wait({ timeout: LONG })),
      createTask(() => cond.waitFor(() => false, { timeout: LONG })),
      createTask(() => barrier.wait({ timeout: LONG })),
      createTask(() => jq.join({ timeout: LONG })),
      createTask(() => b.recv()),
    ];
    // The waitFor sends its wait last (after its predicate); a synchronous call runs after
    // every request sent before it, so once the lock shows released, all five are waiting.
    await sleep(0);
    while (cond.lock.locked()) await sleep(1);
    assert.equal(barrier.nWaiting(), 1);
    for (const t of tasks) t.cancel();
    for (const t of tasks) await assert.rejects(within(t), CancelledError);
    assert.equal(cond.lock.locked(), true, 'the cancelled waitFor holds the lock again');
    cond.release();
    assert.equal(barrier.broken(), true);
    a.send('x');
    assert.equal(await within(b.recv()), 'x');
    a.close();
    b.close();
    jq.close();
  });
});
