/**
 * The current task across awaits (src/internal/context.ts): by the context addon where it is
 * built, by promise hooks otherwise. `npm test` runs this file, test/asyncio and test/gevent a
 * second time with WEFT_CONTEXT=hooks, so both mechanisms pass the same tests.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, stat } from 'node:fs';
import { stat as statAsync } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { describe, test } from 'node:test';
import { promiseHooks } from 'node:v8';
import vm from 'node:vm';
import { buildSync } from 'esbuild';
import {
  CancelledError,
  createTask,
  currentTask,
  Future,
  gather,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { contextBackend, promiseFulfilled } from '../../src/internal/context.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

const root = new URL('../..', import.meta.url).pathname;
const addonBuilt = existsSync(`${root}native/context/build/Release/weft_context.node`);

function backendIn(env: Record<string, string>): string {
  return execFileSync(
    process.execPath,
    [
      ...frameFlags,
      '--import',
      TS_IMPORT,
      '-e',
      "import('./src/internal/context.ts').then((m) => process.stdout.write(m.contextBackend()))",
    ],
    { cwd: root, env: { ...process.env, WEFT_CONTEXT: '', WEFT_NO_NATIVE: '', ...env } },
  ).toString();
}

/**
 * Whether Node keeps AsyncLocalStorage in V8's slot itself: from Node 24 unless turned off, on
 * Node 22 only when turned on. weft then keeps its task in Node's frames where an async hook can
 * skip promises (Node >= 24.14), and uses promise hooks elsewhere.
 */
const [nodeMajor = 0, nodeMinor = 0] = process.versions.node.split('.').map(Number);
const nodeFrames =
  (nodeMajor >= 24 && !process.execArgv.includes('--no-async-context-frame')) ||
  process.execArgv.includes('--experimental-async-context-frame');
/** This process's flags for Node's frames, given to the children that report their backend. */
const frameFlags = process.execArgv.filter(
  (a) => a === '--no-async-context-frame' || a === '--experimental-async-context-frame',
);
const callbackHooks = nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 14);
const addonBackend = !nodeFrames ? 'native' : callbackHooks ? 'frame' : 'hooks';

describe('context backend', () => {
  test('the addon is used where it was built (in Node 24, inside its frames); WEFT_CONTEXT=hooks and WEFT_NO_NATIVE=1 choose hooks', () => {
    assert.equal(
      backendIn({}),
      addonBuilt && process.platform === 'linux' ? addonBackend : 'hooks',
    );
    assert.equal(backendIn({ WEFT_CONTEXT: 'hooks' }), 'hooks');
    assert.equal(backendIn({ WEFT_NO_NATIVE: '1' }), 'hooks');
  });

  test("where Node's AsyncLocalStorage runs on async hooks, choosing the backend runs no store (it would turn some of V8's promise fast paths off for good)", () => {
    // The probe of Node's storage (context.ts, `storageOnHooks`), watched from before weft loads.
    const script = `
      const { AsyncLocalStorage } = require('node:async_hooks');
      let ran = 0;
      for (const name of ['run', 'enterWith', '_enable']) {
        const fn = AsyncLocalStorage.prototype[name];
        AsyncLocalStorage.prototype[name] = function (...args) {
          ran++;
          return fn.apply(this, args);
        };
      }
      import('./src/internal/context.ts').then((m) =>
        process.stdout.write(JSON.stringify([m.contextBackend(), ran])),
      );`;
    const out = execFileSync(
      process.execPath,
      [...frameFlags, '--import', TS_IMPORT, '-e', script],
      {
        cwd: root,
        env: { ...process.env, WEFT_CONTEXT: '', WEFT_NO_NATIVE: '' },
      },
    ).toString();
    const [backend, ran] = JSON.parse(out) as [string, number];
    assert.equal(backend, addonBuilt && process.platform === 'linux' ? addonBackend : 'hooks');
    // Node's frames are probed with a store run: that one installs no promise hook.
    if (!nodeFrames) assert.equal(ran, 0);
  });

  test('this process uses the backend its environment asks for', () => {
    const forced = process.env.WEFT_CONTEXT === 'hooks' || process.env.WEFT_NO_NATIVE === '1';
    assert.equal(contextBackend(), !forced && addonBuilt ? addonBackend : 'hooks');
  });

  test("with the addon, a promise's state is read from V8: a fulfilled one's value, else `otherwise`", async () => {
    // Hooks use no addon at all; the addon's backends always have the read (a task that
    // returns without suspending ends in its first step through it, asyncio/task.ts).
    if (contextBackend() === 'hooks') {
      assert.equal(promiseFulfilled, null);
      return;
    }
    const read = promiseFulfilled as (p: unknown, otherwise: unknown) => unknown;
    const NO = {};
    assert.equal(read(Promise.resolve(7), NO), 7);
    const value = { v: 1 };
    assert.equal(read((async () => value)(), NO), value, 'an async function that never awaited');
    assert.equal(read(Promise.resolve(undefined), NO), undefined);
    assert.equal(read(new Promise(() => {}), NO), NO, 'pending');
    const resolvedLater = Promise.resolve().then(() => 1);
    assert.equal(read(resolvedLater, NO), NO, 'not fulfilled yet');
    assert.equal(await resolvedLater, 1);
    assert.equal(read(resolvedLater, NO), 1);
    const rejected = Promise.reject(new Error('no'));
    rejected.catch(() => {});
    assert.equal(read(rejected, NO), NO, 'rejected');
    // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a promise, on purpose
    const thenable = { then() {} };
    for (const x of [7, null, undefined, thenable, () => 1])
      assert.equal(read(x, NO), NO, `not a promise: ${String(x)}`);
    class Sub extends Promise<number> {}
    assert.equal(
      read(Sub.resolve(3), NO),
      3,
      'a subclass is a promise to V8 (task.ts checks the class)',
    );
  });
});

