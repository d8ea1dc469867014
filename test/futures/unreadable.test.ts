/**
 * A message a thread cannot read ('messageerror': here, a value nested deeper than the receiving
 * thread's stack can deserialize) must fail the call waiting for it, never leave it pending for
 * ever. Real triggers, no emitted fakes: the main thread's stack (about 1 MB) cannot read what a
 * worker's (4 MB) can write, and a worker made with a small `resourceLimits.stackSizeMb` cannot
 * read what the main thread can write.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokenThreadPool, type Future, ThreadPoolExecutor } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { add, throwRange } from './fixtures/tasks.js';
import {
  deepResult,
  deepThrow,
  depth,
  echo,
  nested,
  rows,
  spinUntilSet,
  tagged,
} from './fixtures/unreadable-tasks.js';

checkLeaks({ graceMs: 3000 });

/** Generous: it only turns a hang (the old behaviour) into a failure on a loaded machine. */
const DEADLINE = 60_000;
const UNREADABLE = 'ERR_WEFT_UNREADABLE_MESSAGE';

function isUnreadable(what: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof Error, String(e));
    assert.equal(e.name, 'RuntimeError', e.message);
    assert.equal((e as { code?: string }).code, UNREADABLE);
    assert.match(e.message, what);
    assert.match(e.message, /Maximum call stack size exceeded/);
    return true;
  };
}

test('a result the caller cannot read fails its future; the worker and the calls around it carry on', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const before = ex.submit(add, 1, 2);
    const bad = ex.submit(deepResult, 5000);
    const after = ex.submit(add, 3, 4);
    assert.equal(await before.result({ timeout: DEADLINE }), 3);
    await assert.rejects(
      bad.result({ timeout: DEADLINE }),
      isUnreadable(/task #\d+.*outcome .*could not be read back from ThreadPoolExecutor-\d+_0/),
    );
    assert.equal(await after.result({ timeout: DEADLINE }), 7);
    // An exception carrying such a value too, and the pool is not broken.
    await assert.rejects(
      ex.submit(deepThrow, 5000).result({ timeout: DEADLINE }),
      isUnreadable(/outcome/),
    );
    assert.equal(await ex.submit(add, 5, 6).result({ timeout: DEADLINE }), 11);
  } finally {
    await ex.shutdown();
  }
});

test('unreadable results inside a batch fail only their own futures', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    // Many calls queued at once go in batches (engine.ts), so outcomes and the batch's end
    // share messages with the unreadable ones.
    const fs: Future<any>[] = [];
    for (let i = 0; i < 40; i++)
      fs.push(i % 10 === 3 ? ex.submit(deepResult, 5000) : ex.submit(add, i, 1));
    for (let i = 0; i < 40; i++) {
      const f = fs[i] as Future<any>;
      if (i % 10 === 3)
        await assert.rejects(f.result({ timeout: DEADLINE }), isUnreadable(/outcome/));
      else assert.equal(await f.result({ timeout: DEADLINE }), i + 1);
    }
  } finally {
    await ex.shutdown();
  }
});

test('arguments a small-stack worker cannot read fail that call alone, the worker carries on', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { stackSizeMb: 0.5 } });
  try {
    assert.equal(await ex.submit(depth, nested(10)).result({ timeout: DEADLINE }), 10);
    await assert.rejects(
      ex.submit(depth, nested(1200)).result({ timeout: DEADLINE }),
      isUnreadable(/task #\d+.*arguments could not be read by ThreadPoolExecutor-\d+_0/),
    );
    // In a batch of many: its fellows are sent again one by one, only the call at fault fails.
    const fs: Future<any>[] = [];
    for (let i = 0; i < 30; i++) fs.push(ex.submit(depth, nested(i === 17 ? 1200 : i)));
    for (let i = 0; i < 30; i++) {
      const f = fs[i] as Future<any>;
      if (i === 17)
        await assert.rejects(f.result({ timeout: DEADLINE }), isUnreadable(/arguments/));
      else assert.equal(await f.result({ timeout: DEADLINE }), i);
    }
    assert.equal(await ex.submit(add, 1, 1).result({ timeout: DEADLINE }), 2);
  } finally {
    await ex.shutdown();
  }
});

test('initargs a worker cannot read break the pool with a cause that says so', async () => {
  const ex = new ThreadPoolExecutor({
    maxWorkers: 1,
    initializer: depth,
    initargs: [nested(1200)],
    resourceLimits: { stackSizeMb: 0.5 },
  });
  try {
    await assert.rejects(ex.submit(add, 1, 1).result({ timeout: DEADLINE }), (e: unknown) => {
      assert.ok(e instanceof BrokenThreadPool, String(e));
      const cause = (e as Error).cause as { code?: string; message?: string };
      assert.equal(cause?.code, UNREADABLE, String(cause?.message));
      assert.match(
        String(cause.message),
        /could not read its start data .*initargs: RangeError: Maximum call stack size exceeded/,
      );
      return true;
    });
  } finally {
    await ex.shutdown();
  }
});

