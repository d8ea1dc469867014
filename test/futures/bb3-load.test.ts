/**
 * Executors under load and failure (bug bash 3): many more calls than workers, and done-callbacks
 * that act on the executor while it is dispatching.
 *
 * The regression: a call whose arguments cannot be cloned fails while the engine is sending its
 * batch, and its done-callbacks ran right there. One that called `shutdown()` made the engine
 * dispatch again inside the first dispatch: it saw the worker idle (its batch not yet recorded),
 * told it to stop, and the batch sent after the stop broke the pool — every other call of the
 * batch failed with BrokenThreadPool/BrokenProcessPool. Python runs them (its feeder fails the
 * unpicklable call alone; the rest run).
 *
 * Two more from the same round: a worker that ends itself (`process.exit()` in a call) lost the
 * outcomes of the calls it had just finished (buffered, not yet sent): they failed as broken
 * though they had run — CPython's workers send each result as it is made, and keep them. And a
 * process pool broken while its other worker was idle (unref'd) let the event loop run dry
 * while `shutdown()` waited for that worker to die: a top-level `await ex.shutdown()` ended the
 * process with exit code 13 (unsettled top-level await).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  asCompleted,
  type Executor,
  FIRST_COMPLETED,
  type Future,
  ProcessPoolExecutor,
  ThreadPoolExecutor,
  wait,
} from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runScript, type ScriptRun } from '../support/run-script.js';
import { add, exitWith, sleepThen } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 60_000;

/** How each future ended: 'ok', 'cancelled' or its error's class name. */
async function outcomes(fs: ReadonlyArray<Future<any>>): Promise<string[]> {
  const out: string[] = [];
  for (const f of fs) {
    if (f.cancelled()) {
      out.push('cancelled');
      continue;
    }
    const e = await f.exception({ timeout: PATIENCE });
    out.push(e === undefined ? 'ok' : (e as Error).name);
  }
  return out;
}

const kinds: Array<{ name: string; make: () => Executor }> = [
  { name: 'ThreadPoolExecutor', make: () => new ThreadPoolExecutor({ maxWorkers: 1 }) },
  { name: 'ProcessPoolExecutor', make: () => new ProcessPoolExecutor({ maxWorkers: 1 }) },
];

for (const k of kinds) {
  describe(`${k.name}: a done-callback that shuts down while a batch is being sent`, () => {
    for (const how of [{ wait: false }, { wait: true }]) {
      test(`shutdown(${JSON.stringify(how)}) from the callback of a call that cannot be sent lets the batch's other calls run`, async () => {
        const ex = k.make();
        try {
          const fs = Array.from({ length: 20 }, (_, i) =>
            // A function cannot be cloned: call 3 fails at dispatch, in the same batch as the rest.
            ex.submit(add, i === 3 ? ((() => 1) as never) : i, 100),
          );
          const order: string[] = [];
          let closing: Promise<void> | null = null;
          fs[3]?.addDoneCallback(() => {
            order.push('callback');
            closing = ex.shutdown(how);
          });
          const got = await outcomes(fs);
          assert.deepEqual(order, ['callback']);
          assert.deepEqual(
            got,
            fs.map((_, i) => (i === 3 ? 'TypeError' : 'ok')),
          );
          assert.deepEqual(
            fs.filter((_, i) => i !== 3).map((f) => (f as Future<number>)._resultNow()),
            Array.from({ length: 20 }, (_, i) => i + 100).filter((_, i) => i !== 3),
          );
          await closing;
          assert.throws(() => ex.submit(add, 1, 1), { name: 'RuntimeError' });
        } finally {
          await ex.shutdown();
        }
      });
    }

    test('a callback that cancels the other queued calls while a batch is being sent loses none', async () => {
      const ex = k.make();
      try {
        const fs = Array.from({ length: 30 }, (_, i) =>
          ex.submit(add, i === 0 ? ((() => 1) as never) : i, 0),
        );
        fs[0]?.addDoneCallback(() => {
          for (const f of fs) f.cancel();
        });
        const got = await outcomes(fs);
        assert.equal(got[0], 'TypeError');
        // Every other call either ran or was cancelled (none is left pending, none broke).
        for (const g of got.slice(1)) assert.ok(g === 'ok' || g === 'cancelled', g);
        assert.ok(fs.every((f) => f.done()));
      } finally {
        await ex.shutdown();
      }
    });
  });
}

