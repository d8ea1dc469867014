import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALL_COMPLETED,
  asCompleted,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
  wait,
} from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { stderrOf } from '../support/stderr.js';

checkLeaks();

describe('Future', () => {
  test('setResult runs done-callbacks synchronously in registration order', () => {
    const f = new Future<number>();
    const seen: string[] = [];
    f.addDoneCallback(() => seen.push('a'));
    f.addDoneCallback((x) => seen.push(`b:${x.done()}`));
    seen.push('before');
    f.setResult(1);
    seen.push('after');
    assert.deepEqual(seen, ['before', 'a', 'b:true', 'after']);
  });

  test('addDoneCallback on a done future runs the callback at once', () => {
    const f = new Future<number>();
    f.setResult(3);
    let ran = false;
    f.addDoneCallback(() => {
      ran = true;
    });
    assert.equal(ran, true);
  });

  test('a throwing callback is logged and the next callback still runs', () => {
    const f = new Future<number>();
    let second = false;
    f.addDoneCallback(() => {
      throw new Error('callback boom');
    });
    f.addDoneCallback(() => {
      second = true;
    });
    const out = stderrOf(() => f.setResult(1));
    assert.equal(second, true);
    assert.match(out, /exception calling callback for <Future state=finished/);
    assert.match(out, /callback boom/);
  });

  test('cancel while pending cancels and result rejects with CancelledError', async () => {
    const f = new Future<number>();
    let notified = false;
    f.addDoneCallback(() => {
      notified = true;
    });
    assert.equal(f.cancel(), true);
    assert.equal(notified, true);
    assert.equal(f.cancelled(), true);
    assert.equal(f.done(), true);
    await assert.rejects(f.result(), CancelledError);
    await assert.rejects(f.exception(), CancelledError);
    await assert.rejects(async () => f, CancelledError);
    assert.equal(f.setRunningOrNotifyCancel(), false);
  });

  test('cancel of a running future returns false and leaves it running', () => {
    const f = new Future<number>();
    assert.equal(f.setRunningOrNotifyCancel(), true);
    assert.equal(f.running(), true);
    assert.equal(f.cancel(), false);
    assert.equal(f.cancelled(), false);
    assert.throws(() => f.setRunningOrNotifyCancel(), RuntimeError);
    f.setResult(1);
    assert.equal(f.cancel(), false);
  });

  test('setRunningOrNotifyCancel on a running or finished future throws RuntimeError, as Python', () => {
    const f = new Future<number>();
    assert.equal(f.setRunningOrNotifyCancel(), true);
    const check = (e: unknown): boolean => {
      assert.ok(e instanceof RuntimeError);
      assert.ok(!(e instanceof InvalidStateError));
      assert.equal((e as RuntimeError).code, 'ERR_WEFT_FUTURE_STATE');
      assert.match((e as Error).message, /Future in unexpected state/);
      return true;
    };
    assert.throws(() => f.setRunningOrNotifyCancel(), check);
    assert.equal(f.running(), true);
    f.setResult(1);
    assert.throws(() => f.setRunningOrNotifyCancel(), check);
    assert.equal(f.done(), true);
  });

  test('setResult on a done future throws InvalidStateError', () => {
    const f = new Future<number>();
    f.setResult(1);
    assert.throws(() => f.setResult(2), InvalidStateError);
    assert.throws(() => f.setException(new Error('x')), InvalidStateError);
  });

  test('result with a timeout rejects with TimeoutError while pending', async () => {
    const f = new Future<number>();
    await assert.rejects(f.result({ timeout: 10 }), TimeoutError);
    await assert.rejects(f.exception({ timeout: 0 }), TimeoutError);
    f.setResult(5);
    assert.equal(await f.result({ timeout: 10 }), 5);
  });

  test('result, wait and asCompleted with a timeout of Infinity or past 2^31 − 1 ms wait', async () => {
    // Node fires a timer past 2^31 − 1 ms after 1 ms: these timed out at once.
    for (const timeout of [Number.POSITIVE_INFINITY, 3e9]) {
      const f = new Future<number>();
      const r = f.result({ timeout });
      const w = wait([f], { timeout });
      const it = asCompleted([f], { timeout })[Symbol.asyncIterator]().next();
      let settled = 0;
      for (const p of [r, w, it])
        p.then(
          () => settled++,
          () => settled++,
        );
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(settled, 0, `timeout ${timeout}`);
      f.setResult(4);
      assert.equal(await r, 4);
      assert.equal((await w).done.size, 1);
      assert.equal((await it).value, f);
    }
  });

  test('result with an aborted signal rejects with its reason', async () => {
    const f = new Future<number>();
    const ac = new AbortController();
    const p = f.result({ signal: ac.signal });
    ac.abort(new Error('gave up'));
    await assert.rejects(p, /gave up/);
    f.setResult(1);
    await assert.rejects(f.result({ signal: ac.signal }), /gave up/);
  });

  test('awaiting a future gives its result or throws its exception', async () => {
    const ok = new Future<number>();
    setTimeout(() => ok.setResult(7), 1);
    assert.equal(await ok, 7);
    const bad = new Future<number>();
    const err = new RangeError('nope');
    bad.setException(err);
    await assert.rejects(async () => bad, RangeError);
    assert.equal(await bad.exception(), err);
    assert.equal(await ok.exception(), undefined);
  });

  test('bad input: a non-function callback and a bad timeout are TypeErrors', async () => {
    const f = new Future();
    assert.throws(() => f.addDoneCallback(42 as never), TypeError);
    await assert.rejects(f.result({ timeout: 'soon' as never }), TypeError);
  });
});

