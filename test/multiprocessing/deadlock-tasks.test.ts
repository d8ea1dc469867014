/**
 * The broker's deadlock walk is task-aware (src/internal/process/broker-deadlock.ts): a process
 * (thread) that awaits is passed through only by the lock its waiting asyncio task holds. So
 * tasks taking Locks in one global order are never told of a cycle, and real cycles between
 * tasks of different processes still are. (Python hangs on the real ones: weft's own.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTask, run, sleep } from '../../src/asyncio/index.js';
import { fastSlab, HOLDER, slabSession, wordIndex } from '../../src/internal/process/lock-slab.js';
import {
  Condition,
  DeadlockError,
  Event,
  Lock,
  Process,
  Queue,
  RLock,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import {
  holdAInOneTaskAwaitBInAnother,
  holdThenAwait,
  orderedRounds,
  orderedRoundsChild,
  type Tally,
  taskHoldBThenTakeA,
} from './fixtures/deadlock-tasks-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 60_000;

/** Joins the started children `ps`, each of which must exit with code 0. */
async function joined(...ps: Process[]): Promise<void> {
  for (const p of ps) await p.join({ timeout: PATIENCE });
  assert.deepEqual(
    ps.map((p) => p.exitcode),
    ps.map(() => 0),
  );
}

describe('asyncio tasks taking Locks in one global order', () => {
  test('three processes x 30 tasks x 15 rounds, each taking 2 or 3 of locks A < B < C < D < E in order: never told, every section runs', async () => {
    await orderedStress([new Lock(), new Lock(), new Lock(), new Lock(), new Lock()], 1000, 30, 15);
  });

  // RLocks are re-entered by several tasks of a thread at once (it is the thread's): which of
  // them holds one then is not known, and walks take it as the thread's (SHARED).
  test('the same with RLocks at B and D, re-entered by several tasks of a process: never told', async () => {
    const locks = [new Lock(), new RLock(), new Lock(), new RLock(), new Lock()];
    // Tasks 30 apart share a bit of the walk's task set (broker-deadlock.ts): fewer than 30.
    await orderedStress(locks, 12, 28, 15);
  });
});

/** Three processes x `tasks` x `rounds` of `orderedRounds` on `locks`: none told, all run. */
async function orderedStress(locks: Lock[], seed: number, TASKS: number, ROUNDS: number) {
  const go = new Event();
  const out = new Queue<string>();
  const children = [1, 2].map(
    (k) =>
      new Process({
        target: orderedRoundsChild,
        args: [locks, seed + k, TASKS, ROUNDS, go, out],
        name: `ordered-${k}`,
      }),
  );
  for (const p of children) p.start();
  try {
    go.set();
    const mine = await orderedRounds(locks, seed, TASKS, ROUNDS);
    const tallies: Tally[] = [mine];
    for (const _ of children) tallies.push(JSON.parse(await out.get({ timeout: PATIENCE })));
    const told = tallies.reduce((n, t) => n + t.told, 0);
    assert.deepEqual(
      tallies.flatMap((t) => t.others),
      [],
    );
    assert.equal(
      told,
      0,
      `no cycle is possible, yet ${told} DeadlockErrors: ${tallies.flatMap((t) => t.messages).join(' | ')}`,
    );
    assert.deepEqual(
      tallies.map((t) => t.sections),
      tallies.map(() => TASKS * ROUNDS),
    );
  } finally {
    await joined(...children);
  }
  assert.deepEqual(
    locks.map((l) => l.locked()),
    [false, false, false, false, false],
  );
}

