import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  Event,
  ExceptionGroup,
  run,
  sleep,
  TaskGroup,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('TaskGroup', () => {
  test('leaving the block waits for every child', async () => {
    await run(async () => {
      const log: string[] = [];
      // 'a' finishes a timer after 'b' has: the order is 'b', 'a' however the two children's
      // timers are spaced (a sleep(5) and a sleep(1) armed in two steps could fire either way
      // on a loaded machine), and the block still has a pending child to wait for.
      const bDone = new Event();
      {
        await using tg = new TaskGroup();
        tg.createTask(async () => {
          await bDone.wait();
          await sleep(5);
          log.push('a');
        });
        tg.createTask(async () => {
          await sleep(1);
          log.push('b');
          bDone.set();
        });
      }
      assert.deepEqual(log, ['b', 'a']);
    });
  });

  test('the first failure cancels the siblings and interrupts the block with an ExceptionGroup', async () => {
    await run(async () => {
      let sibling: ReturnType<typeof createTask> | null = null;
      const log: string[] = [];
      try {
        await using tg = new TaskGroup();
        sibling = tg.createTask(async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            log.push(`sibling got ${(e as Error).name}`);
            throw e;
          }
        });
        tg.createTask(async () => {
          await sleep(1);
          throw new RangeError('child failed');
        });
        await sleep(10_000);
        log.push('block went on');
      } catch (e) {
        assert.ok(e instanceof ExceptionGroup, `got ${String(e)}`);
        assert.ok(e instanceof AggregateError);
        assert.equal(e.exceptions.length, 1);
        assert.ok(e.exceptions[0] instanceof RangeError);
        assert.match(e.message, /unhandled errors in a TaskGroup \(1 sub-exception\)/);
      }
      assert.deepEqual(log, ['sibling got CancelledError']);
      assert.equal(sibling!.cancelled(), true);
      assert.equal(await sleep(1, 'parent usable'), 'parent usable');
    });
  });

  test('errors of several children are all collected', async () => {
    await run(async () => {
      await assert.rejects(
        TaskGroup.run(async (tg) => {
          tg.createTask(async () => {
            throw new Error('one');
          });
          tg.createTask(async () => {
            throw new Error('two');
          });
        }),
        (e: unknown) => {
          assert.ok(e instanceof ExceptionGroup);
          assert.deepEqual(
            e.exceptions.map((x) => (x as Error).message),
            ['one', 'two'],
          );
          return true;
        },
      );
    });
  });

  test('TaskGroup.run: an error in the body cancels the children and joins the group', async () => {
    await run(async () => {
      let child: ReturnType<typeof createTask> | null = null;
      await assert.rejects(
        TaskGroup.run(async (tg) => {
          child = tg.createTask(() => sleep(10_000));
          await sleep(1);
          throw new TypeError('body failed');
        }),
        (e: unknown) => e instanceof ExceptionGroup && e.exceptions[0] instanceof TypeError,
      );
      assert.equal(child!.cancelled(), true);
    });
  });

  test('cancelling the parent cancels the children and raises CancelledError', async () => {
    await run(async () => {
      const kids: ReturnType<typeof createTask>[] = [];
      const parent = createTask(async () => {
        await using tg = new TaskGroup();
        kids.push(tg.createTask(() => sleep(10_000)));
        kids.push(tg.createTask(() => sleep(10_000)));
        await sleep(10_000);
      });
      await sleep(1);
      parent.cancel();
      await assert.rejects(parent, CancelledError);
      assert.ok(kids.every((k) => k.cancelled()));
    });
  });

  test('createTask after the group finished is refused; outside a task is refused', async () => {
    await run(async () => {
      let group: TaskGroup | null = null;
      {
        await using tg = new TaskGroup();
        group = tg;
      }
      assert.throws(() => group!.createTask(async () => 1), /TaskGroup is finished/);
    });
    assert.throws(() => new TaskGroup(), /must be entered inside a task/);
  });
});
