import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExceptionContext } from '../../src/asyncio/index.js';
import {
  Greenlet,
  GreenletExit,
  getcurrent,
  joinall,
  Pool,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

class MyErr extends Error {}

/** Runs `fn` with the process's exception handler collecting the reports. */
async function reports(fn: () => Promise<void>): Promise<ExceptionContext[]> {
  const seen: ExceptionContext[] = [];
  setExceptionHandler((ctx) => seen.push(ctx));
  try {
    await fn();
  } finally {
    setExceptionHandler(null);
  }
  return seen;
}

describe('bug bash bb2 (gevent): a failed greenlet is reported when it dies', () => {
  test('an error nobody looks at is reported at once, naming the greenlet and the class', async () => {
    // gevent: spawn(f) where f raises ValueError; sleep(0.05) → the hub prints the traceback
    // and "<Greenlet at 0x…: f> failed with ValueError", though no one joins it. weft said
    // nothing (a GC-time "never retrieved" at most, never at exit).
    const seen = await reports(async () => {
      const g = spawn(async () => {
        await sleep(1);
        throw new MyErr('nobody looks at me');
      });
      g.name = 'lonely';
      await g.join(); // waits; reads nothing of the outcome
      assert.ok(g.dead);
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.message, "Greenlet 'lonely' failed with MyErr");
    assert.equal((seen[0]!.exception as Error).message, 'nobody looks at me');
  });

  test('the report comes before the links run, and also when the greenlet is joined', async () => {
    // gevent: traceback, "failed with ZeroDivisionError", then "link ran", then "joined".
    const log: string[] = [];
    const seen = await reports(async () => {
      setExceptionHandler((ctx) => log.push(`reported ${(ctx.exception as Error).message}`));
      const g = spawn(() => {
        throw new MyErr('boom');
      });
      g.link(() => log.push('link ran'));
      g.linkException(() => log.push('linkException ran'));
      await assert.rejects(g.get(), MyErr);
      log.push('got');
      await sleep(0);
    });
    assert.equal(seen.length, 0); // the handler set inside took the report
    assert.deepEqual(log, ['reported boom', 'link ran', 'linkException ran', 'got']);
  });

  test('kills with GreenletExit (or a subclass) are not reported; a kill with another error is', async () => {
    // gevent: kill() and kill(MyExit) print nothing; kill(MyErr), also before start, prints
    // "failed with MyErr".
    class MyExit extends GreenletExit {}
    const seen = await reports(async () => {
      const a = spawn(() => sleep(10_000));
      const b = spawn(() => sleep(10_000));
      const c = spawn(() => sleep(10_000));
      const d = new Greenlet(() => 1);
      await sleep(0);
      await a.kill();
      await b.kill({ exception: MyExit });
      await c.kill({ exception: MyErr });
      await d.kill({ exception: new MyErr('before start') });
      await sleep(0);
      assert.ok(a.successful() && b.successful() && !c.successful() && !d.successful());
    });
    assert.deepEqual(
      seen.map((s) => s.message.replace(/'[^']*'/, "'g'")),
      ["Greenlet 'g' failed with MyErr", "Greenlet 'g' failed with MyErr"],
    );
    assert.equal((seen[1]!.exception as Error).message, 'before start');
  });

  test("a greenlet's uncaught Timeout and an error raised while handling a kill are reported", async () => {
    // gevent: `with Timeout(0.01): sleep(1)` uncaught → "failed with Timeout"; catching
    // GreenletExit and raising MyErr → "failed with MyErr"; returning instead → nothing.
    const seen = await reports(async () => {
      const timedOut = spawn(async () => {
        using _t = new Timeout(5).start();
        await sleep(10_000);
      });
      const raises = spawn(async () => {
        try {
          await sleep(10_000);
        } catch {
          throw new MyErr('in cleanup');
        }
      });
      const returns = spawn(async () => {
        try {
          await sleep(10_000);
        } catch {
          return 'cleaned';
        }
      });
      await timedOut.join();
      await sleep(0);
      await raises.kill();
      await returns.kill();
      assert.equal(returns.value, 'cleaned');
    });
    assert.deepEqual(
      seen.map((s) => s.message.replace(/'[^']*'/, "'g'")),
      ["Greenlet 'g' failed with Timeout", "Greenlet 'g' failed with MyErr"],
    );
  });

  test('a plain task.cancel() is not reported (asyncio cancellation); a thrown non-Error is', async () => {
    const seen = await reports(async () => {
      const cancelled = spawn(() => sleep(10_000));
      await sleep(0);
      cancelled.task!.cancel();
      await cancelled.join();
      const odd = spawn(() => {
        throw 'a string';
      });
      await odd.join();
      await sleep(0);
    });
    assert.equal(seen.length, 1);
    assert.match(seen[0]!.message, /failed with "a string"$/);
    assert.equal(seen[0]!.exception, 'a string');
  });

  test('each failed item of a Pool.map is reported; joinall raiseError still raises', async () => {
    const seen = await reports(async () => {
      const pool = new Pool(3);
      await assert.rejects(
        pool.map(
          async (i: number) => {
            await sleep(1);
            if (i === 1) throw new MyErr('item 1');
            return i;
          },
          [0, 1, 2],
        ),
        /item 1/,
      );
      const bad = spawn(async () => {
        throw new MyErr('joined');
      });
      await assert.rejects(joinall([bad], { raiseError: true }), /joined/);
      assert.equal(getcurrent(), null);
    });
    assert.deepEqual(
      seen.map((s) => (s.exception as Error).message),
      ['item 1', 'joined'],
    );
  });
});
