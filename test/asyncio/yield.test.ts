/**
 * `sleep(0)` inside a task takes a path of its own (src/internal/yield.ts), and a resume at the
 * head of the ready queue runs as soon as the step ahead of it ends (src/internal/scheduler.ts).
 * Both must keep CPython's semantics: every ready task runs one step before the yielding task
 * resumes, a cancel during the yield raises there, lock hand-offs stay FIFO.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  createTask,
  currentTask,
  gather,
  Lock,
  run,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** One step of a test program: yield with sleep(0), acquire the lock, release it. */
type Op = 'y' | 'a' | 'r';

/**
 * CPython's ready queue, written out: tasks start in creation order; `sleep(0)` puts the task
 * at the back of the queue; a release hands the lock to the first waiter and queues it.
 * Logs `i.` when task i resumes from a yield, `i+` when it holds the lock, `i-` at a release.
 */
function cpythonOrder(programs: Op[][]): string[] {
  const log: string[] = [];
  const ready = programs.map((_, i) => i);
  const pc = programs.map(() => 0);
  const suspended = programs.map(() => false);
  const waiters: number[] = [];
  let holder = -1;
  for (let t = ready.shift(); t !== undefined; t = ready.shift()) {
    const prog = programs[t] as Op[];
    while ((pc[t] as number) < prog.length) {
      const op = prog[pc[t] as number];
      if (op === 'y') {
        if (!suspended[t]) {
          suspended[t] = true;
          ready.push(t);
          break;
        }
        suspended[t] = false;
        log.push(`${t}.`);
      } else if (op === 'a') {
        if (suspended[t]) suspended[t] = false;
        else if (holder === -1) holder = t;
        else {
          waiters.push(t);
          suspended[t] = true;
          break;
        }
        log.push(`${t}+`);
      } else {
        log.push(`${t}-`);
        const w = waiters.shift();
        holder = w ?? -1;
        if (w !== undefined) ready.push(w);
      }
      pc[t] = (pc[t] as number) + 1;
    }
  }
  return log;
}

/** Runs the programs as weft tasks; `yieldOnce` is the sleep(0) to use. */
async function weftOrder(programs: Op[][], yieldOnce: () => Promise<unknown>): Promise<string[]> {
  const log: string[] = [];
  await run(async () => {
    const lock = new Lock();
    await gather(
      ...programs.map((prog, i) =>
        createTask(async () => {
          for (const op of prog) {
            if (op === 'y') {
              await yieldOnce();
              log.push(`${i}.`);
            } else if (op === 'a') {
              await lock.acquire();
              log.push(`${i}+`);
            } else {
              log.push(`${i}-`);
              lock.release();
            }
          }
        }),
      ),
    );
    assert.equal(lock.locked(), false);
  });
  return log;
}

/** A program: rounds of some yields, then maybe a locked section with yields inside. */
const program = fc
  .array(
    fc.record({
      before: fc.integer({ min: 0, max: 2 }),
      locked: fc.boolean(),
      inside: fc.integer({ min: 0, max: 2 }),
    }),
    { maxLength: 4 },
  )
  .map((rounds) => {
    const ops: Op[] = [];
    for (const r of rounds) {
      for (let k = 0; k < r.before; k++) ops.push('y');
      if (!r.locked) continue;
      ops.push('a');
      for (let k = 0; k < r.inside; k++) ops.push('y');
      ops.push('r');
    }
    return ops;
  });

