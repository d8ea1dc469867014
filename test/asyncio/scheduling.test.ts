/**
 * The ready queue behaves as CPython's: a woken task runs until its next real suspension before
 * the next woken task resumes, and tasks that wake each other for ever cannot starve timers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createTask,
  Event,
  ExceptionGroup,
  Future,
  gather,
  getRunningLoop,
  Lock,
  run,
  Semaphore,
  sleep,
  TaskGroup,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('scheduling', () => {
  test('woken tasks run one step each, in wake order, across non-suspending awaits', async () => {
    await run(async () => {
      const ev = new Event();
      const done = new Future<void>();
      done.setResult(undefined);
      const log: string[] = [];
      const waiter = (name: string) => async () => {
        await ev.wait();
        log.push(`${name}1`);
        await done; // already done: does not suspend in Python
        await Promise.resolve(); // a native await that settles at once
        log.push(`${name}2`);
        await sleep(0);
        log.push(`${name}3`);
      };
      const tasks = ['a', 'b', 'c'].map((n) => createTask(waiter(n)));
      await sleep(0);
      ev.set();
      await gather(...tasks);
      assert.deepEqual(log, ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'a3', 'b3', 'c3']);
    });
  });

  test('a releasing task keeps running until it suspends (no preemption at release)', async () => {
    await run(async () => {
      const sem = new Semaphore(0);
      const log: string[] = [];
      const t = createTask(async () => {
        await sem.acquire();
        log.push('waiter resumed');
      });
      await sleep(0);
      sem.release();
      log.push('releaser continues');
      await Promise.resolve();
      log.push('releaser still running');
      await sleep(0);
      await t;
      assert.deepEqual(log, ['releaser continues', 'releaser still running', 'waiter resumed']);
    });
  });

  test('tasks ping-ponging through sleep(0) do not starve a timer', async () => {
    await run(async () => {
      let stop = false;
      setTimeout(() => {
        stop = true;
      }, 5);
      const spin = async () => {
        let n = 0;
        while (!stop) {
          await sleep(0);
          n++;
        }
        return n;
      };
      const [a, b] = await gather(spin, spin);
      assert.ok(a > 0 && b > 0);
    });
  });

  test('a wait that an ended task made and did not await does not hold the ready queue when it resumes', async () => {
    // Its resume began a step of the ended task that no suspension would end: every task ready
    // behind it waited for the watchdog's immediate (here, B's yield came after an immediate
    // queued before either task was made).
    for (const kind of ['sleep(0)', 'lock.acquire()', 'future.then()']) {
      const order: string[] = [];
      await run(async () => {
        const lock = new Lock();
        const fut = new Future<number>();
        await lock.acquire();
        setImmediate(() => order.push('immediate'));
        const a = createTask(async () => {
          if (kind === 'sleep(0)') void sleep(0);
          else if (kind === 'lock.acquire()') void lock.acquire();
          else void fut.then(() => {});
          return 1;
        });
        const b = createTask(async () => {
          lock.release();
          fut.setResult(1);
          await sleep(0);
          order.push('B after its yield');
        });
        await gather(a, b);
        order.push('gathered');
        await new Promise((resolve) => setImmediate(resolve));
        if (kind === 'lock.acquire()') lock.release(); // A's acquire got it after A ended
      });
      assert.deepEqual(order, ['B after its yield', 'gathered', 'immediate'], kind);
    }
  });

  test('create order is start order', async () => {
    await run(async () => {
      const log: number[] = [];
      const tasks = Array.from({ length: 20 }, (_, i) => createTask(async () => log.push(i)));
      await gather(...tasks);
      assert.deepEqual(
        log,
        Array.from({ length: 20 }, (_, i) => i),
      );
    });
  });

  test('a task waiting on a native promise does not hold the others up', async () => {
    await run(async () => {
      const log: string[] = [];
      // The native promise settles once 'fast' has run (or, should weft wait for it, after 2 s:
      // then 'slow' comes first and the test fails instead of hanging). A native timer of
      // 20 ms raced fast's sleep(1), armed only after the watchdog ended slow's step.
      let release!: () => void;
      const native = new Promise<void>((r) => {
        release = r;
      });
      const fallback = setTimeout(() => release(), 2000);
      const slow = createTask(async () => {
        await native;
        log.push('slow');
      });
      const fast = createTask(async () => {
        await sleep(1);
        log.push('fast');
        release();
      });
      await gather(slow, fast);
      clearTimeout(fallback);
      assert.deepEqual(log, ['fast', 'slow']);
    });
  });

  // Two timers armed together are due in the same timers phase of Node's loop only when Node
  // reads the same clock for both (it reads it afresh on each setTimeout: on a loaded machine a
  // millisecond may pass in between, and the second then fires a turn later — as in CPython,
  // whose timers a millisecond apart fire in two iterations too). So each test arms a pair of
  // timers until one pair fires in one phase (the first callback's setImmediate has not run when
  // the second fires), and asserts what weft guarantees then. Timers are `loop.callLater`: the
  // path every weft timer (sleep, timeout, waitFor) calls back through.
  async function whenDueTogether<T>(
    attempt: (due: [Future<void>, Future<void>]) => Promise<T>,
  ): Promise<T> {
    const loop = getRunningLoop();
    for (let i = 0; i < 50; i++) {
      const due: [Future<void>, Future<void>] = [loop.createFuture(), loop.createFuture()];
      let firstPhase = false;
      let together = false;
      loop.callLater(10, () => {
        firstPhase = true;
        setImmediate(() => {
          firstPhase = false;
        });
        due[0].setResult();
      });
      loop.callLater(10, () => {
        together = firstPhase;
        due[1].setResult();
      });
      const result = await attempt(due);
      if (together) return result;
    }
    throw new Error('50 pairs of timers armed together never fired in one phase');
  }

  test('timers due together wake their tasks in one iteration, before what either queues', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const out = await whenDueTogether(async ([a, b]) => {
        const out: string[] = [];
        const make = (n: string, f: Future<void>) =>
          createTask(async () => {
            await f;
            loop.callSoon(() => out.push(`${n} callback`));
            out.push(`${n} woke`);
            await sleep(0);
            out.push(`${n} after yield`);
          });
        await gather(make('A', a), make('B', b));
        await sleep(0);
        return out;
      });
      // CPython 3.11 prints the same (call_later(0.01, f.set_result, None) for each).
      assert.deepEqual(out, [
        'A woke',
        'B woke',
        'A callback',
        'A after yield',
        'B callback',
        'B after yield',
      ]);
    });
  });

  test('TaskGroup children failing after timers due together are all in the group', async () => {
    await run(async () => {
      const errors = await whenDueTogether(async (due) => {
        try {
          await TaskGroup.run(async (tg) => {
            ['x1', 'x2'].forEach((n, i) => {
              tg.createTask(async () => {
                await due[i];
                throw new Error(n);
              });
            });
            await sleep(10_000);
          });
        } catch (e) {
          assert.ok(e instanceof ExceptionGroup, `got ${String(e)}`);
          return e.exceptions.map((x) => (x as Error).message);
        }
        throw new Error('the group raised nothing');
      });
      assert.deepEqual(errors, ['x1', 'x2']);
    });
  });
});