/** Runs a fixture script in its own process; resolves to its exit code and output. */
function runFixture(name: string, args: string[]): Promise<ScriptRun> {
  return runScript(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), args, PATIENCE);
}

for (const k of kinds) {
  describe(`${k.name}: a worker that ends itself`, () => {
    test('the calls it finished before it ended keep their results; the rest break', async () => {
      const ex = k.make();
      try {
        // The worker first, so that the calls below go to it as one batch, run back to back.
        await ex.submit(add, 0, 0).result({ timeout: PATIENCE });
        const before = Array.from({ length: 20 }, (_, i) => ex.submit(add, i, 0));
        const exit = ex.submit(exitWith, 3) as unknown as Future<unknown>;
        const behind = Array.from({ length: 5 }, (_, i) => ex.submit(add, i, 0));
        const got = await outcomes([...before, exit, ...behind] as Future<unknown>[]);
        const broken = k.name === 'ThreadPoolExecutor' ? 'BrokenThreadPool' : 'BrokenProcessPool';
        assert.deepEqual(got, [...before.map(() => 'ok'), broken, ...behind.map(() => broken)]);
        assert.deepEqual(
          before.map((f) => f._resultNow()),
          before.map((_, i) => i),
        );
      } finally {
        await ex.shutdown();
      }
    });
  });
}

describe('shutdown of a broken pool keeps the process alive until its workers have exited', () => {
  for (const kind of ['process', 'thread']) {
    test(`a ${kind} pool: a top-level await ex.shutdown() completes`, async () => {
      const r = await runFixture('broken-shutdown-main.ts', [kind]);
      assert.equal(r.status, 0, `exit code ${r.status}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
      assert.match(r.stdout, /broken=Broken(Process|Thread)Pool\nshutdown done\n/);
    });
  }
});

describe('ThreadPoolExecutor with many more calls than workers', () => {
  let ex: ThreadPoolExecutor;
  before(async () => {
    ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    await Promise.all([ex.submit(sleepThen, 50, 0), ex.submit(sleepThen, 50, 0)]);
  });
  after(async () => {
    await ex.shutdown();
  });

  test('map yields 3,000 results in input order when later calls finish first', async () => {
    const xs = Array.from({ length: 3000 }, (_, i) => i);
    const out: number[] = [];
    // Every 50th call sleeps, so the calls behind it finish before it.
    const slowEvery50 = async (x: number): Promise<number> => {
      if (x % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      return x * 2;
    };
    for await (const v of ex.map(slowEvery50, [xs])) out.push(v);
    assert.deepEqual(
      out,
      xs.map((x) => x * 2),
    );
  });

  test('asCompleted over 10,000 futures yields each exactly once', async () => {
    const fs = Array.from({ length: 10_000 }, (_, i) => ex.submit(add, i, 0));
    const seen = new Set<Future<number>>();
    let n = 0;
    for await (const f of asCompleted(fs, { timeout: PATIENCE })) {
      n++;
      seen.add(f as Future<number>);
      assert.equal(f.done(), true);
    }
    assert.equal(n, 10_000);
    assert.equal(seen.size, 10_000);
    const sum = fs.reduce((s, f) => s + (f._resultNow() as number), 0);
    assert.equal(sum, (10_000 * 9_999) / 2);
  });

  test('wait(FIRST_COMPLETED) with thousands done at once splits them consistently', async () => {
    const fs = Array.from({ length: 5000 }, (_, i) => ex.submit(add, i, 0));
    const { done, notDone } = await wait(fs, { returnWhen: FIRST_COMPLETED, timeout: PATIENCE });
    assert.ok(done.size >= 1);
    assert.equal(done.size + notDone.size, 5000);
    for (const f of done) assert.equal(f.done(), true);
    const all = await wait(fs, { timeout: PATIENCE });
    assert.equal(all.done.size, 5000);
  });
});
