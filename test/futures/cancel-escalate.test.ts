/**
 * Escalating a cancellation: `cancel({ interrupt: true })` cancels the future at once, but a call
 * that ignores its `taskSignal()` runs on. A later `cancel({ force: true })` must still end that
 * call's worker (as a force cancel of a running call does), or nothing could stop it, and
 * `shutdown({ wait: true })` would wait for it for ever. It returns true, as Python's `cancel()`
 * of a cancelled future does. A force that comes after the call has ended ends no worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CancelledError,
  type Executor,
  type Future,
  ProcessPoolExecutor,
  ThreadPoolExecutor,
} from '../../src/futures/index.js';
import { Event, Lock, OwnerDiedError } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { holdUntilFile, startedThenAbort, startedThenGate } from './fixtures/escalate-tasks.js';
import { whoAmI } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

/** Far above a worker's end and replacement on a loaded machine; reached only by a hang. */
const PATIENCE = 20_000;

const gateDir = mkdtempSync(join(tmpdir(), 'weft-escalate-'));
after(() => rmSync(gateDir, { recursive: true, force: true }));
let gates = 0;

/**
 * A gate for `startedThenGate`: `started` is the file the call creates as it begins, `path` the
 * one it waits for; `open()` (or leaving the scope) creates that, ending the call.
 */
function fileGate(): {
  path: string;
  started: string;
  open(): void;
  [Symbol.dispose](): void;
} {
  const path = join(gateDir, String(++gates));
  const open = () => writeFileSync(path, '');
  return { path, started: `${path}.started`, open, [Symbol.dispose]: open };
}

/** Until the call gated by `gate` runs (a call sent to a child counts as running before). */
async function untilStarted(gate: { started: string }): Promise<void> {
  await until(() => existsSync(gate.started), 'the call running in its worker');
}

/** Whether `p` settles within `ms` (a bound that only turns a hang into a failure). */
async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const kinds: Array<{ name: string; make(): Executor }> = [
  { name: 'ThreadPoolExecutor', make: () => new ThreadPoolExecutor({ maxWorkers: 1 }) },
  { name: 'ProcessPoolExecutor', make: () => new ProcessPoolExecutor({ maxWorkers: 1 }) },
];

/**
 * One pool of each kind, its worker started before the tests (the leak check counts it), for the
 * tests where a force must end no worker: they leave it idle, and each compares the worker's
 * identity from its own start. A test that ends a worker has a pool of its own.
 */
const shared = new Map<string, Executor>();
before(async () => {
  for (const k of kinds) {
    const ex = k.make();
    shared.set(k.name, ex);
    await ex.submit(whoAmI).result();
  }
});
after(async () => {
  for (const ex of shared.values()) await ex.shutdown();
});

/** The shared pool of `name`'s kind. */
const sharedPool = (name: string): Executor => shared.get(name) as Executor;

for (const k of kinds) {
  describe(`${k.name}: force after interrupt`, () => {
    test('ends the worker of an interrupted call that ignores its signal; shutdown then ends', async () => {
      const ex = k.make();
      using gate = fileGate();
      try {
        const before = await ex.submit(whoAmI).result();
        const f = ex.submit(startedThenGate, gate.started, gate.path); // deaf to taskSignal()
        await untilStarted(gate);
        const queued = ex.submit(whoAmI); // behind it: the pool's one worker is busy
        assert.equal(f.cancel({ interrupt: true }), true);
        assert.equal(f.cancelled(), true);
        const down = ex.shutdown();
        // The call runs on, so shutdown waits for it, as Python's waits for a running call.
        assert.equal(await settles(down, 200), false, 'shutdown ended while the call still ran');
        // Python: cancel() of a cancelled future is True; here it also ends the worker.
        assert.equal(f.cancel({ force: true }), true);
        await assert.rejects(f.result(), CancelledError);
        assert.equal(await settles(down, PATIENCE), true, 'shutdown still waits after the force');
        // The queued call ran on a replacement worker.
        const other = await queued.result();
        assert.notEqual(other, before);
      } finally {
        gate.open();
        await ex.shutdown();
      }
    });

    test('a force after the interrupted call has ended ends no worker', async () => {
      const ex = sharedPool(k.name);
      using gate = fileGate();
      try {
        const f = ex.submit(startedThenGate, gate.started, gate.path);
        await untilStarted(gate);
        assert.equal(f.cancel({ interrupt: true }), true);
        gate.open();
        // One worker, sent a call only when idle: this one runs after the first has ended
        // and its outcome has come back.
        const same = await ex.submit(whoAmI).result();
        assert.equal(f.cancel({ force: true }), true);
        assert.equal(await ex.submit(whoAmI).result(), same);
      } finally {
        gate.open();
      }
    });

    test('a second force, or an interrupt after the force, ends nothing more', async () => {
      const ex = k.make();
      using gate = fileGate();
      using gate2 = fileGate();
      try {
        const f = ex.submit(startedThenGate, gate.started, gate.path);
        await untilStarted(gate);
        assert.equal(f.cancel({ interrupt: true }), true);
        assert.equal(f.cancel({ force: true }), true);
        // Bounded: were the worker not ended, this call would wait behind the gated one.
        const replacement = await ex.submit(whoAmI).result({ timeout: PATIENCE });
        const g = ex.submit(startedThenGate, gate2.started, gate2.path);
        await untilStarted(gate2);
        assert.equal(f.cancel({ force: true }), true);
        assert.equal(f.cancel({ interrupt: true }), true);
        assert.equal(f.cancel(), true);
        gate2.open();
        // Run once, on the replacement: its worker was not ended (a re-run would be elsewhere).
        assert.equal(await g.result(), replacement);
        assert.equal(await settles(ex.shutdown(), PATIENCE), true);
      } finally {
        gate.open();
        gate2.open();
        await ex.shutdown();
      }
    });

    test('a force once the outcome is back ends nothing, while the worker runs on in the batch', async () => {
      const ex = sharedPool(k.name);
      using gateA = fileGate();
      using gateC = fileGate();
      try {
        const before = await ex.submit(whoAmI).result();
        // More calls than one worker is given one at a time: one batch, A first and C last.
        const a = ex.submit(startedThenGate, gateA.started, gateA.path); // deaf to its signal
        const quick = [1, 2, 3, 4].map(() => ex.submit(whoAmI));
        const c = ex.submit(startedThenGate, gateC.started, gateC.path);
        await untilStarted(gateA);
        assert.equal(a.cancel({ interrupt: true }), true);
        gateA.open();
        // Their outcomes come with A's or after it: the pool has A's outcome.
        for (const q of quick) assert.equal(await q.result(), before);
        await untilStarted(gateC);
        assert.equal(a.cancel({ force: true }), true);
        const d = ex.submit(whoAmI); // behind C, in the same worker unless it was ended
        gateC.open();
        assert.equal(await c.result(), before, 'C ran again: its worker was ended');
        assert.equal(await d.result(), before, 'the worker was ended');
      } finally {
        gateA.open();
        gateC.open();
      }
    });
  });
}

