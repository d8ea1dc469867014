/**
 * asyncio Barrier: CPython's test_locks.BarrierTests (filling, draining, reset and abort in every
 * state), the exact wake-up order of CPython's ready queue (logs checked against CPython 3.11),
 * and weft's additions from threading: `action`, `timeout`, plus `signal`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  createTask,
  gather,
  run,
  sleep,
  type Task,
  wait,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const N = 5;

/** White-box views of the state machine (CPython's tests read `repr()` and `_count`). */
function stateOf(b: Barrier): 'filling' | 'draining' | 'resetting' | 'broken' {
  return (['filling', 'draining', 'resetting', 'broken'] as const)[
    (b as unknown as { state: number }).state
  ]!;
}
function countOf(b: Barrier): number {
  return (b as unknown as { count: number }).count;
}

function makeTasks<T>(n: number, body: () => Promise<T>): Task<Awaited<T>>[] {
  return Array.from({ length: n }, () => createTask(body));
}

describe('Barrier', () => {
  test('constructor refuses parties < 1, non-integers and a bad action or timeout', () => {
    // CPython test_barrier_parties.
    assert.throws(
      () => new Barrier(0),
      (e: unknown) => e instanceof RangeError && /parties must be > 0: received 0/.test(e.message),
    );
    assert.throws(() => new Barrier(-4), RangeError);
    assert.throws(
      () => new Barrier(2.5),
      (e: unknown) => e instanceof TypeError && /must be an integer: received 2.5/.test(e.message),
    );
    assert.throws(() => new Barrier('3' as unknown as number), TypeError);
    assert.throws(
      () => new Barrier(2, { action: 'go' as unknown as () => void }),
      (e: unknown) => e instanceof TypeError && /action must be a function/.test(e.message),
    );
    assert.throws(
      () => new Barrier(2, { timeout: 'x' as unknown as number }),
      (e: unknown) => e instanceof TypeError && /timeout must be a number/.test(e.message),
    );
    const b = new Barrier(N);
    assert.equal(b.parties, N);
    assert.equal(b.nWaiting, 0);
    assert.equal(b.broken, false);
    assert.equal(stateOf(b), 'filling');
  });

  test('wait resolves every party with a distinct arrival index', async () => {
    // CPython test_context_manager.
    await run(async () => {
      const b = new Barrier(3);
      const results = await gather(...makeTasks(3, () => b.wait()));
      assert.deepEqual([...results].sort(), [0, 1, 2]);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test('a barrier of one party passes at once, every time', async () => {
    // CPython test_filling_one_task / test_filling_one_task_twice.
    await run(async () => {
      const b = new Barrier(1);
      assert.equal(await b.wait(), 0);
      const t1 = createTask(() => b.wait());
      await sleep(0);
      assert.equal(b.nWaiting, 0);
      const t2 = createTask(() => b.wait());
      await sleep(0);
      assert.ok(t1.done() && t2.done());
      assert.equal(t1.result(), t2.result());
      assert.equal(b.broken, false);
    });
  });

  test('nWaiting counts the tasks filling the barrier', async () => {
    // CPython test_filling_task_by_task.
    await run(async () => {
      const b = new Barrier(3);
      const t1 = createTask(() => b.wait());
      await sleep(0);
      assert.equal(b.nWaiting, 1);
      assert.equal(stateOf(b), 'filling');
      const t2 = createTask(() => b.wait());
      await sleep(0);
      assert.equal(b.nWaiting, 2);
      const t3 = createTask(() => b.wait());
      await sleep(0);
      await wait([t1, t2, t3]);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test('rounds come out in CPython order: the last arrival passes first, then the others FIFO', async () => {
    await run(async () => {
      const b = new Barrier(3);
      const log: string[] = [];
      const worker = (name: string) => async () => {
        for (let r = 0; r < 2; r++) {
          log.push(`${name} arrives ${r}`);
          const i = await b.wait();
          log.push(`${name} passes ${r} as ${i}`);
        }
      };
      await gather(...['A', 'B', 'C'].map((n) => createTask(worker(n))));
      // The exact log of CPython 3.11 running the same program.
      assert.deepEqual(log, [
        'A arrives 0',
        'B arrives 0',
        'C arrives 0',
        'C passes 0 as 2',
        'C arrives 1',
        'A passes 0 as 0',
        'A arrives 1',
        'B passes 0 as 1',
        'B arrives 1',
        'A passes 1 as 2',
        'B passes 1 as 0',
        'C passes 1 as 1',
      ]);
    });
  });

  test('tasks arriving while a round drains wait for the next round', async () => {
    await run(async () => {
      const b = new Barrier(2);
      const log: string[] = [];
      const w = (name: string) => async () => {
        log.push(`${name} arrives`);
        const i = await b.wait();
        log.push(`${name} passes as ${i} nWaiting=${b.nWaiting}`);
      };
      await gather(...['A', 'B', 'C', 'D'].map((n) => createTask(w(n))));
      // CPython 3.11's log: C and D, arriving while A is still draining, form round two.
      assert.deepEqual(log, [
        'A arrives',
        'B arrives',
        'B passes as 1 nWaiting=0',
        'C arrives',
        'D arrives',
        'A passes as 0 nWaiting=0',
        'D passes as 1 nWaiting=0',
        'C passes as 0 nWaiting=0',
      ]);
    });
  });

  test('released tasks each run until they suspend before the next resumes', async () => {
    await run(async () => {
      const b = new Barrier(3);
      const log: string[] = [];
      const w = (name: string) => async () => {
        const i = await b.wait();
        log.push(`${name}${i} a`);
        await sleep(0);
        log.push(`${name}${i} b`);
      };
      await gather(...['A', 'B', 'C'].map((n) => createTask(w(n))));
      assert.deepEqual(log, ['C2 a', 'A0 a', 'B1 a', 'C2 b', 'A0 b', 'B1 b']);
    });
  });

  test('tasks pass the barrier twice in a row', async () => {
    // CPython test_filling_tasks_wait_twice / test_filling_tasks_check_return_value.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const res = await gather(
        ...makeTasks(N, async () => {
          await b.wait();
          results1.push(true);
          const i = await b.wait();
          results2.push(true);
          return i;
        }),
      );
      assert.equal(results1.length, N);
      assert.equal(results2.length, N);
      assert.deepEqual([...res].sort(), [0, 1, 2, 3, 4]);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test('the barrier drains until the last task leaves, then fills again', async () => {
    // CPython test_draining_state.
    await run(async () => {
      const b = new Barrier(N);
      const draining: boolean[] = [];
      await gather(
        ...makeTasks(N, async () => {
          await b.wait();
          draining.push(stateOf(b) === 'draining');
        }),
      );
      assert.deepEqual(draining, [true, true, true, true, false]);
      assert.equal(stateOf(b), 'filling');
    });
  });

  test('tasks waiting again while others drain block until the draining ends', async () => {
    // CPython test_blocking_tasks_while_draining.
    await run(async () => {
      const rewait = 2;
      const b = new Barrier(N);
      const others = new Barrier(N - rewait);
      let rewaitN = rewait;
      await gather(
        ...makeTasks(N, async () => {
          await b.wait();
          if (rewaitN > 0) {
            rewaitN--;
            await b.wait();
          } else {
            await others.wait();
            await b.wait();
          }
        }),
      );
      assert.equal(b.broken, false);
      assert.equal(b.nWaiting, 0);
    });
  });

  test('a task cancelled while waiting leaves the barrier; the others still need a full round', async () => {
    // CPython test_filling_tasks_cancel_one.
    await run(async () => {
      const b = new Barrier(3);
      const results: boolean[] = [];
      const coro = async () => {
        await b.wait();
        results.push(true);
      };
      const t1 = createTask(coro);
      await sleep(0);
      assert.equal(b.nWaiting, 1);
      const t2 = createTask(coro);
      await sleep(0);
      assert.equal(b.nWaiting, 2);
      t1.cancel();
      await sleep(0);
      assert.equal(b.nWaiting, 1);
      await assert.rejects(t1, CancelledError);
      assert.ok(t1.cancelled());
      const t3 = createTask(coro);
      await sleep(0);
      assert.equal(b.nWaiting, 2);
      const t4 = createTask(coro);
      await gather(t2, t3, t4);
      assert.deepEqual(results, [true, true, true]);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    });
  });

  test('a task cancelled while blocked behind a draining round leaves no trace', async () => {
    await run(async () => {
      const b = new Barrier(2);
      const log: string[] = [];
      const a = createTask(async () => log.push(`a ${await b.wait()}`));
      const c = createTask(async () => log.push(`c ${await b.wait()}`));
      // Arrives while the round drains, then is cancelled there.
      const late = createTask(() => b.wait());
      await sleep(0);
      late.cancel();
      await gather(a, c);
      await assert.rejects(late, CancelledError);
      assert.equal(countOf(b), 0);
      assert.equal(stateOf(b), 'filling');
      const again = await gather(...makeTasks(2, () => b.wait()));
      assert.deepEqual([...again].sort(), [0, 1], 'the next round is a clean one');
      assert.deepEqual(log.sort(), ['a 0', 'c 1']);
    });
  });

  test('a task cancelled after the round released it raises CancelledError; the round completes', async () => {
    await run(async () => {
      const b = new Barrier(3);
      const a = createTask(() => b.wait());
      const c = createTask(() => b.wait());
      await sleep(0);
      const last = createTask(async () => {
        const i = await b.wait(); // releases a and c …
        a.cancel(); // … and a is cancelled before it resumes
        return i;
      });
      const [ra, rc, rl] = await gather(a, c, last, { returnExceptions: true });
      assert.ok(ra instanceof CancelledError);
      assert.equal(rc, 1);
      assert.equal(rl, 2);
      assert.equal(countOf(b), 0);
      assert.equal(stateOf(b), 'filling');
      assert.equal(b.broken, false);
      const again = await gather(...makeTasks(3, () => b.wait()));
      assert.deepEqual([...again].sort(), [0, 1, 2]);
    });
  });

  test('reset of an empty barrier keeps it usable', async () => {
    // CPython test_reset_barrier.
    await run(async () => {
      const b = new Barrier(1);
      createTask(() => b.reset());
      await sleep(0);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
      assert.equal(await b.wait(), 0);
    });
  });

  test('reset while tasks wait makes them raise BrokenBarrierError, then the barrier is fresh', async () => {
    // CPython test_reset_barrier_while_tasks_waiting.
    await run(async () => {
      const b = new Barrier(N);
      const results: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await b.wait();
        } catch (e) {
          if (e instanceof BrokenBarrierError) results.push(true);
        }
      });
      await sleep(0);
      createTask(() => b.reset());
      await gather(...tasks);
      assert.equal(results.length, N - 1);
      assert.equal(b.nWaiting, 0);
      assert.notEqual(stateOf(b), 'resetting');
      assert.equal(b.broken, false);
    });
  });

  test('reset while half the tasks have drained breaks only the ones still waiting', async () => {
    // CPython test_reset_barrier_when_tasks_half_draining.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const restOfTasks = Math.floor(N / 2);
      await gather(
        ...makeTasks(N, async () => {
          try {
            await b.wait();
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            results1.push(true);
            return;
          }
          if (restOfTasks === countOf(b)) await b.reset();
        }),
      );
      // The tasks still draining when the reset came raise BrokenBarrierError.
      assert.deepEqual(results1, Array(restOfTasks).fill(true));
      assert.equal(b.nWaiting, 0);
      assert.notEqual(stateOf(b), 'resetting');
      assert.equal(b.broken, false);
    });
  });

  test('reset by a drained task breaks the waiters of the next round, who then refill it', async () => {
    // CPython test_reset_barrier_when_tasks_half_draining_half_blocking.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gather(
        ...makeTasks(N, async () => {
          try {
            await b.wait();
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            results1.push(true);
            await b.wait();
            return;
          }
          count++;
          if (count > blocking) {
            await b.reset();
            await b.wait();
          } else {
            try {
              await b.wait();
            } catch (e) {
              if (e instanceof BrokenBarrierError) results2.push(true);
            }
          }
        }),
      );
      assert.deepEqual(results1, Array(blocking).fill(true));
      assert.deepEqual(results2, []);
      assert.equal(b.nWaiting, 0);
      assert.notEqual(stateOf(b), 'resetting');
      assert.equal(b.broken, false);
    });
  });

  test('tasks broken by a reset can wait again and complete a round', async () => {
    // CPython test_reset_barrier_while_tasks_waiting_and_waiting_again.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await b.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results1.push(true);
        } finally {
          await b.wait();
          results2.push(true);
        }
      });
      createTask(() => b.reset());
      await sleep(0);
      const last = createTask(async () => {
        await b.wait();
        results2.push(true);
      });
      await gather(...tasks, last);
      assert.equal(b.broken, false);
      assert.equal(results1.length, N - 1);
      assert.equal(results2.length, N);
      assert.equal(b.nWaiting, 0);
    });
  });

  test('reset by the last task out while the others wait again does not break them', async () => {
    // CPython test_reset_barrier_while_tasks_draining.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      let count = 0;
      await gather(
        ...makeTasks(N, async () => {
          await b.wait();
          count++;
          if (count === N) {
            await b.reset();
            await b.wait();
          } else {
            try {
              await b.wait();
              results1.push(true);
            } catch {
              results2.push(true);
            }
          }
          await b.wait();
          results3.push(true);
        }),
      );
      assert.equal(b.broken, false);
      assert.equal(results1.length, N - 1);
      assert.equal(results2.length, 0);
      assert.equal(results3.length, N);
      assert.equal(b.nWaiting, 0);
    });
  });

  test('abort breaks the barrier for current and later waiters until reset', async () => {
    // CPython test_abort_barrier.
    await run(async () => {
      const b = new Barrier(1);
      createTask(() => b.abort());
      await sleep(0);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, true);
      await assert.rejects(b.wait(), BrokenBarrierError);
      await b.reset();
      assert.equal(b.broken, false);
      assert.equal(await b.wait(), 0);
    });
  });

  test('abort by a drained task breaks the tasks still draining and the next round', async () => {
    // CPython test_abort_barrier_when_tasks_half_draining_half_blocking.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gather(
        ...makeTasks(N, async () => {
          try {
            await b.wait();
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            results1.push(true);
            return;
          }
          count++;
          if (count > blocking) {
            await b.abort();
          } else {
            try {
              await b.wait();
            } catch (e) {
              if (e instanceof BrokenBarrierError) results2.push(true);
            }
          }
        }),
      );
      assert.equal(b.broken, true);
      assert.deepEqual(results1, Array(blocking).fill(true));
      assert.deepEqual(results2, Array(N - blocking - 1).fill(true));
      assert.equal(b.nWaiting, 0);
    });
  });

  test('a task that fails between rounds and aborts breaks every other task', async () => {
    // CPython test_abort_barrier_when_exception.
    await run(async () => {
      const b = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      await gather(
        ...makeTasks(N, async () => {
          try {
            const i = await b.wait();
            if (i === Math.floor(N / 2)) throw new Error('boom');
            await b.wait();
            results1.push(true);
          } catch (e) {
            if (e instanceof BrokenBarrierError) results2.push(true);
            else await b.abort();
          }
        }),
      );
      assert.equal(b.broken, true);
      assert.equal(results1.length, 0);
      assert.equal(results2.length, N - 1);
      assert.equal(b.nWaiting, 0);
    });
  });

  test('an aborted barrier reset between two other barriers is usable again', async () => {
    // CPython test_abort_barrier_when_exception_then_resetting.
    await run(async () => {
      const b1 = new Barrier(N);
      const b2 = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      await gather(
        ...makeTasks(N, async () => {
          try {
            const i = await b1.wait();
            if (i === Math.floor(N / 2)) throw new Error('boom');
            await b1.wait();
            results1.push(true);
          } catch (e) {
            if (e instanceof BrokenBarrierError) results2.push(true);
            else await b1.abort();
          }
          const i = await b2.wait();
          if (i === Math.floor(N / 2)) await b1.reset();
          await b2.wait();
          await b1.wait();
          results3.push(true);
        }),
      );
      assert.equal(b1.broken, false);
      assert.equal(results1.length, 0);
      assert.equal(results2.length, N - 1);
      assert.equal(results3.length, N);
      assert.equal(b1.nWaiting, 0);
    });
  });

  test('action runs once per round, in the last task, before the others are released', async () => {
    await run(async () => {
      const log: string[] = [];
      const b = new Barrier(3, {
        action: async () => {
          await sleep(1);
          log.push('action');
        },
      });
      await gather(
        ...['A', 'B', 'C'].map((n) =>
          createTask(async () => {
            const i = await b.wait();
            log.push(`${n} ${i}`);
          }),
        ),
      );
      assert.deepEqual(log, ['action', 'C 2', 'A 0', 'B 1']);
    });
  });

  test('an action that throws breaks the barrier: its task gets the error, the others BrokenBarrierError', async () => {
    await run(async () => {
      const b = new Barrier(3, {
        action: () => {
          throw new Error('action failed');
        },
      });
      const results = await gather(...makeTasks(3, () => b.wait()), { returnExceptions: true });
      assert.match(String(results[2]), /action failed/);
      assert.ok(results[0] instanceof BrokenBarrierError);
      assert.ok(results[1] instanceof BrokenBarrierError);
      assert.equal(b.broken, true);
      assert.equal(countOf(b), 0);
    });
  });

  test('a wait that times out breaks the barrier for every waiter', async () => {
    await run(async () => {
      const b = new Barrier(3);
      const patient = createTask(() => b.wait());
      const hasty = createTask(() => b.wait({ timeout: 3 }));
      const results = await gather(patient, hasty, { returnExceptions: true });
      assert.ok(results[0] instanceof BrokenBarrierError);
      assert.ok(results[1] instanceof BrokenBarrierError);
      assert.match((results[1] as Error).message, /timed out after 3 ms/);
      assert.equal(b.broken, true);
      assert.equal(countOf(b), 0);
      await assert.rejects(b.wait(), BrokenBarrierError);
    });
  });

  test('the default timeout of the constructor applies to every wait', async () => {
    await run(async () => {
      const b = new Barrier(2, { timeout: 3 });
      await assert.rejects(b.wait(), BrokenBarrierError);
      assert.equal(b.broken, true);
      await b.reset();
      // A full round within the timeout passes and clears its timers.
      const r = await gather(...makeTasks(2, () => b.wait()));
      assert.deepEqual([...r].sort(), [0, 1]);
    });
  });

  test('wait({ timeout: Infinity }) waits for ever despite a default timeout; null takes the default', async () => {
    await run(async () => {
      const b = new Barrier(2, { timeout: 5 });
      const patient = createTask(() => b.wait({ timeout: Number.POSITIVE_INFINITY }));
      await sleep(50); // ten times the default timeout: that timeout must not apply
      assert.equal(patient.done(), false);
      assert.equal(b.broken, false);
      assert.equal(b.nWaiting, 1);
      assert.equal(await b.wait(), 1);
      assert.equal(await patient, 0);
      // null is Python's None: the barrier's default timeout applies.
      await assert.rejects(b.wait({ timeout: null }), /timed out after 5 ms/);
      assert.equal(b.broken, true);
    });
  });

  test('constructor takes timeout null (no default timeout) and refuses options that are not an object', async () => {
    assert.throws(
      () => new Barrier(2, null as never),
      (e: unknown) =>
        e instanceof TypeError &&
        /Barrier options must be an object: received null/.test(e.message),
    );
    await run(async () => {
      const b = new Barrier(2, { timeout: null });
      const first = createTask(() => b.wait());
      await sleep(20);
      assert.equal(first.done(), false);
      assert.equal(await b.wait(), 1);
      assert.equal(await first, 0);
      assert.equal(b.broken, false);
    });
  });

  test('wait with an already aborted signal rejects with its reason and does not enter', async () => {
    await run(async () => {
      const b = new Barrier(2);
      const reason = new Error('before');
      await assert.rejects(b.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(b.nWaiting, 0);
      assert.equal(countOf(b), 0);
    });
  });

  test('wait aborted while filling leaves the barrier; the round completes without it', async () => {
    await run(async () => {
      const b = new Barrier(2);
      const ac = new AbortController();
      const aborted = createTask(() => b.wait({ signal: ac.signal }));
      await sleep(0);
      assert.equal(b.nWaiting, 1);
      ac.abort(new Error('gave up'));
      await assert.rejects(aborted, /gave up/);
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false, 'leaving is not breaking');
      const r = await gather(...makeTasks(2, () => b.wait()));
      assert.deepEqual([...r].sort(), [0, 1]);
    });
  });

  test('random parties, rounds and sleeps: each round hands out every index once, rounds never mix', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }),
        async (parties, rounds, sleeps) => {
          await run(async () => {
            const b = new Barrier(parties);
            const indices: number[][] = Array.from({ length: rounds }, () => []);
            let passed = 0; // tasks that have passed the current round so far
            await gather(
              ...Array.from({ length: parties }, (_, p) =>
                createTask(async () => {
                  for (let r = 0; r < rounds; r++) {
                    await sleep(sleeps[(p * rounds + r) % sleeps.length]);
                    const i = await b.wait();
                    // Nobody passes round r+1 before everyone has passed round r.
                    assert.ok(passed >= r * parties, `round ${r} entered early`);
                    passed++;
                    indices[r]!.push(i);
                  }
                }),
              ),
            );
            for (const round of indices)
              assert.deepEqual(
                [...round].sort(),
                Array.from({ length: parties }, (_, i) => i),
              );
            assert.equal(b.nWaiting, 0);
            assert.equal(b.broken, false);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  test('wait with a bad timeout or signal throws TypeError before entering', async () => {
    const b = new Barrier(2);
    await assert.rejects(
      b.wait({ timeout: 'x' as unknown as number }),
      (e: unknown) => e instanceof TypeError && /Barrier.wait: timeout/.test((e as Error).message),
    );
    await assert.rejects(b.wait({ signal: 'x' as unknown as AbortSignal }), TypeError);
    assert.equal(countOf(b), 0);
    assert.equal(stateOf(b), 'filling');
  });
});
