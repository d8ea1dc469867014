import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  currentTask,
  Event,
  EventLoop,
  type ExceptionContext,
  Future,
  gather,
  getRunningLoop,
  Queue,
  RuntimeError,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { withHandler } from '../support/loop-handler.js';
import { stderrOf } from '../support/stderr.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

/**
 * A task left at run()'s end: woken by `ev` (with the main task), it yields twice, noting each
 * step in `seen`, or its cancellation. `between` runs after its first yield (native awaits).
 */
function wokenYielder(
  name: string,
  ev: Event,
  seen: string[],
  between?: () => Promise<void>,
): void {
  createTask(async () => {
    await ev.wait();
    try {
      await sleep(0);
      if (between !== undefined) await between();
      seen.push(`${name} after its yield`);
      await sleep(0);
      seen.push(`${name} after a second yield`);
    } catch (e) {
      seen.push(e instanceof CancelledError ? `${name} cancelled` : String(e));
    }
  });
}

/** Runs `script` (ESM, from the repository root) in a child process; returns its stdout. */
function runChild(script: string): { stdout: string; status: number | null } {
  const r = spawnSync(
    process.execPath,
    ['--import', TS_IMPORT, '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { stdout: r.stdout, status: r.status };
}

describe('EventLoop callbacks', () => {
  test('callSoon, callLater and callAt refuse an async function with TypeError, as Python does', () => {
    const loop = new EventLoop();
    const ran: string[] = [];
    const body = async (): Promise<void> => {
      ran.push('ran');
    };
    try {
      assert.throws(() => loop.callSoon(body), TypeError);
      assert.throws(() => loop.callLater(1, body), TypeError);
      assert.throws(() => loop.callAt(loop.time(), body), TypeError);
      assert.throws(() => loop.callSoon(body), /callSoon cannot take an async function/);
    } finally {
      loop.close();
    }
    assert.deepEqual(ran, []);
  });

  test('a callback whose returned promise rejects is reported with its handle, and the loop goes on', async () => {
    const got: ExceptionContext[] = [];
    await withHandler(
      (ctx) => got.push(ctx),
      async (loop) => {
        const log: string[] = [];
        const rejected = new Error('late boom');
        const h = loop.callSoon(() => Promise.reject(rejected));
        loop.callSoon(() => log.push('next ran'));
        await sleep(5);
        assert.deepEqual(log, ['next ran']);
        assert.equal(got.length, 1);
        assert.equal(got[0]?.message, 'Exception in callback');
        assert.equal((got[0] as ExceptionContext).exception, rejected);
        assert.equal(got[0]?.handle, h);
      },
    );
  });

  test('a handle reads as Python repr: name and arguments, when= for a timer, cancelled', () => {
    const loop = new EventLoop();
    try {
      function tick(n: number, s: string): void {
        void n;
        void s;
      }
      const h = loop.callSoon(tick, 1, 'a');
      assert.equal(String(h), '<Handle tick(1, "a")>');
      const t = loop.callLater(1000, tick, 2, 'b');
      assert.equal(String(t), `<TimerHandle when=${t.when()} tick(2, "b")>`);
      h.cancel();
      t.cancel();
      assert.equal(String(h), '<Handle cancelled>');
      assert.equal(String(t), `<TimerHandle cancelled when=${t.when()}>`);
    } finally {
      loop.close();
    }
  });

  test('the default report of a failing callback names the callback, not just "an instance of Handle"', () => {
    const loop = new EventLoop();
    try {
      function failing(n: number): void {
        void n;
      }
      const h = loop.callSoon(failing, 7);
      const text = stderrOf(() =>
        loop.defaultExceptionHandler({
          message: 'Exception in callback',
          exception: new Error('why'),
          handle: h,
        }),
      );
      assert.match(text, /handle: <Handle failing\(7\)>/);
    } finally {
      loop.close();
    }
  });

  test('isRunning() is true inside a callback of the loop: close() and runUntilComplete() raise there', async () => {
    const loop = new EventLoop();
    const seen = await new Promise<{ running: boolean; close: unknown; ruc: unknown }>(
      (resolve) => {
        loop.callSoon(() => {
          const running = loop.isRunning();
          let close: unknown = null;
          try {
            loop.close();
          } catch (e) {
            close = e;
          }
          loop
            .runUntilComplete(() => 'nested')
            .then(
              () => resolve({ running, close, ruc: null }),
              (ruc: unknown) => resolve({ running, close, ruc }),
            );
        });
      },
    );
    assert.equal(seen.running, true);
    assert.ok(seen.close instanceof RuntimeError);
    assert.match(String(seen.close), /Cannot close a running event loop/);
    assert.ok(seen.ruc instanceof RuntimeError);
    assert.match(String(seen.ruc), /already running/);
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.isClosed(), false);
    loop.close();
  });
});

describe('run() and the loops around it', () => {
  test('run() inside a callback of a running loop raises RuntimeError, as asyncio.run does', async () => {
    const loop = new EventLoop();
    const log: string[] = [];
    const forever = loop.runForever();
    loop.callSoon(() => {
      run(async () => log.push('main ran')).then(
        () => log.push('resolved'),
        (e: unknown) => log.push(e instanceof RuntimeError ? `RuntimeError: ${e.message}` : `${e}`),
      );
      loop.callSoon(() => loop.stop());
    });
    await forever;
    await sleep(5);
    loop.close();
    assert.equal(log.length, 1);
    assert.match(
      log[0] as string,
      /^RuntimeError: run\(\) cannot be called from a running event loop/,
    );
    // Nothing was left marked running: the next run() starts.
    assert.equal(await run(async () => 'next'), 'next');
  });

  test('run() leaves running a task made before it outside every run(), as asyncio.run cancels only its own', async () => {
    // It waits for a gate opened only after run() ended: it cannot finish first, whatever the load.
    const gate = new Event();
    const outside = createTask(
      async () => {
        await gate.wait();
        return 'outside done';
      },
      { name: 'outside' },
    );
    const inner: string[] = [];
    const got = await run(async () => {
      createTask(
        async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            if (e instanceof CancelledError) inner.push('inner cancelled');
            throw e;
          }
        },
        { name: 'inner' },
      );
      await sleep(1);
      return 'main';
    });
    assert.equal(got, 'main');
    assert.deepEqual(inner, ['inner cancelled']);
    assert.equal(outside.cancelled(), false);
    gate.set();
    assert.equal(await outside, 'outside done');
  });

  test('once the main task is done, the tasks left are cancelled before they run again, as asyncio.run', async () => {
    // CPython 3.11 prints: B started, B cancelled, C started, C after its yield (C's resume was
    // ready before the main task ended), and nothing of B's after its yield.
    const seen: string[] = [];
    const body = (name: string) => async (): Promise<void> => {
      seen.push(`${name} started`);
      try {
        await sleep(0);
        seen.push(`${name} after its yield`);
        await sleep(0);
        seen.push(`${name} after a second yield`);
      } catch (e) {
        seen.push(e instanceof CancelledError ? `${name} cancelled` : `${name}: ${e}`);
      }
    };
    await run(async () => {
      createTask(body('B'));
    });
    await run(async () => {
      createTask(body('C'));
      await sleep(0);
    });
    assert.deepEqual(seen, [
      'B started',
      'B cancelled',
      'C started',
      'C after its yield',
      'C cancelled',
    ]);
  });

  test('a step queued after the main task ended, in the iteration that ended it, still runs, as asyncio.run', async () => {
    // CPython 3.11: ['Y after its yield', 'Y cancelled']. Main and Y are woken together; main
    // ends first, Y's yield after it is of the same iteration, its second yield of the next.
    const seen: string[] = [];
    await run(async () => {
      const ev = new Event();
      wokenYielder('Y', ev, seen);
      getRunningLoop().callLater(1, () => ev.set());
      await ev.wait();
    });
    assert.deepEqual(seen, ['Y after its yield', 'Y cancelled']);
  });

  test("run()'s own await coming back early does not cut the main task's last iteration short", async () => {
    // CPython 3.11: both steps of the iteration run, then both tasks are cancelled. A step that
    // spends native awaits (save) let run()'s continuation run before the iteration ended.
    const save = async (): Promise<void> => {
      await null;
    };
    const seen: string[] = [];
    await run(async () => {
      const ev = new Event();
      for (const name of ['Y', 'Z']) wokenYielder(name, ev, seen, save);
      getRunningLoop().callLater(1, () => ev.set());
      await ev.wait();
    });
    assert.deepEqual(seen, [
      'Y after its yield',
      'Z after its yield',
      'Y cancelled',
      'Z cancelled',
    ]);
  });

  test("the cancels of run()'s end run with no task current", async () => {
    // They ran inside the step that ended the iteration: an abort listener of a task left saw
    // that task as current, and a wait it made went to that task, taking its cancel.
    const seen: string[] = [];
    await run(async () => {
      const ev = new Event();
      wokenYielder('Y', ev, seen);
      createTask(
        async () => {
          (currentTask() as Task).signal.addEventListener('abort', () => {
            seen.push(`X's listener runs in ${currentTask()?.name ?? 'no task'}`);
            sleep(5).catch(() => {});
          });
          await new Event().wait();
        },
        { name: 'X' },
      );
      getRunningLoop().callLater(1, () => ev.set());
      await ev.wait();
    });
    assert.deepEqual(seen, ['Y after its yield', "X's listener runs in no task", 'Y cancelled']);
  });

  test("the stop's cancel reaches a task suspended in a combinator, not one wait of it", async () => {
    // The cancels ran inside the call that ended the task's step (the first get's block()), so
    // only that get was cancelled: gather went on waiting, and its second getter, orphaned,
    // later took an item. CPython cancels the gather the task then awaits.
    const q1 = new Queue<string>();
    const q2 = new Queue<string>();
    const seen: string[] = [];
    await run(async () => {
      const ev = new Event();
      createTask(async () => {
        await ev.wait();
        try {
          await sleep(0);
          await gather(q1.get(), q2.get());
          seen.push('Y got both');
        } catch (e) {
          seen.push(e instanceof CancelledError ? 'Y cancelled' : String(e));
        }
      });
      getRunningLoop().callLater(1, () => ev.set());
      await ev.wait();
    });
    q2.putNowait('precious');
    await sleep(5);
    assert.deepEqual(seen, ['Y cancelled']);
    assert.equal(q2.qsize(), 1, 'no getter left behind took it');
  });

  test("a main task that ends in its first step with the turn's budget spent still stops where CPython would", async () => {
    // Its done-callback waited for the next turn while run()'s await found the task done at
    // once: run() cancelled Y before its first step. CPython 3.11: ['Y started', 'Y cancelled'].
    const seen: string[] = [];
    await run(() => {
      for (let i = 0; i < 5000; i++) getRunningLoop().callSoon(() => {});
      createTask(async () => {
        seen.push('Y started');
        try {
          await sleep(0);
          seen.push('Y after its yield');
        } catch (e) {
          seen.push(e instanceof CancelledError ? 'Y cancelled' : String(e));
        }
      });
      return 1;
    });
    assert.deepEqual(seen, ['Y started', 'Y cancelled']);
  });

  test('a stop whose iteration ends in a step waiting on a native promise still comes (a child process)', () => {
    // The turn's budget was spent before that step; once it was in flight nothing armed the
    // turn's immediate, the stop never came and run() never settled (exit 13).
    const script = `
      import { run, createTask, getRunningLoop, sleep, Event } from './src/asyncio/index.ts';
      try {
        await run(async () => {
          const ev = new Event();
          createTask(async () => {
            await ev.wait();
            for (let i = 0; i < 5000; i++) getRunningLoop().callSoon(() => {});
          });
          createTask(async () => { await ev.wait(); await sleep(0); await new Promise(() => {}); }, { name: 'X' });
          getRunningLoop().callLater(1, () => ev.set());
          await ev.wait();
        });
        console.log('resolved');
      } catch (e) { console.log(e.name + ' :: ' + e.message); }
    `;
    const r = runChild(script);
    assert.match(
      r.stdout,
      /DeadlockError :: Deadlock while run\(\) cancelled the tasks left: .*Task 'X'/,
    );
    assert.equal(r.status, 0);
  });

  test('a main task that deadlocks: each task left is cancelled once, and may clean up (a child process)', () => {
    // The deadlock is found at Node's beforeExit, which the test runner's own loop never lets
    // come: hence a child. The main task's end (run() cancelled it) must not cancel again.
    const script = `
      import { run, createTask, currentTask, sleep, Event } from './src/asyncio/index.ts';
      try {
        await run(async () => {
          createTask(async () => {
            try { await new Event().wait(); } catch (e) {
              try { await sleep(5); console.log('cleaned up, cancelling() ' + currentTask().cancelling()); }
              catch { console.log('cleanup cut short, cancelling() ' + currentTask().cancelling()); }
              throw e;
            }
          });
          await new Event().wait();
        });
      } catch (e) { console.log(e.name); }
    `;
    const r = runChild(script);
    assert.deepEqual(r.stdout.trim().split('\n'), ['cleaned up, cancelling() 1', 'DeadlockError']);
    assert.equal(r.status, 0);
  });

  test('a task left whose cancel() throws: run() raises that error, and the others are cancelled all the same', async () => {
    class Stubborn extends Future<void> {
      override cancel(): boolean {
        throw new Error('bad cancel');
      }
    }
    const seen: string[] = [];
    const stubborn = new Stubborn();
    let a: Task<void> | null = null;
    await assert.rejects(
      run(async () => {
        a = createTask(async () => {
          await stubborn;
          seen.push('A went on after run()');
        });
        createTask(async () => {
          try {
            await sleep(50);
            seen.push('B ran to its end');
          } catch (e) {
            seen.push(e instanceof CancelledError ? 'B cancelled' : String(e));
          }
        });
        await sleep(0);
      }),
      /bad cancel/,
    );
    assert.deepEqual(seen, ['B cancelled']);
    // CPython stops at A's cancel and leaves every task pending; weft cancels the others first
    // (docs/asyncio.md). A could not be cancelled: it is left pending until its future ends.
    stubborn.setResult(undefined);
    await (a as unknown as Task<void>);
    assert.deepEqual(seen, ['B cancelled', 'A went on after run()']);
  });

  test("a task a cancelled task starts during run()'s end is cancelled, not run to its end after run()", async () => {
    // CPython 3.11: ['L2 started', 'run ended'], and L2 is destroyed pending.
    const seen: string[] = [];
    let l2: Task<void> | null = null;
    await run(async () => {
      createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          l2 = createTask(async () => {
            seen.push('L2 started');
            await sleep(5);
            seen.push('L2 ran to its end');
          });
          throw e;
        }
      });
      await sleep(0);
    });
    seen.push('run ended');
    const late = l2 as unknown as Task<void>;
    await assert.rejects(late, CancelledError);
    assert.deepEqual(seen, ['L2 started', 'run ended']);
  });

  test('a task left that ends with another error before run() waits for it is still reported', async () => {
    const reports: ExceptionContext[] = [];
    await run(async () => {
      getRunningLoop().setExceptionHandler((ctx) => reports.push(ctx));
      createTask(
        async () => {
          try {
            await sleep(0);
          } catch {
            throw new Error('raised instead of ending cancelled');
          }
        },
        { name: 'stubborn' },
      );
    }).finally(() => new EventLoop().setExceptionHandler(null)); // the handler is the process's
    assert.equal(reports.length, 1);
    const [report] = reports as [ExceptionContext];
    assert.equal(report.message, 'unhandled exception during run() shutdown');
    assert.equal((report.exception as Error).message, 'raised instead of ending cancelled');
    assert.equal((report.task as Task<unknown>).name, 'stubborn');
  });

  test('run() rejects with DeadlockError when a task left waits for ever once cancelled (a child process)', () => {
    const script = `
      import { run, createTask, sleep, Event } from './src/asyncio/index.ts';
      try {
        const got = await run(async () => {
          createTask(async () => {
            try { await sleep(1e9); } catch { await new Event().wait(); }
          }, { name: 'stubborn' });
          await sleep(1);
          return 'main';
        });
        console.log('resolved ' + got);
      } catch (e) { console.log(e.name + ' :: ' + e.message); }
      console.log('next run: ' + await run(async () => 'ok'));
    `;
    const r = runChild(script);
    assert.match(r.stdout, /DeadlockError :: Deadlock while run\(\) cancelled the tasks left/);
    assert.match(r.stdout, /Task 'stubborn' waits for an Event/);
    assert.match(r.stdout, /next run: ok/);
    assert.equal(r.status, 0);
  });

  test('a main task that deadlocks, then waits for ever again once cancelled: run() still rejects (a child process)', () => {
    // Node emits beforeExit again only if the loop had work after the first report.
    const script = `
      import { Event, run } from './src/asyncio/index.ts';
      try {
        await run(async () => {
          try { await new Event().wait(); } catch { await new Event().wait(); }
        }, { name: 'main' });
        console.log('resolved');
      } catch (e) { console.log(e.name + ' :: ' + e.message); }
      console.log('after');
    `;
    const r = runChild(script);
    assert.match(
      r.stdout,
      /DeadlockError :: Deadlock while run\(\) cancelled the tasks left: .*Task 'main' waits for an Event/,
    );
    assert.match(r.stdout, /after/);
    assert.equal(r.status, 0);
  });

  test("that DeadlockError keeps the main task's own error as its cause, and names it", () => {
    const script = `
      import { run, createTask, sleep, Event } from './src/asyncio/index.ts';
      const boom = new RangeError('boom');
      try {
        await run(async () => {
          createTask(async () => {
            try { await sleep(1e9); } catch { await new Event().wait(); }
          }, { name: 'stubborn' });
          await sleep(1);
          throw boom;
        });
      } catch (e) { console.log(e.name + ' :: ' + (e.cause === boom) + ' :: ' + e.message); }
    `;
    const r = runChild(script);
    assert.match(
      r.stdout,
      /DeadlockError :: true :: Deadlock while run\(\) cancelled the tasks left/,
    );
    assert.match(r.stdout, /the main task had failed first: RangeError: boom/);
    assert.equal(r.status, 0);
  });
});