describe('the current task', () => {
  test('each task is current again after its awaits, interleaved with others', async () => {
    const seen: string[] = [];
    await run(async () => {
      const body = async (tag: string): Promise<void> => {
        const me = currentTask() as Task<void>;
        for (let i = 0; i < 3; i++) {
          await (i === 1 ? sleep(1) : undefined);
          seen.push(`${tag}:${currentTask() === me}`);
        }
      };
      await gather(createTask(body('a')), createTask(body('b')));
    });
    assert.deepEqual(seen.sort(), ['a:true', 'a:true', 'a:true', 'b:true', 'b:true', 'b:true']);
  });

  test('a then callback runs in the task that called then, not the one that resolved', async () => {
    let resolveIt!: () => void;
    const p = new Promise<void>((r) => {
      resolveIt = r;
    });
    let inA: unknown = 'unset';
    await run(async () => {
      const a = createTask(async () => {
        const me = currentTask();
        await p.then(() => {
          inA = currentTask() === me;
        });
      });
      const b = createTask(async () => {
        await sleep(1);
        resolveIt();
      });
      await gather(a, b);
    });
    assert.equal(inA, true);
  });

  test('timers, immediates and queueMicrotask callbacks started in a task run in no task', async () => {
    const seen: unknown[] = [];
    await run(async () => {
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          seen.push(currentTask());
          setImmediate(() => {
            seen.push(currentTask());
            queueMicrotask(() => {
              seen.push(currentTask());
              resolve();
            });
          });
        }, 1);
      });
      seen.push(currentTask() !== null);
    });
    assert.deepEqual(seen, [null, null, null, true]);
    assert.equal(currentTask(), null);
  });

  test('a task started by a drain leaves no task current after the drain, from a microtask or a turn end', async () => {
    // Two drains run a task's first step: the one of the turn's setImmediate (the main task's
    // step is in flight, waiting on a native promise) and a microtask one (a task made in a
    // timer callback, no step in flight). The step leaves its task current and the drain puts
    // back what it found (scheduler.ts, callSoonStart). The Node callbacks after each are no
    // task's. (Not queueMicrotask: on Node 22 V8 carries the task into a microtask queued in
    // it, see docs/asyncio.md.)
    const seen: unknown[] = [];
    const started: unknown[] = [];
    const body = (): void => {
      started.push(currentTask());
      process.nextTick(() => seen.push(currentTask()));
    };
    await run(async () => {
      const first = createTask(body);
      setImmediate(() => seen.push(currentTask())); // queued after the drain's immediate
      let second: Task | null = null;
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          second = createTask(body);
          setImmediate(resolve);
        }, 20),
      );
      assert.deepEqual(started, [first, second]);
    });
    assert.equal(started.includes(null), false);
    assert.deepEqual(seen, [null, null, null]);
  });

  test("code after a reaction in the same job (a promise hook's after) sees that reaction's task, never a task a drain started", {
    // weft's own hooks carry the task there, and run after hooks registered before them.
    skip: contextBackend() === 'hooks' && 'the test observes through promise hooks',
  }, async () => {
    // A drain runs at the end of a reaction job (the settlement of a task's body) and starts the
    // next task there; a promise hook's `after`, or a tracer's then-wrapper, runs after it in the
    // same job. It must see what the job began with, not the task just started: a continuation
    // made there would otherwise belong to that task.
    const mismatches: string[] = [];
    let before: Task | null = null;
    const name = (t: Task | null): string => (t === null ? 'none' : t.getName());
    const stopBefore = promiseHooks.onBefore(() => {
      before = currentTask();
    });
    const stopAfter = promiseHooks.onAfter(() => {
      const now = currentTask();
      if (now !== null && now !== before) mismatches.push(`${name(before)} -> ${name(now)}`);
    });
    try {
      await run(async () => {
        const ts = [1, 2, 3].map((i) => createTask(async () => i, { name: `T${i}` }));
        for (const t of ts) await t;
        await gather(...[4, 5].map((i) => createTask(() => Promise.resolve(i))));
      });
      await new Promise((r) => setImmediate(r));
    } finally {
      stopAfter();
      stopBefore();
    }
    assert.deepEqual(mismatches, []);
  });

  test('I/O, nextTick, EventEmitter and AsyncResource callbacks made in a task run in no task; its awaits keep it', async () => {
    // Node 24 carries its context frame into every callback made under it; weft's task must not
    // come along (Python runs a callback in no task). Each callback records what it saw.
    const seen: Record<string, unknown> = {};
    let me: unknown = 'unset';
    const server = createServer((c) => c.end('x'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(async () => {
        me = currentTask();
        const port = (server.address() as { port: number }).port;
        await new Promise<void>((resolve) => {
          let left = 5;
          const done = (what: string) => {
            seen[what] = currentTask();
            if (--left === 0) resolve();
          };
          stat('/', () => done('fs callback'));
          process.nextTick(() => done('nextTick'));
          const e = new EventEmitter();
          e.on('go', () => done('listener of an emit from a timer'));
          setTimeout(() => e.emit('go'), 1);
          new AsyncResource('weft-test').runInAsyncScope(() => {
            setImmediate(() => done('immediate made in an AsyncResource scope'));
          });
          const c = connect(port, '127.0.0.1');
          c.on('data', () => {
            c.destroy();
            done('socket data');
          });
        });
        seen['after the await'] = currentTask() === me;
        await statAsync('/');
        seen['after an fs.promises await'] = currentTask() === me;
      });
    } finally {
      server.close();
    }
    assert.deepEqual(seen, {
      'fs callback': null,
      nextTick: null,
      'listener of an emit from a timer': null,
      'immediate made in an AsyncResource scope': null,
      'socket data': null,
      'after the await': true,
      'after an fs.promises await': true,
    });
  });

  test('a timer made in a task that fires after every task has ended sees no task', async () => {
    let seen: unknown = 'unset';
    let fired!: () => void;
    const done = new Promise<void>((resolve) => {
      fired = resolve;
    });
    let ended = false;
    await run(async () => {
      // Made in the task; it looks only once run() has returned (a loaded machine may fire a
      // timer early), re-arming itself from its own callback until then.
      const tick = (): void => {
        if (!ended) {
          setTimeout(tick, 5);
          return;
        }
        seen = currentTask();
        fired();
      };
      setTimeout(tick, 5);
    });
    ended = true;
    await done;
    assert.equal(seen, null);
  });

  test('asyncResource.runInAsyncScope(fn) called in a task: fn sees the task, but in no task with the frame backend', async () => {
    let seen: unknown = 'unset';
    let me: unknown = 'unset';
    await run(async () => {
      me = currentTask();
      new AsyncResource('weft-test').runInAsyncScope(() => {
        seen = currentTask();
      });
    });
    assert.equal(seen, contextBackend() === 'frame' ? null : me);
  });

  test('cancelling a task cancels the weft Future it awaits, through any await form', async () => {
    await run(async () => {
      const direct = new Future<number>();
      const viaPromise = new Future<number>();
      const t1 = createTask(async () => direct);
      const t2 = createTask(async () => await Promise.resolve(viaPromise));
      await sleep(1);
      t1.cancel('stop');
      t2.cancel('stop');
      const [r1, r2] = await gather(t1, t2, { returnExceptions: true });
      assert.ok(r1 instanceof CancelledError);
      assert.ok(r2 instanceof CancelledError);
      assert.equal(direct.cancelled(), true);
      assert.equal(viaPromise.cancelled(), true);
    });
  });

  test('AsyncLocalStorage keeps working inside weft tasks', async () => {
    const als = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    await run(async () => {
      await als.run('outer', async () => {
        const t = createTask(async () => {
          await sleep(1);
          seen.push(als.getStore());
          await als.run('inner', async () => {
            await undefined;
            seen.push(als.getStore());
          });
          seen.push(als.getStore());
        });
        await t;
      });
    });
    als.disable();
    assert.deepEqual(seen, ['outer', 'inner', 'outer']);
  });
});

