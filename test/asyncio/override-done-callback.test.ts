import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asCompleted,
  createTask,
  currentTask,
  type DoneCallback,
  Future,
  gather,
  getRunningLoop,
  run,
  shield,
  sleep,
  TimeoutError,
  wait,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/*
 * A Future subclass whose addDoneCallback and removeDoneCallback record their calls and defer to
 * Future's. CPython's combinators (and a task awaiting a future) call the add_done_callback and
 * remove_done_callback of the future they are given, so an override of a subclass sees them.
 * Each expected log below is what the same program printed under /usr/bin/python3 (3.11.2), with
 * an asyncio.Future subclass overriding add_done_callback and remove_done_callback alike.
 */
class Recording<T> extends Future<T> {
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {
    super();
  }

  override addDoneCallback(cb: DoneCallback<T>): void {
    this.log.push(`add ${this.name}`);
    super.addDoneCallback(cb);
  }

  override removeDoneCallback(cb: DoneCallback<T>): number {
    const n = super.removeDoneCallback(cb);
    this.log.push(`remove ${this.name} ${n}`);
    return n;
  }
}

describe("a Future subclass's own addDoneCallback", () => {
  test('gather calls it once for each distinct child, pending or done', async () => {
    // CPython: [1, 2, 1], ['gather', 'add a', 'add b', 'gathered'].
    const log: string[] = [];
    const r = await run(async () => {
      const a = new Recording<number>('a', log);
      const b = new Recording<number>('b', log);
      b.setResult(2);
      log.push('gather');
      const g = gather(a, b, a);
      log.push('gathered');
      a.setResult(1);
      return await g;
    });
    assert.deepEqual(r, [1, 2, 1]);
    assert.deepEqual(log, ['gather', 'add a', 'add b', 'gathered']);
  });

  for (const doneFirst of [true, false]) {
    test(`gather with such a child (${doneFirst ? 'done' : 'pending'} when given) keeps CPython's order`, async () => {
      // CPython, either way: ['d', 1], ['add d', 'x', 'outer', 'main']. Every child counts from
      // its callback on the ready queue, as with a future of another copy of weft.
      const log: string[] = [];
      const r = await run(async () => {
        const loop = getRunningLoop();
        const other = new Recording<string>('d', log);
        if (doneFirst) other.setResult('d');
        const t1 = createTask(async () => {
          createTask(async () => {
            loop.callSoon(() => log.push('x'));
          });
          return 1;
        });
        const g = gather(other, t1);
        if (!doneFirst) loop.callSoon(() => other.setResult('d'));
        g.addDoneCallback(() => log.push('outer'));
        const res = await g;
        log.push('main');
        await sleep(0);
        return res;
      });
      assert.deepEqual(r, ['d', 1]);
      assert.deepEqual(log, ['add d', 'x', 'outer', 'main']);
    });
  }

  test('gather is not settled early by an override that calls back at once', async () => {
    // No CPython counterpart (its callback finds no outer future yet and ignores the child, so
    // its gather never ends): weft counts the child from the ready queue instead.
    class Eager<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        cb(this);
      }
    }
    const r = await run(async () => {
      const e = new Eager<string>();
      e.setResult('e');
      const t = createTask(async () => {
        await sleep(0);
        return 't';
      });
      return await gather(e, t);
    });
    assert.deepEqual(r, ['e', 't']);
  });

  test('gather counts a child once, and only once it is done, whatever its override calls', async () => {
    // CPython 3.11 counts every call: this gather() raises InvalidStateError (the early call on
    // the pending child); with only `e`'s or `w`'s override, it ends early, its callback raising
    // InvalidStateError on the pending task, and never settles. weft waits for every child.
    class EagerToo<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        cb(this);
        super.addDoneCallback(cb);
      }
    }
    class Twice<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        super.addDoneCallback(cb);
        super.addDoneCallback(cb);
      }
    }
    const r = await run(async () => {
      const e = new EagerToo<string>();
      e.setResult('e');
      const p = new EagerToo<string>();
      const w = new Twice<string>();
      const t = createTask(async () => {
        await sleep(0);
        await sleep(0);
        return 't';
      });
      const g = gather(e, p, w, t);
      await sleep(0);
      p.setResult('p');
      w.setResult('w');
      return await g;
    });
    assert.deepEqual(r, ['e', 'p', 'w', 't']);
  });

  test('wait calls it, then removeDoneCallback once the wait ends', async () => {
    // CPython: ['wait', 'add c', 'set c', 'remove c 0', 'waited 1 0',
    //           'wait timeout', 'add e', 'remove e 1', 'waited 0 1'].
    const log: string[] = [];
    await run(async () => {
      const c = new Recording<number>('c', log);
      log.push('wait');
      const t = createTask(() => wait([c]));
      await sleep(0);
      log.push('set c');
      c.setResult(3);
      let r = await t;
      log.push(`waited ${r.done.size} ${r.pending.size}`);
      const e = new Recording<number>('e', log);
      log.push('wait timeout');
      r = await wait([e], { timeout: 10 });
      log.push(`waited ${r.done.size} ${r.pending.size}`);
    });
    assert.deepEqual(log, [
      'wait',
      'add c',
      'set c',
      'remove c 0',
      'waited 1 0',
      'wait timeout',
      'add e',
      'remove e 1',
      'waited 0 1',
    ]);
  });

  test('asCompleted calls it, and removeDoneCallback when its timeout expires', async () => {
    // CPython: ['as_completed', 'add f', 'next', 'got 4',
    //           'as_completed timeout', 'add h', 'remove h 1', 'timeout'].
    const log: string[] = [];
    await run(async () => {
      const f = new Recording<number>('f', log);
      log.push('as_completed');
      const step = asCompleted([f])[Symbol.iterator]().next().value as Promise<number>;
      log.push('next');
      f.setResult(4);
      log.push(`got ${await step}`);
      const h = new Recording<number>('h', log);
      log.push('as_completed timeout');
      for (const s of asCompleted([h], { timeout: 10 })) {
        await assert.rejects(s, TimeoutError);
        log.push('timeout');
      }
    });
    assert.deepEqual(log, [
      'as_completed',
      'add f',
      'next',
      'got 4',
      'as_completed timeout',
      'add h',
      'remove h 1',
      'timeout',
    ]);
  });

  test('shield calls it, and removeDoneCallback when the outer future is cancelled', async () => {
    // CPython: ['shield', 'add i', 'shielded 5', 'shield cancel', 'add j', 'remove j 1',
    //           'after cancel'].
    const log: string[] = [];
    await run(async () => {
      const i = new Recording<number>('i', log);
      log.push('shield');
      let s = shield(i);
      i.setResult(5);
      log.push(`shielded ${await s}`);
      const j = new Recording<number>('j', log);
      log.push('shield cancel');
      s = shield(j);
      s.cancel();
      await sleep(0);
      log.push('after cancel');
      j.setResult(6);
    });
    assert.deepEqual(log, [
      'shield',
      'add i',
      'shielded 5',
      'shield cancel',
      'add j',
      'remove j 1',
      'after cancel',
    ]);
  });

  test('waitFor calls it, with and without a time limit', async () => {
    // CPython: ['wait_for None', 'add k', 'wait_for 7', 'wait_for 10', 'add l', 'wait_for 8'].
    // (When the limit expires, CPython 3.11 calls add, remove, add, remove: its wait_for waits on
    // a future of its own. weft's waits on `aw` in a timeout scope, as 3.12's does: one add.)
    const log: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      const k = new Recording<number>('k', log);
      log.push('wait_for None');
      loop.callSoon(() => k.setResult(7));
      log.push(`wait_for ${await waitFor(k, null)}`);
      const l = new Recording<number>('l', log);
      log.push('wait_for 10');
      loop.callSoon(() => l.setResult(8));
      log.push(`wait_for ${await waitFor(l, 10_000)}`);
    });
    assert.deepEqual(log, [
      'wait_for None',
      'add k',
      'wait_for 7',
      'wait_for 10',
      'add l',
      'wait_for 8',
    ]);
  });

  test('a task awaiting such a future calls it and resumes where a Future would resume', async () => {
    // CPython: ['add r', 'rec 1', 'own 2', 'x', 'main'].
    const log: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      const own = new Future<number>();
      const rec = new Recording<number>('r', log);
      const w = async (name: string, f: Future<number>) => {
        log.push(`${name} ${await f}`);
      };
      const t1 = createTask(() => w('rec', rec));
      const t2 = createTask(() => w('own', own));
      await sleep(0);
      rec.setResult(1);
      own.setResult(2);
      loop.callSoon(() => log.push('x'));
      await gather(t1, t2);
      log.push('main');
    });
    assert.deepEqual(log, ['add r', 'rec 1', 'own 2', 'x', 'main']);
  });

  test('a task awaiting such a future is cancelled through it', async () => {
    // CPython: ['add r', True, True] (the task's cancel cancels the future it waits on).
    const log: string[] = [];
    await run(async () => {
      const rec = new Recording<number>('r', log);
      const t = createTask(async () => await rec);
      await sleep(0);
      t.cancel();
      await assert.rejects(t, { name: 'CancelledError' });
      assert.equal(rec.cancelled(), true);
      assert.equal(t.cancelled(), true);
    });
    assert.deepEqual(log, ['add r']);
  });

  test('an override that calls back before the future is done does not resume the task early', async () => {
    // No CPython counterpart (its wakeup would raise InvalidStateError in the task): weft
    // ignores a call while the future is pending and resumes the task once, with the result.
    const log: string[] = [];
    class Eager<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        log.push('add');
        cb(this);
        super.addDoneCallback(cb);
      }
    }
    const r = await run(async () => {
      const e = new Eager<string>();
      const t = createTask(async () => {
        const v = await e;
        log.push(`got ${v}`);
        return v;
      });
      await sleep(0);
      e.setResult('e');
      return await t;
    });
    assert.equal(r, 'e');
    assert.deepEqual(log, ['add', 'got e']);
  });

  test('the override is called in the awaiting task, as CPython calls it from the task step', async () => {
    // CPython: ['add in A', 'a got 1'] (current_task() inside add_done_callback is the task).
    const log: string[] = [];
    class InTask<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        log.push(`add in ${currentTask()?.getName() ?? null}`);
        super.addDoneCallback(cb);
      }
    }
    await run(async () => {
      const f = new InTask<number>();
      const t = createTask(
        async () => {
          log.push(`a got ${await f}`);
        },
        { name: 'A' },
      );
      await sleep(0);
      f.setResult(1);
      await t;
    });
    assert.deepEqual(log, ['add in A', 'a got 1']);
  });

  test('an override that ends the future and calls back at once resumes the task from the queue', async () => {
    // No CPython counterpart (its wakeup would re-enter the running task: RuntimeError). weft
    // queues the call: the task resumes behind what was ready, one step in flight at a time.
    const log: string[] = [];
    class SelfSet<T> extends Future<T> {
      override addDoneCallback(cb: DoneCallback<T>): void {
        log.push('add');
        if (!this.done()) this.setResult('v' as T);
        cb(this);
      }
    }
    await run(async () => {
      const f = new SelfSet<string>();
      const a = createTask(async () => {
        log.push(`a got ${await f}`);
        await sleep(0);
        log.push('a end');
      });
      const b = createTask(async () => {
        log.push('b1');
        await sleep(0);
        log.push('b2');
        await sleep(0);
        log.push('b3');
      });
      await a;
      await b;
    });
    assert.deepEqual(log, ['add', 'b1', 'a got v', 'b2', 'a end', 'b3']);
  });

  test('an override that throws raises where it was called: at the await, or in the caller of gather and waitFor', async () => {
    // CPython raises in gather's and wait_for's caller alike; a task awaiting the future it
    // leaves waiting for ever (the error is logged from its step). weft raises at the await.
    class Throwing<T> extends Future<T> {
      override addDoneCallback(): void {
        throw new Error('override threw');
      }
    }
    const seen: string[] = [];
    await run(async () => {
      for (const [what, use] of [
        ['await', (f: Future<unknown>) => f],
        ['gather', (f: Future<unknown>) => gather(f)],
        ['waitFor', (f: Future<unknown>) => waitFor(f, 60_000)],
      ] as const) {
        try {
          await use(new Throwing<unknown>());
          seen.push(`${what}: returned`);
        } catch (e) {
          seen.push(`${what}: ${(e as Error).message}`);
        }
      }
      // The task goes on: a later wait works.
      await sleep(1);
      seen.push('after');
    });
    assert.deepEqual(seen, [
      'await: override threw',
      'gather: override threw',
      'waitFor: override threw',
      'after',
    ]);
  });
});
