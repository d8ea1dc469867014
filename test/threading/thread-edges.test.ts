/**
 * Thread lifecycle edges found in bug bash bb4: a Timer sent to another thread, Timer's
 * Python-style None arguments, the reprs, and a run() stranded on a promise that never settles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Queue } from '../../src/queue/index.js';
import {
  Event,
  type ExceptHookArgs,
  RuntimeError,
  setExcepthook,
  Thread,
  Timer,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  cancelTimer,
  echoArgs,
  joinsUnstartedGreenlet,
  renameSelf,
  stranded,
} from './fixtures/edge-tasks.js';

checkLeaks();

describe('Timer across threads', () => {
  test('a started Timer arrives in another thread as a Timer that can cancel it', async () => {
    const out = new Queue<any>();
    const timer = new Timer(60_000, echoArgs, [out, 'never']);
    timer.start();
    const t = new Thread({ target: cancelTimer, args: [timer, out] });
    t.start();
    const seen = await out.get({ timeout: 30_000 });
    await t.join();
    const cancelledThere = timer.finished.isSet();
    timer.cancel(); // whatever happened over there, so that no 60 s timer outlives the test
    await timer.join();
    assert.equal(cancelledThere, true);
    assert.deepEqual(seen, {
      cls: 'Timer',
      cancel: 'function',
      interval: 60_000,
      args: ['never'],
      outcome: 'cancelled',
    });
    assert.equal(timer.isAlive(), false);
    // Cancelled before the interval: the function never ran.
    assert.equal(out.qsize(), 0);
  });
});

describe('Timer arguments as in Python', () => {
  test('null args and kwargs are None: the function gets no argument', async () => {
    const out = new Queue<any>();
    // Python's Timer(0, f, None, None); `out` reaches the function through a kwargs-free path.
    const t = new Timer(0, echoArgs, [out], null);
    t.start();
    assert.deepEqual(await out.get({ timeout: 30_000 }), { thread: 'Timer', rest: [] });
    await t.join();
    const bare = new Timer(0, () => {}, null, null);
    assert.deepEqual(bare.args, []);
    assert.equal(bare.kwargs, null);
  });

  test('kwargs {} is **{}: no trailing object, as for a Thread target', async () => {
    const out = new Queue<any>();
    const t = new Timer(0, echoArgs, [out, 1], {});
    t.start();
    assert.deepEqual(await out.get({ timeout: 30_000 }), { thread: 'Timer', rest: [1] });
    await t.join();
  });

  test('args or kwargs of the wrong type are a TypeError at construction', () => {
    assert.throws(() => new Timer(10, () => {}, 5 as any), {
      name: 'TypeError',
      message: /Timer args must be an array or null: received 5/,
    });
    assert.throws(() => new Timer(10, () => {}, [], 5 as any), {
      name: 'TypeError',
      message: /Timer kwargs must be an object or null/,
    });
    assert.throws(() => new Timer(10, () => {}, [], [1] as any), { name: 'TypeError' });
  });
});

describe('Thread reprs', () => {
  test("read as Python's, under the subclass's name, with no stray space", async () => {
    const t = new Thread({ name: 'w', target: () => {} });
    assert.equal(String(t), '<Thread(w, initial)>');
    const d = new Thread({ name: 'd', daemon: true, target: () => {} });
    assert.equal(String(d), '<Thread(d, initial daemon)>');
    const timer = new Timer(10, () => {});
    timer.name = 'tm';
    assert.equal(String(timer), '<Timer(tm, initial)>');
    d.start();
    await d.join();
    assert.equal(String(d), `<Thread(d, stopped daemon ${d.ident})>`);
  });
});

describe('a run() stranded on a promise that never settles', () => {
  test('is reported to the excepthook instead of ending the thread in silence', async () => {
    const seen: ExceptHookArgs[] = [];
    const prev = setExcepthook((a) => seen.push(a));
    const out = new Queue<unknown>();
    try {
      const t = new Thread({ target: stranded, args: [out], name: 'stranded' });
      t.start();
      await t.join();
      assert.equal(t.isAlive(), false);
      assert.equal(seen.length, 1);
      const [args] = seen as [ExceptHookArgs];
      assert.equal(args.thread, t);
      assert.equal(args.excType, 'RuntimeError');
      assert.ok(args.excValue instanceof RuntimeError);
      assert.equal(args.excValue.code, 'ERR_WEFT_THREAD_STRANDED');
      assert.match(args.excValue.message, /run\(\) returned a promise that never settled/);
      assert.equal(out.qsize(), 0);
    } finally {
      setExcepthook(prev);
    }
  });
});

describe('a run() resumed by gevent when its loop runs dry', () => {
  test('is not reported stranded: LoopExit ends its wait and run() goes on', async () => {
    // Regression (helper-144): the thread's own dry-loop check ran first and reported a run()
    // that gevent's LoopExit was about to resume, and counted its end as abnormal.
    const seen: ExceptHookArgs[] = [];
    const prev = setExcepthook((a) => seen.push(a));
    const out = new Queue<unknown>();
    try {
      const t = new Thread({ target: joinsUnstartedGreenlet, args: [out], name: 'resumed' });
      t.start();
      await t.join();
      assert.deepEqual(
        seen.map((a) => String((a.excValue as Error)?.message)),
        [],
      );
      assert.equal(out.getNowait(), 'LoopExit');
    } finally {
      setExcepthook(prev);
    }
  });
});

describe('a thread renamed after start()', () => {
  test("is renamed for every thread: inside it, then by its starter, as Python's one object", async () => {
    const out = new Queue<string>();
    const go = new Event();
    const long = 'x'.repeat(80);
    const t = new Thread({ target: renameSelf, args: [out, go], name: 'original' });
    t.start();
    assert.equal(await out.get({ timeout: 30_000 }), 'renamed');
    assert.equal(t.name, 'renamed-inside', 'the starter sees the rename made inside');
    assert.equal(t.getName(), 'renamed-inside');
    assert.match(String(t), /^<Thread\(renamed-inside, /);
    t.name = 'renamed-outside';
    go.set();
    assert.equal(
      await out.get({ timeout: 30_000 }),
      'renamed-outside',
      "the thread sees the starter's",
    );
    await t.join();
    // A name longer than the shared table keeps is whole where it was set.
    t.name = long;
    assert.equal(t.name, long);
  });
});
