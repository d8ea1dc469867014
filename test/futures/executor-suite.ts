/**
 * One behavioural suite run against both executors (as CPython runs its executor tests against
 * thread and process pools): executor-thread.test.ts runs it against ThreadPoolExecutor and
 * executor-process.test.ts against ProcessPoolExecutor, each beside the tests of its pool alone.
 * (In one file, the two took too long on a loaded machine for the runner's per-file timeout.)
 * Pools are shared within a describe where a test leaves them usable: child processes are slow
 * to start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ExceptionGroup } from '../../src/asyncio/index.js';
import {
  type BrokenExecutor,
  CancelledError,
  type Executor,
  type Future,
  RuntimeError,
  TaskReferenceError,
  TimeoutError,
  wait,
} from '../../src/futures/index.js';
import { gc } from '../support/gc.js';
import { until } from '../support/until.js';
import {
  add,
  exitWith,
  FieldError,
  failInit,
  forever,
  inc,
  init,
  readInit,
  returnsFunction,
  sleepThen,
  spinUntilAborted,
  throwKinds,
  throwLater,
  throwRange,
  UnregisteredError,
  untilAborted,
  untilFile,
  whoAmI,
  whoAmIAfterFile,
} from './fixtures/tasks.js';

/** A writable that records what it is given and claims to be a terminal (or not). */
export function fakeStream(isTTY: boolean): {
  isTTY: boolean;
  columns: number;
  write(s: string): boolean;
  text(): string;
  writes(): number;
} {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 100,
    write(s: string) {
      chunks.push(String(s));
      return true;
    },
    text: () => chunks.join(''),
    writes: () => chunks.length,
  };
}