describe('resumes settle with no task current', () => {
  test("a Future set as another Future's result is not awaited by the task that set it", async () => {
    await run(async () => {
      const outer = new Future<Future<number>>();
      const inner = new Future<number>();
      // The consumer's await adopts inner (a thenable) when outer's result reaches it.
      const consumer = createTask(async () => (await outer) as unknown as number);
      await sleep(1); // the consumer waits on outer
      // The producer says when it is blocked on the native promise, and that promise settles
      // only when this task says so: the cancel below finds the producer there by these
      // signals, not by a 20 ms sleep here outlasting its steps and falling within a 50 ms timer.
      let parked!: () => void;
      const isParked = new Promise<void>((resolve) => (parked = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const producer = createTask(async () => {
        outer.setResult(inner);
        await sleep(1); // the consumer's resume runs when this step ends
        // Blocked on nothing of weft's: a cancel finds no waiter here.
        parked();
        await gate;
      });
      await isParked;
      await sleep(0); // behind the end of the producer's step, as a task blocked there has
      producer.cancel();
      release();
      await gather(producer, { returnExceptions: true });
      assert.equal(inner.cancelled(), false, 'cancelling the producer cancelled inner');
      inner.setResult(5);
      assert.equal(await consumer, 5);
    });
  });
});

describe('a thenable of the user', () => {
  test("its then, called by an await, sees the awaiting task, but not with the addon on Node 20's V8", async () => {
    let seen: unknown = 'unset';
    let me: unknown = 'unset';
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the case under test is a thenable
      then(resolve: (v: number) => void) {
        seen = currentTask();
        resolve(1);
      },
    };
    await run(async () => {
      me = currentTask();
      assert.equal(await thenable, 1);
    });
    // V8 11 (Node 20) runs the job that calls a thenable's `then` without the embedder data;
    // V8 12 and later (Node 22) carry it there too.
    const v8Major = Number(process.versions.v8.split('.')[0]);
    assert.equal(seen, contextBackend() === 'native' && v8Major < 12 ? null : me);
  });
});

describe('weft evaluated inside a vm context', () => {
  test("tasks keep their identity across awaits and finish (the addon binds to weft's context)", async () => {
    // What a test runner that evaluates modules in a vm context does: weft's code compiled in
    // another context, the addon loaded with the real require.
    const entry = `
      import { run, sleep, createTask, currentTask } from './src/asyncio/index.ts';
      import { contextBackend } from './src/internal/context.ts';
      export async function main() {
        const out = [contextBackend()];
        await run(async () => {
          const t = createTask(async () => {
            const a = currentTask()?.name ?? null;
            await sleep(0);
            await Promise.resolve();
            return [a, currentTask()?.name ?? null];
          }, { name: 'T' });
          out.push(await t);
        });
        return out;
      }`;
    const bundle = buildSync({
      stdin: { contents: entry, resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      define: { 'import.meta.url': JSON.stringify(`file://${root}src/internal/context.ts`) },
      logLevel: 'silent',
    });
    const module = { exports: {} as { main?: () => Promise<unknown[]> } };
    const sandbox = {
      require: createRequire(`${root}src/internal/context.ts`),
      module,
      exports: module.exports,
      process,
      console,
      setTimeout,
      clearTimeout,
      setImmediate,
      clearImmediate,
      queueMicrotask,
      performance,
      AbortController,
      AbortSignal,
      Buffer,
      FinalizationRegistry,
      WeakRef,
      structuredClone,
      EventTarget,
      Event,
      TextEncoder,
      TextDecoder,
    };
    vm.runInNewContext((bundle.outputFiles[0] as { text: string }).text, sandbox, {
      filename: 'weft-bundle.js',
    });
    const out = (await (module.exports.main as () => Promise<unknown[]>)()) as unknown[];
    // Arrays of the other realm: compare their JSON.
    assert.equal(JSON.stringify(out.slice(1)), JSON.stringify([['T', 'T']]));
    assert.equal(out[0], contextBackend());
  });
});

describe('Future.then read off the prototype', () => {
  test('applied to a future inside a task, it settles from that future', async () => {
    await run(async () => {
      const fut = new Future<number>();
      const t = createTask(async () => {
        const then = Future.prototype.then;
        return await new Promise((resolve, reject) => then.call(fut, resolve, reject));
      });
      await sleep(1);
      fut.setResult(42);
      assert.equal(await t, 42);
    });
  });
});
