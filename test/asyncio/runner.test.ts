import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  allTasks,
  CancelledError,
  createTask,
  currentTask,
  Event,
  type ExceptionContext,
  getRunningLoop,
  Runner,
  RuntimeError,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { dryLoopClaimed } from '../../src/internal/dry-loop.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

/** Runs `script` (ESM, from the repository root) in a child process; returns its stdout lines. */
function runChild(script: string): { lines: string[]; status: number | null } {
  const r = spawnSync(
    process.execPath,
    ['--import', TS_IMPORT, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { lines: r.stdout.trim().split('\n'), status: r.status };
}

/** The alive task named `name`. */
function taskNamed(name: string): Task<unknown> {
  const found = [...allTasks()].find((t) => t.getName() === name);
  assert.ok(found, `no task named ${name}`);
  return found;
}

function isCode(code: string): (e: unknown) => boolean {
  return (e) => e instanceof RuntimeError && (e as RuntimeError & { code: string }).code === code;
}

describe('Runner', () => {
  test('the example of its docs: a task made in one run() is awaited in the next', async () => {
    let result: string | null = null;
    {
      await using runner = new Runner();
      const { worker } = await runner.run(async () => ({
        worker: createTask(() => sleep(10, 'done')),
      }));
      result = await runner.run(async () => await worker); // 'done': the task outlived the first run()
    }
    assert.equal(result, 'done');
  });

  test('run() leaves the tasks it made alive, uncancelled, for the next run(), as Python does', async () => {
    // asyncio.run would cancel `left` at its end; Runner.run does not (Python's neither).
    const runner = new Runner();
    try {
      const ev = new Event();
      const seen: string[] = [];
      const first = await runner.run(async () => {
        createTask(
          async () => {
            await ev.wait();
            seen.push('left woken');
            return 'left done';
          },
          { name: 'left' },
        );
        await sleep(0);
        return 1;
      });
      assert.equal(first, 1);
      const left = taskNamed('left');
      assert.equal(left.done(), false);
      const second = await runner.run(async () => {
        ev.set();
        return await left;
      });
      assert.equal(second, 'left done');
      assert.deepEqual(seen, ['left woken']);
    } finally {
      await runner.close();
    }
  });

  test('close() cancels the tasks its runs left and waits for their handlers; other tasks run on', async () => {
    const release = new Event();
    const waitRelease = async (value: string): Promise<string> => {
      await release.wait();
      return value;
    };
    const outside = createTask(() => waitRelease('outside'), { name: 'outside' });
    const runner = new Runner();
    const seen: string[] = [];
    await runner.run(async () => {
      createTask(
        async () => {
          try {
            await new Event().wait();
          } catch (e) {
            await sleep(5); // a handler that awaits: close() waits for it
            seen.push(e instanceof CancelledError ? 'left cancelled' : String(e));
            throw e;
          }
        },
        { name: 'left' },
      );
      await sleep(0);
    });
    const left = taskNamed('left');
    // Made by the program between two runs, while the runner's loop was not running: not its.
    const between = createTask(() => waitRelease('between'), { name: 'between' });
    await runner.run(async () => 'second');
    assert.equal(left.done(), false);
    await runner.close();
    assert.deepEqual(seen, ['left cancelled']);
    assert.equal(left.cancelled(), true);
    assert.equal(outside.done(), false);
    assert.equal(between.done(), false);
    release.set();
    assert.equal(await outside, 'outside');
    assert.equal(await between, 'between');
  });

  test('close() gives a task that raised instead of ending cancelled to the exception handler', async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    const reported: ExceptionContext[] = [];
    loop.setExceptionHandler((ctx) => reported.push(ctx));
    try {
      await runner.run(async () => {
        createTask(
          async () => {
            try {
              await new Event().wait();
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: the error close() must report
              throw new RangeError('cleanup failed');
            }
          },
          { name: 'bad' },
        );
        await sleep(0);
      });
      await runner.close();
    } finally {
      loop.setExceptionHandler(null);
    }
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.message, 'unhandled exception during run() shutdown');
    assert.ok(reported[0]?.exception instanceof RangeError);
    assert.equal((reported[0]?.task as Task<unknown> | undefined)?.getName(), 'bad');
  });

  test('close() waits for the default executor calls still running, then closes the loop', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const runner = new Runner();
    const loop = runner.getLoop();
    let call: Promise<unknown> | null = null;
    await runner.run(async () => {
      call = getRunningLoop().runInExecutor(
        null,
        async (f: Int32Array) => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          Atomics.store(f, 0, 1);
        },
        flag,
      );
      await sleep(10);
    });
    // Runner.run() does not wait for it (asyncio.run does, at its end: close() here).
    assert.equal(Atomics.load(flag, 0), 0, 'the call ended before close()');
    await runner.close();
    assert.equal(Atomics.load(flag, 0), 1, 'close() resolved before the call ended');
    assert.equal(loop.isClosed(), true);
    await call;
  });

  test('getLoop() is the loop of every run(), running only while one is in progress', async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    assert.equal(loop.isRunning(), false);
    assert.equal(await runner.run(async () => getRunningLoop() === loop && loop.isRunning()), true);
    assert.equal(loop.isRunning(), false);
    assert.equal(await runner.run(async () => getRunningLoop() === loop), true);
    assert.equal(loop.isClosed(), false);
    await runner.close();
    assert.equal(loop.isClosed(), true);
    assert.throws(() => runner.getLoop(), isCode('ERR_WEFT_RUNNER_CLOSED'));
  });

  test('await using closes the runner: its tasks are cancelled, its loop closed', async () => {
    let left: Task<unknown> | null = null;
    let loop: ReturnType<Runner['getLoop']> | null = null;
    {
      await using runner = new Runner();
      loop = runner.getLoop();
      left = (await runner.run(async () => ({ t: createTask(() => new Event().wait()) }))).t;
      await sleep(0);
    }
    assert.equal(left.cancelled(), true);
    assert.equal(loop.isClosed(), true);
  });

  test('the main task failing: run() rejects with its error, the tasks left survive', async () => {
    const runner = new Runner();
    try {
      await assert.rejects(
        runner.run(async () => {
          createTask(() => sleep(5, 'survivor'), { name: 'survivor' });
          await sleep(0);
          throw new RangeError('main failed');
        }),
        RangeError,
      );
      const survivor = taskNamed('survivor');
      assert.equal(await runner.run(async () => await survivor), 'survivor');
    } finally {
      await runner.close();
    }
  });

  test("Python's errors: closed runner, inside a task, two runs at once, bad main, options", async () => {
    const runner = new Runner();
    // A second run() while one is running (two awaits), and close() meanwhile: RuntimeError;
    // the first goes on.
    const first = runner.run(() => sleep(5, 'first'));
    await assert.rejects(
      runner.run(async () => 2),
      isCode('ERR_WEFT_LOOP_RUNNING'),
    );
    await assert.rejects(runner.close(), isCode('ERR_WEFT_LOOP_RUNNING'));
    await assert.rejects(
      new Runner().run(async () => 3),
      /cannot start while Runner\.run\(\)/,
    );
    await assert.rejects(
      run(async () => 4),
      /cannot start while Runner\.run\(\) is running/,
    );
    assert.equal(await first, 'first');
    // While run() runs, no Runner starts.
    await run(async () => {
      const r = new Runner();
      // Inside a task: Python's "Runner.run() cannot be called from a running event loop".
      await assert.rejects(
        r.run(async () => 5),
        /^RuntimeError: Runner\.run\(\) cannot be called/,
      );
    });
    // Not a function: run()'s TypeError (Python 3.11: ValueError); the runner stays usable.
    await assert.rejects(runner.run(42 as never), TypeError);
    assert.equal(await runner.run(async () => 6), 6);
    assert.throws(() => new (Runner as new (o: unknown) => Runner)({ debug: true }), TypeError);
    await runner.close();
    await runner.close(); // a second close() does nothing
    await assert.rejects(
      runner.run(async () => 7),
      /^RuntimeError: Runner is closed$/,
    );
    // A runner's loop closed by hand: Python's create_task raises "Event loop is closed".
    const handClosed = new Runner();
    handClosed.getLoop().close();
    await assert.rejects(
      handClosed.run(async () => 8),
      isCode('ERR_WEFT_LOOP_CLOSED'),
    );
    await handClosed.close();
  });

  test('a second close() while the first is under way waits for it', async () => {
    const runner = new Runner();
    const left = (
      await runner.run(async () => ({
        t: createTask(async () => {
          try {
            await new Event().wait();
          } finally {
            await sleep(5);
          }
        }),
      }))
    ).t;
    await sleep(0);
    const first = runner.close();
    await runner.close();
    assert.equal(left.cancelled(), true);
    assert.throws(() => runner.getLoop(), isCode('ERR_WEFT_RUNNER_CLOSED'));
    await first;
  });

  test('close() of a runner never used does nothing: it stays usable, as in Python', async () => {
    const runner = new Runner();
    await runner.close();
    assert.equal(await runner.run(async () => 'still usable'), 'still usable');
    await runner.close();
    await assert.rejects(
      runner.run(async () => 1),
      isCode('ERR_WEFT_RUNNER_CLOSED'),
    );
  });

  test('loop.stop() in a run(): RuntimeError, the main task is not cancelled, the next run() awaits it', async () => {
    const runner = new Runner();
    try {
      let main: Task<unknown> | null = null;
      await assert.rejects(
        runner.run(async () => {
          main = currentTask();
          getRunningLoop().stop();
          await sleep(0);
          await sleep(0);
          return 'main';
        }),
        (e) =>
          isCode('ERR_WEFT_LOOP_STOPPED')(e) &&
          /before the main task of Runner\.run\(\)/.test((e as Error).message),
      );
      assert.ok(main !== null);
      assert.equal((main as Task<unknown>).cancelled(), false);
      assert.equal(await runner.run(async () => await (main as Task<unknown>)), 'main');
      // The stop was spent with that run: this one is not stopped.
      assert.equal(
        await runner.run(async () => {
          await sleep(0);
          await sleep(0);
          return 'not stopped';
        }),
        'not stopped',
      );
    } finally {
      await runner.close();
    }
  });

  test('a stop() between two runs stops the next after its first iteration, as in Python', async () => {
    const runner = new Runner();
    try {
      const seen: string[] = [];
      runner.getLoop().stop();
      const twoSteps = async (): Promise<string> => {
        seen.push('step 1');
        await sleep(0);
        seen.push('step 2');
        return 'two';
      };
      await assert.rejects(runner.run(twoSteps, { name: 'two' }), isCode('ERR_WEFT_LOOP_STOPPED'));
      assert.equal(seen[0], 'step 1');
      assert.equal(await runner.run(twoSteps), 'two');
    } finally {
      await runner.close();
    }
  });

  test("a stop() in the main task's last step is absorbed by that run, and stops the next (CPython's left-over done-callback)", async () => {
    // CPython: the loop stops at the end of that iteration, before the main task's done-callback
    // (queued for the next one) ran; run_until_complete returns the result, and the callback,
    // left queued, stops the next run after its first iteration.
    const runner = new Runner();
    try {
      const stopAndReturn = async (): Promise<number> => {
        getRunningLoop().stop();
        return 1;
      };
      assert.equal(await runner.run(stopAndReturn), 1);
      const twoSteps = async (): Promise<number> => {
        await sleep(0);
        await sleep(0);
        return 2;
      };
      await assert.rejects(runner.run(twoSteps), isCode('ERR_WEFT_LOOP_STOPPED'));
      assert.equal(await runner.run(twoSteps), 2);
    } finally {
      await runner.close();
    }
  });

  test('a stop() in the iteration where the main task ends is spent with that run, as in Python', async () => {
    // CPython: a task's stop() and the main task's done-callback run in the same iteration; the
    // loop stops once, and run_forever clears the flag as it returns.
    const runner = new Runner();
    try {
      assert.equal(
        await runner.run(async () => {
          createTask(() => getRunningLoop().stop());
          return 1;
        }),
        1,
      );
      assert.equal(
        await runner.run(async () => {
          await sleep(0);
          await sleep(0);
          return 2;
        }),
        2,
      );
    } finally {
      await runner.close();
    }
  });

  test('a run() whose main task deadlocks rejects with DeadlockError; its tasks stay for the next run (a child process)', () => {
    // The deadlock is found at Node's beforeExit, which the test runner's own loop never lets
    // come: hence a child.
    const r = runChild(`
      import { Runner, createTask, Event } from './src/asyncio/index.ts';
      const runner = new Runner();
      const ev = new Event();
      try {
        await runner.run(async () => {
          createTask(() => ev.wait(), { name: 'helper' });
          await ev.wait();
          return 'never';
        }, { name: 'main' });
      } catch (e) { console.log(e.name + ' :: ' + e.message); }
      console.log(await runner.run(async () => { ev.set(); return 'woken'; }));
      await runner.close();
      console.log('closed');
    `);
    assert.equal(r.lines.length, 3, r.lines.join('\n'));
    assert.match(
      r.lines[0] as string,
      /^DeadlockError :: Deadlock: every task is blocked .*Task 'main' waits for .*Task 'helper' waits for/,
    );
    assert.deepEqual(r.lines.slice(1), ['woken', 'closed']);
    assert.equal(r.status, 0);
  });

  test('close() whose task goes on waiting once cancelled rejects with DeadlockError and closes (a child process)', () => {
    const r = runChild(`
      import { Runner, createTask, Event, sleep } from './src/asyncio/index.ts';
      const runner = new Runner();
      const loop = runner.getLoop();
      await runner.run(async () => {
        createTask(async () => {
          try { await new Event().wait(); } catch { await new Event().wait(); }
        }, { name: 'stubborn' });
        await sleep(0);
      });
      try { await runner.close(); } catch (e) { console.log(e.name + ' :: ' + e.message); }
      console.log('loop closed ' + loop.isClosed());
      try { runner.getLoop(); } catch (e) { console.log(e.message); }
    `);
    assert.equal(r.lines.length, 3, r.lines.join('\n'));
    assert.match(
      r.lines[0] as string,
      /^DeadlockError :: Deadlock while Runner\.close\(\) cancelled the tasks left: .*Task 'stubborn'/,
    );
    assert.deepEqual(r.lines.slice(1), ['loop closed true', 'Runner is closed']);
    assert.equal(r.status, 0);
  });

  test("close() cancels the tasks of the runner's loop made between two runs, as Python's does", async () => {
    // CPython binds a task to its loop: one made by get_loop().create_task(), in one of the
    // loop's callbacks or its run_until_complete() between two runs is the runner's.
    const runner = new Runner();
    const loop = runner.getLoop();
    const wait = () => new Event().wait();
    const byCreateTask = loop.createTask(wait, { name: 'by createTask' });
    await runner.run(() => sleep(0));
    let inCallback: Task<unknown> | null = null;
    loop.callSoon(() => {
      inCallback = createTask(wait, { name: 'in a callback' });
    });
    let inRunUntilComplete: Task<unknown> | null = null;
    await loop.runUntilComplete(async () => {
      inRunUntilComplete = createTask(wait, { name: 'in runUntilComplete' });
      await sleep(0);
    });
    const notIts = createTask(wait, { name: 'the program' });
    await runner.close();
    const made = [byCreateTask, inCallback, inRunUntilComplete] as (Task<unknown> | null)[];
    assert.deepEqual(
      made.map((t) => t?.cancelled()),
      [true, true, true],
    );
    assert.equal(notIts.done(), false);
    notIts.cancel();
  });

  test('a runForever() left running inside run(): it rejects, and the next run() may start', async () => {
    // Weft's own (Python's loop refuses run_forever inside asyncio.run): the loop cannot close
    // while it runs; run() says so, and must not leave the thread's loop taken for ever.
    let loop: ReturnType<typeof getRunningLoop> | null = null;
    await assert.rejects(
      run(async () => {
        loop = getRunningLoop();
        void loop.runForever();
        await sleep(0);
      }),
      isCode('ERR_WEFT_LOOP_RUNNING'),
    );
    (loop as ReturnType<typeof getRunningLoop> | null)?.stop();
    assert.equal(await run(async () => 'next run'), 'next run');
    // The same for a Runner whose close() finds it running.
    const runner = new Runner();
    const runnerLoop = runner.getLoop();
    await runner.run(async () => {
      void runnerLoop.runForever();
    });
    await assert.rejects(runner.close(), isCode('ERR_WEFT_LOOP_RUNNING'));
    runnerLoop.stop();
    assert.equal(await run(async () => 'after close'), 'after close');
    await assert.rejects(
      runner.run(async () => 1),
      isCode('ERR_WEFT_RUNNER_CLOSED'),
    );
  });

  test('run() is a Runner used once: still cancels the tasks left at its end', async () => {
    let left: Task<unknown> | null = null;
    await run(async () => {
      left = createTask(() => new Event().wait());
      await sleep(0);
    });
    assert.equal((left as Task<unknown> | null)?.cancelled(), true);
  });
});

// What a run() and a Runner install for their waits (the deadlock watch on Node's 'beforeExit',
// the dry-loop claim that keeps a Thread's stranded-run report quiet) must be gone after every
// way they end: left behind, a later dry loop would be misread (helper-201's surviving mutations).
describe('run() and Runner leave nothing installed', () => {
  test("after a result, an error, between a Runner's runs and after its close", async () => {
    const listeners = process.listenerCount('beforeExit');
    assert.equal(dryLoopClaimed(), false);
    const after = (what: string) => {
      assert.equal(process.listenerCount('beforeExit'), listeners, `${what}: beforeExit listener`);
      assert.equal(dryLoopClaimed(), false, `${what}: dry-loop claim`);
    };
    assert.equal(await run(async () => 1), 1);
    after('a result');
    await assert.rejects(
      run(async () => {
        throw new RangeError('boom');
      }),
      RangeError,
    );
    after('an error');
    const r = new Runner();
    assert.equal(await r.run(async () => 2), 2);
    // Between two runs of a Runner, nothing of theirs is installed either.
    after('between runs');
    assert.equal(await r.run(async () => 3), 3);
    await r.close();
    after('a Runner closed');
  });
});
