/**
 * `run(fn)` (Python's `with lock:`) and `waitFor(predicate)` of every module refuse something
 * that is not a function with a TypeError naming the call, before anything is taken: the lock
 * stays free, the permits stay where they were. Before, the call took the lock, failed inside
 * with "fn is not a function" and gave the lock back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as asyncio from '../../src/asyncio/index.js';
import * as gevent from '../../src/gevent/index.js';
import * as mp from '../../src/multiprocessing/index.js';
import * as threading from '../../src/threading/index.js';

/** Values a caller might pass by mistake (the Python habit of passing a result, not a callable). */
const NOT_FUNCTIONS: unknown[] = [undefined, null, 5, 'work', { call: 1 }, Promise.resolve(1)];

function refusal(what: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TypeError, `a TypeError, got ${String(e)}`);
    assert.match(
      e.message,
      new RegExp(`^${what.replace('.', '\\.')} expects a function: received `),
    );
    return true;
  };
}

// Each entry: what the error names, the call with a bad callback, and a probe that says the
// primitive was left as it was (free lock, permits all there).
interface Case {
  what: string;
  call: (bad: unknown) => unknown;
  untouched: () => boolean | Promise<boolean>;
}

function asyncioCases(): Case[] {
  const lock = new asyncio.Lock();
  const sem = new asyncio.Semaphore(2);
  const cond = new asyncio.Condition();
  return [
    { what: 'Lock.run', call: (b) => lock.run(b as () => void), untouched: () => !lock.locked() },
    {
      what: 'Semaphore.run',
      call: (b) => sem.run(b as () => void),
      untouched: () => sem.value === 2,
    },
    {
      what: 'Condition.run',
      call: (b) => cond.run(b as () => void),
      untouched: () => !cond.locked(),
    },
  ];
}

function threadingCases(): Case[] {
  const lock = new threading.Lock();
  const rlock = new threading.RLock();
  const sem = new threading.Semaphore(2);
  const cond = new threading.Condition();
  const lockFree = (l: { acquireSync(o: { blocking: boolean }): boolean; release(): void }) => {
    const got = l.acquireSync({ blocking: false });
    if (got) l.release();
    return got;
  };
  return [
    { what: 'Lock.run', call: (b) => lock.run(b as () => void), untouched: () => !lock.locked() },
    {
      what: 'Lock.runSync',
      call: (b) => lock.runSync(b as () => void),
      untouched: () => !lock.locked(),
    },
    {
      what: 'RLock.run',
      call: (b) => rlock.run(b as () => void),
      untouched: () => lockFree(rlock),
    },
    {
      what: 'RLock.runSync',
      call: (b) => rlock.runSync(b as () => void),
      untouched: () => lockFree(rlock),
    },
    {
      what: 'Semaphore.run',
      call: (b) => sem.run(b as () => void),
      untouched: () => sem.value === 2,
    },
    {
      what: 'Semaphore.runSync',
      call: (b) => sem.runSync(b as () => void),
      untouched: () => sem.value === 2,
    },
    {
      what: 'Condition.run',
      call: (b) => cond.run(b as () => void),
      untouched: () => lockFree(cond),
    },
    {
      what: 'Condition.runSync',
      call: (b) => cond.runSync(b as () => void),
      untouched: () => lockFree(cond),
    },
    {
      what: 'Condition.waitFor',
      call: (b) => cond.waitFor(b as () => boolean),
      untouched: () => lockFree(cond),
    },
  ];
}

function multiprocessingCases(): Case[] {
  const lock = new mp.Lock();
  const rlock = new mp.RLock();
  const sem = new mp.Semaphore(2);
  const cond = new mp.Condition();
  const lockFree = (l: { acquireSync(o: { blocking: boolean }): boolean; release(): void }) => {
    const got = l.acquireSync({ blocking: false });
    if (got) l.release();
    return got;
  };
  return [
    { what: 'Lock.run', call: (b) => lock.run(b as () => void), untouched: () => lockFree(lock) },
    {
      what: 'Lock.runSync',
      call: (b) => lock.runSync(b as () => void),
      untouched: () => lockFree(lock),
    },
    {
      what: 'RLock.run',
      call: (b) => rlock.run(b as () => void),
      untouched: () => lockFree(rlock),
    },
    {
      what: 'Semaphore.run',
      call: (b) => sem.run(b as () => void),
      untouched: () => sem.getValue() === 2,
    },
    {
      what: 'Semaphore.runSync',
      call: (b) => sem.runSync(b as () => void),
      untouched: () => sem.getValue() === 2,
    },
    {
      what: 'Condition.run',
      call: (b) => cond.run(b as () => void),
      untouched: () => lockFree(cond),
    },
    {
      what: 'Condition.runSync',
      call: (b) => cond.runSync(b as () => void),
      untouched: () => lockFree(cond),
    },
    {
      what: 'Condition.waitFor',
      call: (b) => cond.waitFor(b as () => boolean),
      untouched: () => lockFree(cond),
    },
  ];
}

function geventCases(): Case[] {
  const sem = new gevent.Semaphore(2);
  const dummy = new gevent.DummySemaphore();
  const rlock = new gevent.RLock();
  return [
    {
      what: 'Semaphore.run',
      call: (b) => sem.run(b as () => void),
      untouched: () => sem.counter === 2,
    },
    { what: 'DummySemaphore.run', call: (b) => dummy.run(b as () => void), untouched: () => true },
    {
      what: 'RLock.run',
      call: (b) => rlock.run(b as () => void),
      // gevent's RLock has no locked(): its hold count says whether anyone took it.
      untouched: () => (rlock as unknown as { count: number }).count === 0,
    },
  ];
}

async function check(cases: Case[]): Promise<void> {
  for (const c of cases) {
    for (const bad of NOT_FUNCTIONS) {
      // A rejection for the async forms (as an async function would), a throw for the …Sync ones.
      await assert.rejects(async () => c.call(bad), refusal(c.what), `${c.what}(${String(bad)})`);
      assert.equal(await c.untouched(), true, `${c.what} left its primitive as it was`);
    }
  }
}

test('weft/asyncio: run(fn) with something not a function is refused before the lock is taken', async () => {
  await asyncio.run(() => check(asyncioCases()));
  // Outside any task too: the refusal does not depend on a task.
  await check(asyncioCases());
});

test('weft/asyncio: Lock.run refuses by rejecting, not by throwing at the call', () => {
  const p = new asyncio.Lock().run(5 as unknown as () => void);
  assert.ok(p instanceof Promise);
  return assert.rejects(p, refusal('Lock.run'));
});

test('weft/threading: run, runSync and waitFor refuse a callback that is not a function', async () => {
  await check(threadingCases());
});

test('weft/multiprocessing: run, runSync and waitFor refuse a callback that is not a function', async () => {
  await check(multiprocessingCases());
});

test('weft/gevent: run refuses a callback that is not a function', async () => {
  await asyncio.run(() => check(geventCases()));
});
