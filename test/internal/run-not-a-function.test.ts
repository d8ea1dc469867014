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

/** What weft/threading's and weft/multiprocessing's locks and conditions have alike. */
interface Holdable {
  run(fn: () => unknown): Promise<unknown>;
  runSync(fn: () => unknown): unknown;
  acquireSync(o: { blocking: boolean }): boolean;
  release(): void;
}

/** A lock taken and given back at once: it was free. */
function lockFree(l: Holdable): boolean {
  const got = l.acquireSync({ blocking: false });
  if (got) l.release();
  return got;
}

/** The cases of a module whose primitives block threads (threading, multiprocessing). */
function blockingCases(
  mod: typeof threading | typeof mp,
  permits: (sem: threading.Semaphore | mp.Semaphore) => number,
): Case[] {
  const sem = new mod.Semaphore(2);
  const cond = new mod.Condition();
  const cases: Case[] = [];
  for (const [name, lock] of [
    ['Lock', new mod.Lock()],
    ['RLock', new mod.RLock()],
    ['Condition', cond],
  ] as [string, Holdable][]) {
    cases.push(
      {
        what: `${name}.run`,
        call: (b) => lock.run(b as () => void),
        untouched: () => lockFree(lock),
      },
      {
        what: `${name}.runSync`,
        call: (b) => lock.runSync(b as () => void),
        untouched: () => lockFree(lock),
      },
    );
  }
  cases.push(
    {
      what: 'Condition.waitFor',
      call: (b) => cond.waitFor(b as () => boolean),
      untouched: () => lockFree(cond as unknown as Holdable),
    },
    {
      what: 'Semaphore.run',
      call: (b) => sem.run(b as () => void),
      untouched: () => permits(sem) === 2,
    },
    {
      what: 'Semaphore.runSync',
      call: (b) => sem.runSync(b as () => void),
      untouched: () => permits(sem) === 2,
    },
  );
  return cases;
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
  await check(blockingCases(threading, (s) => (s as threading.Semaphore).value));
});

test('weft/multiprocessing: run, runSync and waitFor refuse a callback that is not a function', async () => {
  await check(blockingCases(mp, (s) => (s as mp.Semaphore).getValue()));
});

test('weft/gevent: run refuses a callback that is not a function', async () => {
  await asyncio.run(() => check(geventCases()));
});