describe('a cycle between asyncio tasks of different processes is still told', () => {
  for (const childSync of [false, true]) {
    test(`child ${childSync ? 'parked in acquireSync' : 'awaits in a task'}, parent awaits in a task: the parent closes it and is told`, async () => {
      const a = new Lock();
      const b = new Lock();
      const ready = new Event();
      const out = new Queue<string>();
      const p = new Process({
        target: taskHoldBThenTakeA,
        args: [a, b, ready, childSync, out],
        name: 'tasker',
      });
      let told: unknown = null;
      await run(async () => {
        await a.acquire();
        p.start();
        assert.equal(await ready.wait({ timeout: PATIENCE }), true);
        // A child that parks sends `ready` before its acquireSync, which may reach the broker
        // after this wait: both would then wait (a blocking walk stops at a thread that awaits).
        // So this wait is withdrawn and made again until the child's is there to be walked.
        for (let k = 0; k < 300 && told === null; k++) {
          const stop = new AbortController();
          const timer = setTimeout(() => stop.abort(), childSync ? 200 : PATIENCE);
          try {
            await b.acquire({ signal: stop.signal });
            b.release();
            told = 'granted';
          } catch (e) {
            if (!stop.signal.aborted || e instanceof DeadlockError) told = e;
          } finally {
            clearTimeout(timer);
          }
        }
        a.release();
      });
      try {
        assert.ok(told instanceof DeadlockError, `told: ${told}`);
        assert.match(
          told.message,
          /^Deadlock: process 'MainProcess' \(pid \d+\) waits for Lock [\d.]+ held by process 'tasker' \(pid \d+\), which waits for Lock [\d.]+ held by process 'MainProcess' \(pid \d+\)$/,
        );
        assert.equal(told.cycle.length, 2);
        assert.equal(await out.get({ timeout: PATIENCE }), 'child got a');
      } finally {
        await joined(p);
      }
      assert.deepEqual([a.locked(), b.locked()], [false, false]);
    });
  }

  test('both parked in acquireSync: the one that closes it is told', async () => {
    const a = new Lock();
    const b = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    a.acquireSync();
    const p = new Process({
      target: taskHoldBThenTakeA,
      args: [a, b, ready, true, out],
      name: 'tasker',
    });
    p.start();
    try {
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      // The child's acquireSync of a may reach the broker after this one: either is told.
      let told: unknown = null;
      try {
        b.acquireSync();
      } catch (e) {
        told = e;
      }
      if (told !== null) {
        assert.ok(told instanceof DeadlockError);
        a.release();
        assert.equal(await out.get({ timeout: PATIENCE }), 'child got a');
      } else {
        assert.match(await out.get({ timeout: PATIENCE }), /^child: DeadlockError: Deadlock: /);
        b.release();
        a.release();
      }
    } finally {
      await joined(p);
    }
    assert.deepEqual([a.locked(), b.locked()], [false, false]);
  });

  test('a cycle of three processes, each link a task holding one lock and awaiting the next', async () => {
    const [l1, l2, l3] = [new Lock(), new Lock(), new Lock()];
    const ready1 = new Event();
    const ready2 = new Event();
    const out = new Queue<string>();
    // p2 holds l2 and awaits l3 (the parent's); p1 holds l1 and awaits l2; the parent awaits l1.
    const p2 = new Process({
      target: holdThenAwait,
      args: [l2, l3, ready2, out, 'p2'],
      name: 'p2',
    });
    const p1 = new Process({
      target: holdThenAwait,
      args: [l1, l2, ready1, out, 'p1'],
      name: 'p1',
    });
    let told: unknown = null;
    await run(async () => {
      await l3.acquire();
      p2.start();
      assert.equal(await ready2.wait({ timeout: PATIENCE }), true);
      p1.start();
      assert.equal(await ready1.wait({ timeout: PATIENCE }), true);
      try {
        await l1.acquire();
        l1.release();
      } catch (e) {
        told = e;
      }
      l3.release();
    });
    try {
      assert.ok(told instanceof DeadlockError, `told: ${told}`);
      assert.match(
        told.message,
        /^Deadlock: process 'MainProcess' \(pid \d+\) waits for Lock [\d.]+ held by process 'p1' \(pid \d+\), which waits for Lock [\d.]+ held by process 'p2' \(pid \d+\), which waits for Lock [\d.]+ held by process 'MainProcess' \(pid \d+\)$/,
      );
      assert.equal(told.cycle.length, 3);
      // Two processes put these: their order is not asserted.
      const said = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
      assert.deepEqual(said.sort(), ['p1 got it', 'p2 got it']);
    } finally {
      await joined(p1, p2);
    }
    assert.deepEqual(
      [l1, l2, l3].map((l) => l.locked()),
      [false, false, false],
    );
  });

  test('the waiting process has other waiting tasks too: the cycle through the right one is told', async () => {
    const a = new Lock();
    const b = new Lock();
    const d = new Lock();
    const e = new Lock();
    const readyB = new Event();
    const readyD = new Event();
    const out = new Queue<string>();
    // Child: one task holds d and awaits e (the parent's, no cycle); another holds b and awaits a.
    const pd = new Process({ target: holdThenAwait, args: [d, e, readyD, out, 'd'], name: 'pd' });
    const pb = new Process({
      target: taskHoldBThenTakeA,
      args: [a, b, readyB, false, out],
      name: 'tasker',
    });
    let told: unknown = null;
    await run(async () => {
      await a.acquire();
      const holdE = createTask(async () => {
        await e.acquire();
        // A task of this process waits for d (pd's), which waits for e, held by holdE: none of
        // it is on the a/b cycle.
        pd.start();
        assert.equal(await readyD.wait({ timeout: PATIENCE }), true);
      });
      await holdE;
      const waitD = createTask(async () => {
        try {
          await d.acquire();
          d.release();
          return 'got d';
        } catch (err) {
          return `waitD: ${(err as Error).name}`;
        }
      });
      await sleep(0);
      pb.start();
      assert.equal(await readyB.wait({ timeout: PATIENCE }), true);
      try {
        await b.acquire();
        b.release();
      } catch (err) {
        told = err;
      }
      a.release();
      e.release();
      // pd gets e, lets go of d, and waitD gets it.
      assert.equal(await waitD, 'got d');
    });
    try {
      assert.ok(told instanceof DeadlockError, `told: ${told}`);
      assert.match(told.message, /held by process 'tasker'/);
      assert.equal(told.cycle.length, 2);
      const got = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
      assert.deepEqual(got.sort(), ['child got a', 'd got it']);
    } finally {
      await joined(pb, pd);
    }
    assert.deepEqual(
      [a, b, d, e].map((l) => l.locked()),
      [false, false, false, false],
    );
  });
});