/**
 * A child process is sent a batch of calls (they count as running, as in CPython), so a call of it
 * interrupted before it started is skipped there rather than withdrawn. The skip is done: a force
 * must end nothing, while the child runs another call of that batch or a later one.
 */
describe('ProcessPoolExecutor: force after the interrupt of a call the child skipped', () => {
  /**
   * Submits one batch (five calls at least: more than an idle worker is given one at a time), A
   * first then B and `more` others; interrupts B while A runs, then A (which heeds it): the child
   * handles its messages in order, so it has B's interrupt before it goes past A, and skips B.
   */
  async function skipB(ex: ProcessPoolExecutor, more: () => Array<Future<string>>) {
    using gateA = fileGate();
    const a = ex.submit(startedThenAbort, gateA.started);
    const b = ex.submit(whoAmI);
    const others = more();
    await untilStarted(gateA);
    assert.equal(b.running(), true, 'B was not sent to the child with A');
    assert.equal(b.cancel({ interrupt: true }), true);
    assert.equal(a.cancel({ interrupt: true }), true);
    return { b, others };
  }

  test('the next call of the batch runs once, in the same child', async () => {
    const ex = sharedPool('ProcessPoolExecutor') as ProcessPoolExecutor;
    using gateC = fileGate();
    try {
      const before = await ex.submit(whoAmI).result();
      const { b, others } = await skipB(ex, () => [
        ex.submit(whoAmI),
        ex.submit(startedThenGate, gateC.started, gateC.path),
        ex.submit(whoAmI),
      ]);
      const [q, c, r] = others as [Future<string>, Future<string>, Future<string>];
      // The child reports the skip before it starts Q, and Q's outcome before it awaits C.
      assert.equal(await q.result(), before);
      await untilStarted(gateC);
      assert.equal(b.cancel({ force: true }), true);
      const d = ex.submit(whoAmI);
      gateC.open();
      assert.equal(await c.result(), before, 'C ran again: its child was ended');
      assert.equal(await r.result(), before);
      assert.equal(await d.result(), before, 'the child was ended');
    } finally {
      gateC.open();
    }
  });

  test('after the batch has ended, a force ends nothing', async () => {
    const ex = sharedPool('ProcessPoolExecutor') as ProcessPoolExecutor;
    using gateC = fileGate();
    try {
      const before = await ex.submit(whoAmI).result();
      const { b, others } = await skipB(ex, () => [1, 2, 3].map(() => ex.submit(whoAmI)));
      for (const f of others) assert.equal(await f.result(), before);
      const c = ex.submit(startedThenGate, gateC.started, gateC.path);
      await untilStarted(gateC);
      assert.equal(b.cancel({ force: true }), true);
      const d = ex.submit(whoAmI);
      gateC.open();
      assert.equal(await c.result(), before, 'C ran again: its child was ended');
      assert.equal(await d.result(), before, 'the child was ended');
    } finally {
      gateC.open();
    }
  });
});

describe('ThreadPoolExecutor: escalation and locks', () => {
  test('the Lock an interrupted, force-ended call held is handed back (OwnerDiedError)', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    using gate = fileGate();
    try {
      const lock = new Lock();
      const held = new Event();
      const f = ex.submit(holdUntilFile, lock, held, gate.path); // deaf to its signal
      assert.equal(await held.wait({ timeout: PATIENCE }), true);
      assert.equal(f.cancel({ interrupt: true }), true);
      const waiting = lock.acquire({ timeout: PATIENCE });
      assert.equal(f.cancel({ force: true }), true);
      await assert.rejects(waiting, OwnerDiedError);
      assert.equal(lock.locked(), false);
    } finally {
      gate.open();
      await ex.shutdown();
    }
  });

  test('a done-callback of the interrupt may escalate it at once', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    using gate = fileGate();
    try {
      const f = ex.submit(startedThenGate, gate.started, gate.path);
      await untilStarted(gate);
      let answer: boolean | null = null;
      f.addDoneCallback((d) => {
        answer = d.cancel({ force: true });
      });
      assert.equal(f.cancel({ interrupt: true }), true);
      assert.equal(answer, true);
      assert.equal(await settles(ex.shutdown(), PATIENCE), true, 'the worker was not ended');
    } finally {
      gate.open();
      await ex.shutdown();
    }
  });
});