/** Runs the garbage collector until `ref`'s target is gone, `tries` times at most. */
export async function collect(ref: WeakRef<object>, tries: number): Promise<void> {
  for (let i = 0; i < tries && ref.deref() !== undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
}

export type Kind = {
  name: string;
  make(o?: Record<string, unknown>): Executor & { shutdown: Executor['shutdown'] };
  Broken: typeof BrokenExecutor;
};

/** The suite's tests for the pool `k` makes (call it once, at the top of a test file). */
export function executorSuite(k: Kind): void {
  const gateDir = mkdtempSync(join(tmpdir(), 'weft-gates-'));
  after(() => rmSync(gateDir, { recursive: true, force: true }));
  let gates = 0;

  /**
   * A gate for `untilFile`: a path nobody has created yet; `open()` creates it. Disposing opens it
   * too, so a test that fails before opening it leaves no call running.
   */
  function fileGate(): { path: string; open(): void; [Symbol.dispose](): void } {
    const path = join(gateDir, String(++gates));
    const open = () => writeFileSync(path, '');
    return { path, open, [Symbol.dispose]: open };
  }

  describe(`${k.name}`, () => {
    let ex: Executor;
    before(async () => {
      ex = k.make({ maxWorkers: 2 });
      // Start both workers now, so that no test sees one appear (the leak check counts them).
      await Promise.all([ex.submit(sleepThen, 100, 0), ex.submit(sleepThen, 100, 0)]);
    });
    after(async () => {
      await ex.shutdown();
    });

    test('submit runs a marked function with cloned arguments', async () => {
      assert.equal(await ex.submit(add, 2, 3).result(), 5);
      const arr = [1, 2];
      assert.equal(await ex.submit((xs: number[]) => xs.push(3), arr), 3);
      assert.deepEqual(arr, [1, 2]);
    });

    test('numbers travel in bulk and come back exact (−0, NaN, fractions, beyond int32)', async () => {
      // Enough calls for a batch of many: all-number arguments and outcomes go as typed arrays.
      const xs = [-0, Number.NaN, 0.1, 2 ** 40, -(2 ** 31), 2 ** 31, Infinity, 7];
      const args = Array.from({ length: 96 }, (_, i) => xs[i % xs.length] as number);
      const fs = args.map((x) => ex.submit((v: number) => v, x));
      const back = await Promise.all(fs);
      for (let i = 0; i < args.length; i++) assert.ok(Object.is(back[i], args[i]), `#${i}`);
      // One outcome that is not a number among them: the others are unchanged.
      const mixed = args.map((x, i) =>
        ex.submit((v: number, j: number) => (j === 40 ? { v } : v), x, i),
      );
      const out = await Promise.all(mixed);
      assert.deepEqual(out[40], { v: args[40] });
      for (let i = 0; i < args.length; i++) if (i !== 40) assert.ok(Object.is(out[i], args[i]));
    });

    test('a future shows as its Python repr in util.inspect, not the pool bookkeeping', async () => {
      const f = ex.submit(add, 1, 2);
      assert.match(inspect(f), /^<Future state=(pending|running)>$/);
      await f;
      assert.equal(inspect(f), '<Future state=finished returned 3>');
    });

    test('submit of a self-contained inline function runs it', async () => {
      assert.equal(await ex.submit((s: string) => s.toUpperCase(), 'ab'), 'AB');
      assert.equal(await ex.submit(async (x: number) => x * 2, 21), 42);
      assert.equal(
        await ex.submit(async function twice(x: number) {
          return x * 2;
        }, 4),
        8,
      );
    });

    test('an inline function using its closure fails with a clear TaskReferenceError', async () => {
      const secret = 41;
      const f = ex.submit(() => secret + 1);
      await assert.rejects(
        f.result(),
        (e: Error) =>
          e instanceof TaskReferenceError &&
          // An anonymous function is named by the start of its source, not "(anonymous)" (tsx
          // compiles it without spaces).
          /^Function `\(\) ?=> ?secret ?\+ ?1` uses `secret` from its closure/.test(e.message) &&
          e.message.includes('task(import.meta, fn)'),
      );
    });

    test('an inline function using syntax the compiler lowers names the helper, not "pass it through args"', async () => {
      // `using` is lowered by the TypeScript compiler (tsx's esbuild here, tsc for dist) into
      // calls of helpers defined at the top of this module, which the copy of the source lacks.
      const f = ex.submit(() => {
        using held = { [Symbol.dispose]() {} };
        return held === null;
      });
      await assert.rejects(
        f.result(),
        (e: Error) =>
          e instanceof TaskReferenceError &&
          /calls `__\w+`, which does not exist in the worker: it is most likely a helper your TypeScript compiler put at the top of the module/.test(
            e.message,
          ) &&
          !e.message.includes('through args') &&
          e.message.includes('task(import.meta, fn)'),
      );
    });

    test('an error keeps its class and message, with the remote stack as cause', async () => {
      const err = await ex.submit(throwRange, 'out of range').exception();
      assert.ok(err instanceof RangeError);
      assert.equal((err as Error).message, 'out of range');
      const cause = (err as Error).cause as Error;
      assert.equal(cause.name, 'RemoteStack');
      assert.match(cause.stack ?? '', /tasks\.[jt]s/);
    });

    test('error classes come back: registered ones as themselves, others as the nearest built-in, groups with their errors', async () => {
      const field = await ex.submit(throwKinds, 'field').exception();
      assert.ok(field instanceof FieldError, 'a registered class comes back as itself');
      assert.equal(field.field, 'age');
      assert.equal(field.message, 'must be positive');
      assert.equal(field.describe(), 'age: must be positive', 'its methods work');
      const other = await ex.submit(throwKinds, 'unregistered').exception();
      assert.ok(other instanceof RangeError && !(other instanceof UnregisteredError));
      assert.equal(other.message, 'mine');
      const agg = await ex.submit(throwKinds, 'aggregate').exception();
      assert.ok(agg instanceof AggregateError);
      assert.equal(agg.message, 'several');
      assert.ok(agg.errors[0] instanceof RangeError);
      assert.equal(agg.errors[0].message, 'r');
      assert.deepEqual(agg.errors.slice(1), ['text', 7]);
      const group = await ex.submit(throwKinds, 'group').exception();
      assert.ok(group instanceof ExceptionGroup);
      assert.equal(group.message, 'group');
      assert.equal(group.exceptions.length, 2);
      assert.ok(group.exceptions[0] instanceof FieldError);
      const inner = group.exceptions[1];
      assert.ok(inner instanceof ExceptionGroup);
      assert.ok(inner.exceptions[0] instanceof TypeError);
      const outer = await ex.submit(throwKinds, 'cause').exception();
      const remote = (outer as Error).cause as Error;
      assert.equal(remote.name, 'RemoteStack');
      assert.ok(remote.cause instanceof FieldError, 'the cause keeps its class');
      assert.equal(remote.cause.field, 'b');
    });

    test('map yields results in input order over zipped iterables', async () => {
      const out: number[] = [];
      for await (const v of ex.map(add, [
        [1, 2, 3, 4],
        [10, 20, 30],
      ]))
        out.push(v);
      assert.deepEqual(out, [11, 22, 33]);
    });

    test('map with a chunksize keeps order over a large lazy iterable', async () => {
      function* gen(): Generator<number> {
        for (let i = 0; i < 5000; i++) yield i;
      }
      let i = 0;
      for await (const v of ex.map(inc, [gen()], { chunksize: 64 })) {
        assert.equal(v, i + 1);
        i++;
      }
      assert.equal(i, 5000);
    });

    test('chunked map carries every kind of number exactly, and mixed values too', async () => {
      // Chunks of numbers travel as typed arrays (src/internal/pool/pack.ts): nothing may change.
      const edge = [0, -0, 1.5, -1e308, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, NaN, Infinity, -Infinity];
      const nums = Array.from({ length: 200 }, (_, i) => edge[i % edge.length] as number);
      const out: number[] = [];
      for await (const v of ex.map((x: number) => x, [nums], { chunksize: 50 })) out.push(v);
      assert.equal(out.length, nums.length);
      for (let i = 0; i < nums.length; i++) assert.ok(Object.is(out[i], nums[i]), `item ${i}`);
      // A function returning numbers for some items and strings for others, and a chunk mixing
      // numbers with other values: the generic path, same results.
      const mixed = Array.from({ length: 100 }, (_, i) => (i === 77 ? 'seven' : i));
      const back: unknown[] = [];
      for await (const v of ex.map((x: unknown) => (x === 40 ? 'forty' : x), [mixed], {
        chunksize: 30,
      }))
        back.push(v);
      assert.deepEqual(
        back,
        mixed.map((x) => (x === 40 ? 'forty' : x)),
      );
    });

    test('chunked map over a holey or mutated array reads it as its iterator would', async () => {
      const holey: Array<number | undefined> = new Array(40);
      for (let i = 0; i < 40; i += 2) holey[i] = i;
      const out: unknown[] = [];
      for await (const v of ex.map((x: unknown) => x ?? 'hole', [holey], { chunksize: 16 }))
        out.push(v);
      assert.deepEqual(
        out,
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? i : 'hole')),
      );
      // Items appended before map reads that far are seen, as by an array iterator.
      const grow = Array.from({ length: 10 }, (_, i) => i);
      const it = ex.map(inc, [grow], { chunksize: 4, buffersize: 1 });
      const got: number[] = [];
      for await (const v of it) {
        got.push(v);
        if (got.length === 1) grow.push(10, 11);
      }
      assert.deepEqual(
        got,
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    });

    test('map reports progress as calls finish', async () => {
      const seen: Array<[number, number]> = [];
      const out: number[] = [];
      for await (const v of ex.map(inc, [[1, 2, 3, 4, 5]], {
        chunksize: 2,
        onProgress: (c, s) => seen.push([c, s]),
      })) {
        out.push(v);
      }
      assert.deepEqual(out, [2, 3, 4, 5, 6]);
      assert.equal(seen.at(-1)?.[0], 5);
      assert.ok(seen.every(([c, s]) => c <= s && s === 5));
    });

    test('map with progress draws a bar on a terminal stream and stops it at the end', async () => {
      const tty = fakeStream(true);
      const out: number[] = [];
      for await (const v of ex.map(inc, [Array.from({ length: 300 }, (_, i) => i)], {
        chunksize: 50,
        progress: { stream: tty, label: 'inc' },
      }))
        out.push(v);
      assert.equal(out.length, 300);
      const text = tty.text();
      assert.match(text, /300\/300 \| inc/);
      assert.match(text, /100%/);
      assert.ok(text.endsWith('\n'), 'stopped: the bar ends its line');
      // A stream that is not a terminal gets nothing at all.
      const pipe = fakeStream(false);
      for await (const _ of ex.map(inc, [[1, 2, 3]], { progress: { stream: pipe } })) {
      }
      assert.equal(pipe.text(), '');
    });

    test('map with progress stops the bar on an error and when the loop is left early', async () => {
      const failing = fakeStream(true);
      await assert.rejects(async () => {
        for await (const _ of ex.map(
          (x: number) => {
            if (x === 3) throw new TypeError('no 3');
            return x;
          },
          [[0, 1, 2, 3, 4]],
          { progress: { stream: failing } },
        )) {
        }
      }, /no 3/);
      assert.ok(failing.text().endsWith('\n'));
      const writes = failing.writes();
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(failing.writes(), writes, 'no redraw after stop');

      const early = fakeStream(true);
      function* endless(): Generator<number> {
        for (let i = 0; ; i++) yield i;
      }
      for await (const v of ex.map(inc, [endless()], { chunksize: 8, progress: { stream: early } }))
        if (v > 20) break;
      assert.ok(early.text().endsWith('\n'));
      const n = early.writes();
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(early.writes(), n, 'no redraw after stop');
      assert.throws(() => ex.map(inc, [[1]], { progress: 'yes' as never }), TypeError);
    });

    test('map rethrows the first failure in order', async () => {
      const it = ex.map(
        (x: number) => {
          if (x === 2) throw new TypeError(`bad ${x}`);
          return x;
        },
        [[0, 1, 2, 3]],
      );
      const got: number[] = [];
      await assert.rejects(async () => {
        for await (const v of it) got.push(v);
      }, /bad 2/);
      assert.deepEqual(got, [0, 1]);
    });

    test('an input that throws ends the map with its error at the read that refills', async () => {
      function* failing(): Generator<number> {
        yield 1;
        yield 2;
        yield 3;
        throw new RangeError('input broke');
      }
      const it = ex.map(inc, [failing()], { buffersize: 2 });
      const got: number[] = [];
      await assert.rejects(async () => {
        for await (const v of it) {
          got.push(v);
          // Reading slower than the pool finishes: the next read finds its call done (the
          // path that hands a finished result over at once), and refilling meets the throw.
          await new Promise((r) => setTimeout(r, 50));
        }
      }, /input broke/);
      assert.deepEqual(got, [2]);
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    });

    test('map with a timeout throws TimeoutError and cancels the rest', async () => {
      await assert.rejects(async () => {
        for await (const _ of ex.map(
          sleepThen,
          [
            [5, 400],
            [1, 2],
          ],
          { timeout: 100 },
        )) {
          // the second result is not ready in time
        }
      }, TimeoutError);
    });

    test('workers are reused: two workers serve many calls', async () => {
      const fs = Array.from({ length: 12 }, () => ex.submit(whoAmI, 5));
      const ids = new Set(await Promise.all(fs.map((f) => f.result())));
      assert.ok(ids.size >= 1 && ids.size <= 2, `ids: ${[...ids]}`);
      const again = new Set(
        await Promise.all(Array.from({ length: 6 }, () => ex.submit(whoAmI, 5).result())),
      );
      for (const id of again) assert.ok(ids.has(id), `a new worker ${id} appeared`);
    });

    test('cancel of a queued call succeeds and it never runs', async () => {
      // Both workers stay in a call until the gate opens: after a 60 ms sleep, 150 ms calls
      // could be over on a loaded machine, and a free worker take the call to be cancelled.
      using gate = fileGate();
      const busy = [ex.submit(untilFile, gate.path, 'a'), ex.submit(untilFile, gate.path, 'b')];
      await until(() => busy.every((f) => f.running()), 'both workers busy');
      const queued = ex.submit(sleepThen, 1, 'queued');
      assert.equal(queued.cancel(), true);
      assert.equal(queued.cancelled(), true);
      await assert.rejects(queued.result(), CancelledError);
      gate.open();
      assert.deepEqual(await Promise.all(busy.map((f) => f.result())), ['a', 'b']);
    });

    test('cancel of a running call returns false without interrupt', async () => {
      // The call runs until the test opens its gate: a 100 ms call checked after 40 ms was not
      // yet claimed by a worker, or already over, on a loaded machine.
      using gate = fileGate();
      const f = ex.submit(untilFile, gate.path, 'done');
      await until(() => f.running(), 'the call to start running');
      assert.equal(f.cancel(), false);
      gate.open();
      assert.equal(await f.result(), 'done');
    });

    test('cancel with interrupt aborts the taskSignal of an async call', async () => {
      const f = ex.submit(untilAborted);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(f.cancel({ interrupt: true }), true);
      await assert.rejects(f.result(), CancelledError);
      // The worker is free again: a new call is served.
      assert.equal(await ex.submit(add, 1, 1).result({ timeout: 10000 }), 2);
    });

    test('a synchronous call polling taskSignal sees an interrupt (threads)', {
      skip: k.name !== 'ThreadPoolExecutor',
    }, async () => {
      // A child process has no shared memory: only an async call can see the interrupt there.
      const f = ex.submit(spinUntilAborted, 3000);
      await until(() => f.running(), 'the call to start running');
      const t0 = Date.now();
      f.cancel({ interrupt: true });
      await assert.rejects(f.result(), CancelledError);
      await ex.submit(add, 0, 0).result();
      assert.ok(Date.now() - t0 < 2500, 'the loop did not stop');
    });

    test('bad input: non-cloneable arguments fail that future only', async () => {
      const bad = ex.submit(add, (() => 1) as never, 2);
      const good = ex.submit(add, 1, 2);
      await assert.rejects(
        bad.result(),
        (e: Error) => e instanceof TypeError && /cannot be sent/.test(e.message),
      );
      assert.equal(await good.result(), 3);
    });

    test('bad input: a result that cannot be cloned fails with TypeError', async () => {
      await assert.rejects(ex.submit(returnsFunction).result(), TypeError);
    });

    test('bad input: unknown targets throw at submit', () => {
      assert.throws(() => ex.submit(42 as never), TypeError);
      class Nope {}
      assert.throws(() => ex.submit(Nope as never), TaskReferenceError);
      assert.throws(() => ex.submit(Math.max), TaskReferenceError);
    });
  });

  /** R running, P pending, C cancelled, D done: a burst's futures at a glance. */
  const states = <T>(fs: Future<T>[]): string =>
    fs.map((f) => (f.cancelled() ? 'C' : f.done() ? 'D' : f.running() ? 'R' : 'P')).join('');

  describe(`${k.name} dispatch`, () => {
    test('a burst finding one idle worker starts another: one call runs on each, the rest wait', async () => {
      // All 8 went to the one idle worker (a batch; in a child process all "running" at once)
      // and the second worker never started.
      const ex = k.make({ maxWorkers: 2 });
      const gates = Array.from({ length: 8 }, () => fileGate());
      try {
        const first = await ex.submit(whoAmI).result();
        const fs = gates.map((g) => ex.submit(whoAmIAfterFile, g.path));
        await until(() => fs[0]?.running() === true && fs[1]?.running() === true, 'two running');
        assert.equal(states(fs), 'RRPPPPPP');
        assert.equal(fs[7]?.cancel(), true);
        gates[0]?.open();
        gates[1]?.open();
        const [a, b] = await Promise.all([fs[0]?.result(), fs[1]?.result()]);
        assert.equal(a, first);
        assert.notEqual(b, first);
        for (const g of gates) g.open();
        const ids = new Set(await Promise.all(fs.slice(0, 7).map((f) => f.result())));
        assert.deepEqual([...ids].sort(), [a, b].sort());
      } finally {
        for (const g of gates) g.open();
        await ex.shutdown();
      }
    });

    test('shutdown with cancelFutures after a burst cancels every call not running', async () => {
      // As CPython (DDCCCCCC here): weft had all 8 running in one worker and cancelled none.
      const ex = k.make({ maxWorkers: 2 });
      const gates = Array.from({ length: 8 }, () => fileGate());
      try {
        await ex.submit(whoAmI).result();
        const fs = gates.map((g) => ex.submit(whoAmIAfterFile, g.path));
        await until(() => fs[0]?.running() === true && fs[1]?.running() === true, 'two running');
        const down = ex.shutdown({ cancelFutures: true });
        assert.equal(states(fs), 'RRCCCCCC');
        for (const g of gates) g.open();
        await down;
        assert.equal(states(fs), 'DDCCCCCC');
      } finally {
        for (const g of gates) g.open();
        await ex.shutdown();
      }
    });
  });

  describe(`${k.name} lifecycle and faults`, () => {
    test('bad input: maxWorkers 0 is a RangeError', () => {
      assert.throws(() => k.make({ maxWorkers: 0 }), RangeError);
      assert.throws(() => k.make({ maxWorkers: 1.5 }), TypeError);
    });

    test('submit after shutdown throws RuntimeError at once', async () => {
      const ex = k.make({ maxWorkers: 1 });
      await ex.shutdown();
      assert.throws(() => ex.submit(add, 1, 2), RuntimeError);
    });

    test('initializer runs in each worker with initargs; a failing one breaks the pool', async () => {
      // The pool of the first half is also the test of `await using` (one worker the fewer to
      // start): it shuts the executor down at the end of the scope.
      let kept: Executor;
      {
        await using ex = k.make({ maxWorkers: 1, initializer: init, initargs: ['ready'] });
        kept = ex;
        assert.equal(await ex.submit(readInit).result(), 'ready');
      }
      assert.throws(() => kept.submit(inc, 1), RuntimeError, 'await using shut it down');
      const ex = k.make({ maxWorkers: 1, initializer: failInit });
      const f = ex.submit(add, 1, 2);
      const err = await f.exception();
      assert.ok(err instanceof k.Broken, String(err));
      assert.ok((err as Error).cause instanceof TypeError);
      assert.throws(() => ex.submit(add, 1, 2), k.Broken);
      await ex.shutdown();
    });

    test('shutdown with cancelFutures cancels the calls not started', async () => {
      const ex = k.make({ maxWorkers: 1 });
      // The first call runs until the gate opens: a 100 ms one could end before the polling
      // saw it running (then `until` never succeeds), or before the rest were queued.
      using gate = fileGate();
      const first = ex.submit(untilFile, gate.path, 'first');
      await until(() => first.running(), 'the first call to start running');
      const rest = Array.from({ length: 3 }, (_, i) => ex.submit(sleepThen, 1, i));
      const down = ex.shutdown({ cancelFutures: true });
      gate.open();
      await down;
      // Queued behind a busy worker, never sent: pending in a process pool too, so cancelled.
      for (const f of rest) assert.equal(f.cancelled(), true);
      assert.equal(await first.result(), 'first');
      const { notDone } = await wait(rest);
      assert.equal(notDone.size, 0);
    });

    test('a worker that exits mid-call breaks the pool with the cause; shutdown does not hang', async () => {
      const ex = k.make({ maxWorkers: 2 });
      const slow = ex.submit(sleepThen, 2000, 'slow');
      const f = ex.submit(exitWith, 3);
      const err = await f.exception();
      assert.ok(err instanceof k.Broken, String(err));
      assert.match(String(((err as Error).cause as Error)?.message), /exit code 3/);
      await assert.rejects(slow.result(), k.Broken);
      await ex.shutdown();
    });

    test('an uncaught error in a worker breaks the pool with that error as the cause', async () => {
      const ex = k.make({ maxWorkers: 1 });
      try {
        const err = await ex.submit(throwLater).exception();
        assert.ok(err instanceof k.Broken, String(err));
        const cause = (err as Error).cause as Error;
        assert.match(String(cause?.message ?? cause), /uncaught in a timer|exit code 1/);
      } finally {
        await ex.shutdown();
      }
    });

    test('force-cancelling a call that never ends replaces only its worker', async () => {
      const ex = k.make({ maxWorkers: 2 });
      // `other` runs until the gate opens: a 300 ms call could end before the polling saw
      // both running on a loaded machine.
      using gate = fileGate();
      const stuck = ex.submit(forever);
      const other = ex.submit(untilFile, gate.path, 'other');
      try {
        await until(() => stuck.running() && other.running(), 'both calls running');
        assert.equal(stuck.cancel({ force: true }), true);
        await assert.rejects(stuck.result(), CancelledError);
        gate.open();
        assert.equal(await other.result(), 'other');
        assert.equal(await ex.submit(add, 20, 22).result(), 42);
      } finally {
        stuck.cancel({ force: true });
        gate.open();
        await ex.shutdown();
      }
    });
  });
}