describe('an RLock re-entered by another task of its thread', () => {
  test('task 1 takes r, task 2 re-enters it and task 1 gives its level back; a child task holds a and awaits r; task 2 awaiting a is told', async () => {
    const r = new RLock();
    const a = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    const p = new Process({
      target: holdThenAwait,
      args: [a, r, ready, out, 'child'],
      name: 'child',
    });
    let told: unknown = null;
    await run(async () => {
      await createTask(async () => {
        await r.acquire();
      });
      p.start();
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      await createTask(async () => {
        await r.acquire();
        // The thread's first level (task 1's) goes: task 2 holds r now.
        r.release();
        // A cycle: a hang without the walk; bounded, so that a miss fails instead of hanging.
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), 20_000);
        try {
          await a.acquire({ signal: stop.signal });
          a.release();
          told = 'granted';
        } catch (e) {
          told = stop.signal.aborted && !(e instanceof DeadlockError) ? 'not told (hung)' : e;
        } finally {
          clearTimeout(timer);
          r.release();
        }
      });
    });
    try {
      assert.ok(told instanceof DeadlockError, `told: ${told}`);
      assert.match(
        told.message,
        /^Deadlock: process 'MainProcess' \(pid \d+\) waits for Lock [\d.]+ held by process 'child' \(pid \d+\), which waits for RLock [\d.]+ held by process 'MainProcess' \(pid \d+\)$/,
      );
      assert.equal(await out.get({ timeout: PATIENCE }), 'child got it');
    } finally {
      await joined(p);
    }
    assert.deepEqual([r.locked(), a.locked()], [false, false]);
  });
});