describe('sleep(0) and lock hand-offs', () => {
  test('wake order of tasks mixing sleep(0) and a lock is CPython 3.11’s', async () => {
    // The same program under CPython 3.11 prints this log.
    const log: string[] = [];
    await run(async () => {
      const lock = new Lock();
      const locker = async (name: string, rounds: number, inner: number) => {
        for (let k = 0; k < rounds; k++) {
          await lock.acquire();
          log.push(`${name}${k}+`);
          for (let j = 0; j < inner; j++) {
            await sleep(0);
            log.push(`${name}${k}.`);
          }
          lock.release();
          await sleep(0);
        }
        log.push(`${name}$`);
      };
      const yielder = async (name: string, rounds: number) => {
        for (let k = 0; k < rounds; k++) {
          log.push(`${name}${k}`);
          await sleep(0);
        }
      };
      await gather(
        createTask(() => locker('a', 3, 1)),
        createTask(() => yielder('y', 6)),
        createTask(() => locker('b', 2, 2)),
        createTask(() => locker('c', 3, 0)),
      );
    });
    assert.equal(
      log.join(' '),
      'a0+ y0 a0. y1 b0+ y2 b0. y3 b0. y4 c0+ y5 a1+ a1. b1+ b1. b1. c1+ b$ a2+ a2. c2+ a$ c$',
    );
  });

  test('property: random programs of sleep(0) and lock sections run in CPython’s order', async () => {
    const never = new AbortController().signal;
    await fc.assert(
      fc.asyncProperty(fc.array(program, { minLength: 1, maxLength: 6 }), async (programs) => {
        const expected = cpythonOrder(programs);
        // The task's own sleep(0) path, and the general one (a signal makes sleep use a Waiter).
        assert.deepEqual(await weftOrder(programs, () => sleep(0)), expected);
        assert.deepEqual(
          await weftOrder(programs, () => sleep(0, undefined, { signal: never })),
          expected,
        );
      }),
      { numRuns: 80 },
    );
  });

  test('cancelling a task in sleep(0) raises CancelledError at that sleep', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        try {
          await sleep(0);
          log.push('slept');
        } catch (e) {
          log.push(`${(e as Error).name}: ${(e as Error).message}`);
          throw e;
        }
      });
      await sleep(0); // t starts and yields; this task resumes before t does
      assert.equal(t.cancel('stop'), true);
      await assert.rejects(t, CancelledError);
      assert.deepEqual(log, ['CancelledError: stop']);
      assert.equal(t.cancelled(), true);
    });
  });

  test('a cancel requested while the task runs is delivered at its next sleep(0)', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        currentTask()?.cancel();
        log.push('still running');
        await sleep(0);
        log.push('not reached');
      });
      await assert.rejects(t, CancelledError);
      assert.deepEqual(log, ['still running']);
    });
  });

  test('a task that catches the CancelledError of a sleep(0) yields again normally', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        try {
          await sleep(0);
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          log.push('caught');
          currentTask()?.uncancel();
        }
        for (let i = 0; i < 3; i++) log.push(`slept ${await sleep(0, i)}`);
        return 'done';
      });
      await sleep(0);
      t.cancel();
      assert.equal(await t, 'done');
      assert.deepEqual(log, ['caught', 'slept 0', 'slept 1', 'slept 2']);
    });
  });

  test('a holder cancelled in sleep(0) passes the lock to the next waiter, in FIFO order', async () => {
    await run(async () => {
      const lock = new Lock();
      const got: string[] = [];
      const holder = createTask(async () => {
        await lock.acquire();
        try {
          await sleep(0);
          await sleep(0);
          got.push('holder finished');
        } finally {
          lock.release();
        }
      });
      const waiter = (name: string) =>
        createTask(async () => {
          await lock.acquire();
          got.push(name);
          await sleep(0);
          lock.release();
        });
      const b = waiter('b');
      const c = waiter('c');
      await sleep(0); // holder takes the lock and yields; b and c queue on the lock
      holder.cancel();
      await assert.rejects(holder, CancelledError);
      await gather(b, c);
      assert.deepEqual(got, ['b', 'c']);
      assert.equal(lock.locked(), false);
    });
  });

  test('a waiter cancelled after the lock was handed to it passes it on', async () => {
    await run(async () => {
      const lock = new Lock();
      const got: string[] = [];
      await lock.acquire();
      const b = createTask(async () => {
        await lock.acquire();
        got.push('b');
        lock.release();
      });
      const c = createTask(async () => {
        await lock.acquire();
        got.push('c');
        lock.release();
      });
      await sleep(0); // b and c wait
      lock.release(); // hands the lock to b, whose resume is queued
      b.cancel(); // before b resumes: the grant goes to c
      await assert.rejects(b, CancelledError);
      await c;
      assert.deepEqual(got, ['c']);
      assert.equal(lock.locked(), false);
    });
  });

  test('two sleep(0) of one task in flight at once both resolve, in order', async () => {
    await run(async () => {
      const order: string[] = [];
      const other = createTask(async () => {
        order.push('other');
      });
      const a = sleep(0, 'a').then((v) => order.push(v));
      const b = sleep(0, 'b').then((v) => order.push(v));
      await Promise.all([a, b]);
      await other;
      assert.deepEqual(order, ['other', 'a', 'b']);
    });
  });

  test('sleep(0) outside every task yields and resolves to its value', async () => {
    assert.equal(await sleep(0, 42), 42);
  });
});

// With nothing else ready, a task's sleep(0) goes on in place (scheduler.ts, `yieldInPlace`):
// no promise of its own, its step still in flight. These pin what that path must keep.
describe('sleep(0) of a lone task', () => {
  test('a lone task spinning on sleep(0) still lets a timer fire', async () => {
    await run(async () => {
      let fired = false;
      const timer = setTimeout(() => {
        fired = true;
      }, 5);
      let n = 0;
      // Bounded, so that a starved timer fails the test instead of hanging it: a turn's budget
      // is 4,096 callbacks, and 5 ms of yields is far below this bound.
      while (!fired && n < 20_000_000) {
        await sleep(0);
        n++;
      }
      clearTimeout(timer);
      assert.equal(fired, true, `the timer had not fired after ${n} yields`);
    });
  });

  test('microtasks queued before a lone sleep(0) run before it resumes', async () => {
    await run(async () => {
      const log: string[] = [];
      void Promise.resolve().then(() => log.push('microtask'));
      await sleep(0);
      log.push('resumed');
      assert.deepEqual(log, ['microtask', 'resumed']);
    });
  });

  test('a task created just before sleep(0) runs its first step before the yielder resumes', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        log.push('child step 1');
        await sleep(0);
        log.push('child step 2');
      });
      await sleep(0);
      log.push('parent resumed');
      await t;
      assert.deepEqual(log, ['child step 1', 'parent resumed', 'child step 2']);
    });
  });

  test('a lone sleep(0) with a value resolves to it, and a pending cancel still raises there', async () => {
    await run(async () => {
      assert.equal(await sleep(0, 'v'), 'v');
      const t = createTask(async () => {
        for (let i = 0; i < 3; i++) await sleep(0);
        currentTask()?.cancel('now');
        await sleep(0);
        return 'not cancelled';
      });
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'now');
    });
  });
});