describe('wait', () => {
  test('FIRST_COMPLETED resolves when one future finishes', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    setTimeout(() => a.setResult(1), 5);
    const { done, notDone } = await wait([a, b], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...notDone], [b]);
  });

  test('FIRST_EXCEPTION waits past successes until a failure', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    const c = new Future<number>();
    setTimeout(() => a.setResult(1), 1);
    setTimeout(() => b.setException(new Error('x')), 10);
    const { done, notDone } = await wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
    assert.deepEqual(new Set(done), new Set([a, b]));
    assert.deepEqual([...notDone], [c]);
  });

  test('ALL_COMPLETED with a timeout returns what is done so far', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    a.setResult(1);
    const { done, notDone } = await wait([a, b], { timeout: 10, returnWhen: ALL_COMPLETED });
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...notDone], [b]);
  });

  test('a future cancelled before the call is not an exception, nor counted twice', async () => {
    // FIRST_EXCEPTION and ALL_COMPLETED returned at once, the pending future not done.
    for (const returnWhen of [FIRST_EXCEPTION, ALL_COMPLETED] as const) {
      const slow = new Future<number>();
      const cancelled = new Future<number>();
      assert.equal(cancelled.cancel(), true);
      const r = wait([slow, cancelled], { returnWhen });
      let settled = false;
      r.then(() => {
        settled = true;
      });
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(settled, false, returnWhen);
      slow.setResult(1);
      const { done, notDone } = await r;
      assert.deepEqual([done.size, notDone.size], [2, 0]);
    }
  });

  test('a cancelled future counts as done', async () => {
    const a = new Future<number>();
    const p = wait([a]);
    a.cancel();
    const { done } = await p;
    assert.equal(done.has(a), true);
  });

  test('bad input: unknown returnWhen and non-futures throw', () => {
    assert.throws(() => wait([new Future()], { returnWhen: 'SOMETIMES' as never }), RangeError);
    assert.throws(() => wait([Promise.resolve(1)] as never), TypeError);
  });
});

describe('asCompleted', () => {
  test('yields done futures first, then in completion order', async () => {
    const a = new Future<string>();
    const b = new Future<string>();
    const c = new Future<string>();
    c.setResult('c');
    setTimeout(() => b.setResult('b'), 2);
    setTimeout(() => a.setResult('a'), 15);
    const order: string[] = [];
    for await (const f of asCompleted([a, b, c, c])) order.push(await f.result());
    assert.deepEqual(order, ['c', 'b', 'a']);
  });

  test('throws TimeoutError naming the unfinished count', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    a.setResult(1);
    const got: unknown[] = [];
    await assert.rejects(async () => {
      for await (const f of asCompleted([a, b], { timeout: 10 })) got.push(await f.result());
    }, /1 \(of 2\) futures unfinished/);
    assert.deepEqual(got, [1]);
  });
});