describe('an RLock a Condition wait gives up and takes back', () => {
  // Tasks A and B hold r (B re-entered it); A's Condition wait gives up every level; task C takes
  // r meanwhile; A's wait times out and takes r back (a re-entry: C holds it) for the tasks that
  // held it. helper-176 found the set then lost A and B (a set added to a set as one task): the
  // cycle below hung.
  test('a cycle through r afterwards is still told (A awaits y; the child holds y and awaits r)', async () => {
    const r = new RLock();
    const cv = new Condition(r);
    const y = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    const p = new Process({
      target: holdThenAwait,
      args: [y, r, ready, out, 'child'],
      name: 'child',
    });
    let told: unknown = null;
    await run(async () => {
      const signal = () => {
        let set!: () => void;
        const p = new Promise<void>((res) => {
          set = res;
        });
        return { p, set };
      };
      const [aHolds, bHolds, aWaiting, aBack, childReady, aDone] = [
        signal(),
        signal(),
        signal(),
        signal(),
        signal(),
        signal(),
      ];
      const A = createTask(async () => {
        await r.acquire();
        aHolds.set();
        await bHolds.p;
        const w = cv.wait({ timeout: 300 });
        aWaiting.set();
        await w;
        aBack.set();
        await childReady.p;
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), 20_000);
        try {
          await y.acquire({ signal: stop.signal });
          y.release();
          told = 'granted';
        } catch (e) {
          told = stop.signal.aborted && !(e instanceof DeadlockError) ? 'not told (hung)' : e;
        } finally {
          clearTimeout(timer);
          aDone.set();
          r.release();
          r.release();
        }
      });
      const B = createTask(async () => {
        await aHolds.p;
        await r.acquire();
        bHolds.set();
      });
      const C = createTask(async () => {
        await aWaiting.p;
        await r.acquire();
        await aDone.p;
        r.release();
      });
      await aBack.p;
      p.start();
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      await sleep(100);
      childReady.set();
      await A;
      await B;
      await C;
    });
    try {
      assert.ok(told instanceof DeadlockError, `told: ${told}`);
      assert.equal(await out.get({ timeout: PATIENCE }), 'child got it');
    } finally {
      await joined(p);
    }
    assert.deepEqual([r.locked(), y.locked()], [false, false]);
  });
});

describe('a wait through a lock held by another task of a process is not told (not certain)', () => {
  test('the child holds a in one task and awaits b in another: the parent awaiting a waits, and gets it', async () => {
    const a = new Lock();
    const b = new Lock();
    const ready = new Event();
    const letGo = new Event();
    const out = new Queue<string>();
    const p = new Process({
      target: holdAInOneTaskAwaitBInAnother,
      args: [a, b, ready, letGo, out],
      name: 'two-tasks',
    });
    let got: unknown = null;
    await run(async () => {
      await b.acquire();
      p.start();
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      // The broker walks this wait before it sees the `set` (one connection, in order): the
      // child's task holding a waits for nothing, so this is no cycle — that task lets go of a.
      const wait = a.acquire();
      letGo.set();
      try {
        got = await wait;
        a.release();
      } catch (e) {
        got = e;
      }
      b.release();
    });
    try {
      assert.equal(got, true, `the parent's wait for a: ${got}`);
      const said = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
      assert.deepEqual(said, ['holder done', 'b waiter: got b']);
    } finally {
      await joined(p);
    }
    assert.deepEqual([a.locked(), b.locked()], [false, false]);
  });
});

describe('the task word of a lock whose release goes to the broker', () => {
  test('stays its holding task while the word names its thread', {
    skip: !slabExpected,
  }, async () => {
    const l = new Lock();
    const other = new Lock();
    const ready = new Event();
    const out = new Queue<string>();
    const i = wordIndex(l._params.slot as number);
    const p = new Process({ target: holdThenAwait, args: [other, l, ready, out, 'waiter'] });
    await run(async () => {
      await l.acquire();
      const a = fastSlab() as Int32Array;
      assert.ok(a !== null);
      const task = Atomics.load(a, i + 1);
      assert.notEqual(task, 0, 'taken in a task');
      // A child waits for it at the broker: WAITERS is set, so the release below goes there.
      p.start();
      assert.equal(await ready.wait({ timeout: PATIENCE }), true);
      l.release();
      // Until the broker hands it over, the word names this thread, and a walk reads the lock
      // as this task's (0 would be blocking code's: the thread's own, whatever its tasks do).
      const w = Atomics.load(a, i);
      const t = Atomics.load(a, i + 1);
      if ((w & HOLDER) === slabSession()) assert.equal(t, task);
    });
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), 'waiter got it');
    } finally {
      await joined(p);
    }
    assert.equal(l.locked(), false);
  });
});
