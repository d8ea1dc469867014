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

  // Both sleeps are armed in the same turn of Node's loop, so Node gives them the same start
  // time and they are due in the same timers phase (its clock is read once per turn).
  test('sleeps that end together wake their tasks in one iteration, before what either queues', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const out: string[] = [];
      // Both sleeps must start in one turn of Node's loop (its clock moves between turns), or
      // they end at different moments: they start from one wake-up, after a timer has given the
      // scheduler a fresh turn (a loaded machine could otherwise split the tasks' first steps).
      const go = new Event();
      const make = (n: string) =>
        createTask(async () => {
          await go.wait();
          await sleep(10);
          loop.callSoon(() => out.push(`${n} callback`));
          out.push(`${n} woke`);
          await sleep(0);
          out.push(`${n} after yield`);
        });
      const both = gather(make('A'), make('B'));
      await sleep(5);
      go.set();
      await both;
      // CPython 3.11 prints the same.
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

  test('TaskGroup children failing after sleeps that end together are all in the group', async () => {
    await run(async () => {
      await assert.rejects(
        TaskGroup.run(async (tg) => {
          // As above: both sleeps start from one wake-up, so they end at the same moment.
          const go = new Event();
          for (const n of ['x1', 'x2']) {
            tg.createTask(async () => {
              await go.wait();
              await sleep(2);
              throw new Error(n);
            });
          }
          await sleep(5);
          go.set();
          await sleep(10_000);
        }),
        (e: unknown) => {
          assert.ok(e instanceof ExceptionGroup, `got ${String(e)}`);
          assert.deepEqual(
            e.exceptions.map((x) => (x as Error).message),
            ['x1', 'x2'],
          );
          return true;
        },
      );
    });
  });
});