test('outcomes sent again after an unreadable one never settle the futures of a later batch', async () => {
  // One worker, four batches of 1024 (two slots): an unreadable outcome in the second batch makes
  // the engine ask for a 'sync' while the third batch ends and the fourth is sent to the slot
  // freed. The runner still keeps the third batch's outcomes (nested enough to be kept), and
  // sends them again: they are not the fourth batch's, whose calls sit at the same places.
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    await ex.submit(echo, 'warm').result({ timeout: DEADLINE });
    const n = 4 * 1024;
    const bad = 1500;
    const fs: Future<any>[] = [];
    for (let i = 0; i < n; i++)
      fs.push(i === bad ? ex.submit(deepResult, 5000) : ex.submit(tagged, i));
    const wrong: string[] = [];
    for (let i = 0; i < n; i++) {
      const f = fs[i] as Future<any>;
      if (i === bad) {
        await assert.rejects(f.result({ timeout: DEADLINE }), isUnreadable(/outcome/));
        continue;
      }
      const v = (await f.result({ timeout: DEADLINE })) as { i: number };
      if (v.i !== i) wrong.push(`#${i}: ${v.i}`);
    }
    assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} futures got another call's result`);
  } finally {
    await ex.shutdown();
  }
});

test('an exception sent again after an unreadable outcome comes back an Error', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    // Warm: a first exception (its stack) and a first deep value take long enough to be flushed
    // apart (runner.ts, FLUSH_MS); warm, the exception shares the unreadable message.
    await ex.submit(throwRange, 'warm').exception({ timeout: DEADLINE });
    await ex.submit(deepResult, 10).result({ timeout: DEADLINE });
    // Rounds: on a loaded machine a flush may still fall between the two; one round sharing
    // the message is enough to see it.
    for (let round = 0; round < 3; round++) {
      const fs: Future<any>[] = [];
      for (let i = 0; i < 12; i++)
        if (i === 6) fs.push(ex.submit(deepResult, 5000));
        else if (i === 5) fs.push(ex.submit(throwRange, `boom ${round}`) as unknown as Future<any>);
        else fs.push(ex.submit(add, i, 1));
      for (let i = 0; i < 12; i++) {
        const f = fs[i] as Future<any>;
        if (i === 6) await assert.rejects(f.result({ timeout: DEADLINE }), isUnreadable(/outcome/));
        else if (i === 5) {
          const e = await f.exception({ timeout: DEADLINE });
          assert.ok(e instanceof RangeError, `not the RangeError: ${JSON.stringify(e)}`);
          assert.equal(e.message, `boom ${round}`);
        } else assert.equal(await f.result({ timeout: DEADLINE }), i + 1);
      }
    }
  } finally {
    await ex.shutdown();
  }
});

test('a batch the worker could not read fails no call but the one at fault, whatever was cancelled meanwhile', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { stackSizeMb: 0.5 } });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const release = (): void => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  try {
    const busy = ex.submit(spinUntilSet, flag.buffer);
    await until(() => busy.running(), 'the busy call to start', DEADLINE);
    // Five calls in one batch to the busy worker's other slot, unread while it spins; the call
    // at fault (#0) and three others are cancelled before it reads it. #1 alone is left: its
    // arguments were readable, the batch's were not.
    const fs: Future<any>[] = [];
    for (let i = 0; i < 5; i++) fs.push(ex.submit(depth, nested(i === 0 ? 1200 : i)));
    await new Promise((r) => setImmediate(r));
    for (const i of [0, 2, 3, 4]) assert.equal((fs[i] as Future<any>).cancel(), true);
    release();
    assert.equal(await busy.result({ timeout: DEADLINE }), 'released');
    assert.equal(await (fs[1] as Future<any>).result({ timeout: DEADLINE }), 1);
  } finally {
    release();
    await ex.shutdown();
  }
});

test('the outcomes a worker keeps for a lost message do not hold a whole batch of results', async () => {
  // 300 results of about 0.5 MB each, in batches of up to 300 calls, through a worker whose heap
  // is capped at 64 MB: kept until the slot's next batch (every outcome, read or not), they would
  // end it out of memory. Only a message that can be unreadable (nested deep) is kept.
  const ex = new ThreadPoolExecutor({
    maxWorkers: 1,
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  try {
    let n = 0;
    const calls = Array.from({ length: 300 }, () => 10_000);
    for await (const r of ex.map(rows, [calls], { timeout: DEADLINE }))
      n += (r as unknown[]).length;
    assert.equal(n, 300 * 10_000);
  } finally {
    await ex.shutdown();
  }
});
