/**
 * A TaskGroup whose child fails while the group's exit waits for its children (helper-127).
 *
 * CPython cancels the parent task there too, which wakes its `__aexit__` in the next iteration:
 * it looks at the children left then and waits again only if some are not done. A sibling that
 * ended normally just before, whose done-callback runs ahead of that wake-up, is therefore not
 * waited for one iteration more. The traces are CPython's for the same programs written with
 * asyncio.TaskGroup (the first three kinds the same under 3.11.2, 3.12.1 and 3.13.0; the ones
 * with a cancel from outside from 3.13.0, which weft follows there: 3.11 and 3.12 lose that
 * cancel). A `ticker` task logs `tickN` once per loop iteration.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  currentTask,
  ExceptionGroup,
  run,
  sleep,
  type Task,
  TaskGroup,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

async function ticker(log: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    log.push(`tick${i}`);
    await sleep(0);
  }
}

async function sleeps<T>(n: number, then: () => T): Promise<T> {
  for (let i = 0; i < n; i++) await sleep(0);
  return then();
}

type Enter = (body: (tg: TaskGroup) => Promise<void>) => Promise<void>;

const withUsing: Enter = async (body) => {
  await using tg = new TaskGroup();
  await body(tg);
};
const withRun: Enter = (body) => TaskGroup.run(body);

/**
 * Children `s` (ends normally after two yields) and `f` (fails after one), created in that order;
 * the block ends after `bodyYields` yields. `f`'s done-callback runs in the iteration where `s`
 * ends, after `s`'s step.
 */
async function siblingThenFailure(enter: Enter, bodyYields: number): Promise<string> {
  const log: string[] = [];
  await run(async () => {
    const tk = createTask(() => ticker(log, 8));
    await sleep(0);
    try {
      await enter(async (tg) => {
        tg.createTask(() => sleeps(2, () => void log.push('s:return')));
        tg.createTask(() =>
          sleeps(1, () => {
            log.push('f:raise');
            throw new RangeError('f');
          }),
        );
        for (let i = 0; i < bodyYields; i++) await sleep(0);
        log.push('body:end');
      });
    } catch (e) {
      if (!(e instanceof ExceptionGroup)) throw e;
      log.push(`after:${e.errors.length}`);
    }
    await tk;
  });
  return log.join(' | ');
}

describe('TaskGroup: a child failing while the exit waits wakes the exit, as CPython', () => {
  for (const [how, enter] of [
    ['await using', withUsing],
    ['TaskGroup.run', withRun],
  ] as const) {
    test(`${how}: a sibling ending just before is not waited for one iteration more`, async () => {
      // weft before: … | tick4 | tick5 | after:1 | … (left one iteration later).
      assert.equal(
        await siblingThenFailure(enter, 0),
        'tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | tick4 | after:1 | tick5 | tick6 | tick7',
      );
    });

    test(`${how}: the same after a block that yielded once`, async () => {
      assert.equal(
        await siblingThenFailure(enter, 1),
        'tick0 | tick1 | body:end | tick2 | f:raise | tick3 | s:return | tick4 | after:1 | tick5 | tick6 | tick7',
      );
    });

    test(`${how}: a failure while the block still runs is unchanged`, async () => {
      // The block is interrupted at its await instead (it waits longer than the children).
      const log: string[] = [];
      await run(async () => {
        const tk = createTask(() => ticker(log, 8));
        await sleep(0);
        try {
          await enter(async (tg) => {
            tg.createTask(() => sleeps(2, () => void log.push('s:return')));
            tg.createTask(() =>
              sleeps(1, () => {
                log.push('f:raise');
                throw new RangeError('f');
              }),
            );
            await sleep(10_000);
            log.push('body:end');
          });
        } catch (e) {
          if (!(e instanceof ExceptionGroup)) throw e;
          log.push(`after:${e.errors.length}`);
        }
        await tk;
      });
      assert.equal(
        log.join(' | '),
        'tick0 | tick1 | tick2 | f:raise | tick3 | s:return | tick4 | after:1 | tick5 | tick6 | tick7',
      );
    });
  }

  /**
   * As `siblingThenFailure` with the block ending at once, plus a task that cancels the parent
   * (message 'm') after `cancelYields` yields, and, with `late`, a child that cleans up for one
   * iteration once cancelled. Logs what leaves the block and the parent's next await.
   */
  async function outsideCancel(enter: Enter, late: boolean, cancelYields: number): Promise<string> {
    const log: string[] = [];
    const args = (e: CancelledError): string => (e.message ? `('${e.message}',)` : '()');
    await run(async () => {
      const tk = createTask(() => ticker(log, 9));
      await sleep(0);
      const parent = currentTask() as Task<unknown>;
      try {
        await enter(async (tg) => {
          tg.createTask(() => sleeps(2, () => void log.push('s:return')));
          tg.createTask(() =>
            sleeps(1, () => {
              log.push('f:raise');
              throw new RangeError('f');
            }),
          );
          if (late)
            tg.createTask(async () => {
              try {
                await sleep(10_000);
              } catch (e) {
                log.push('late:cancelled');
                await sleep(0);
                log.push('late:cleaned');
                throw e;
              }
            });
          createTask(() =>
            sleeps(cancelYields, () => {
              log.push(`x:cancel parent -> ${parent.cancel('m') ? 'True' : 'False'}`);
            }),
          );
          log.push('body:end');
        });
      } catch (e) {
        if (!(e instanceof ExceptionGroup)) throw e;
        log.push(`after:${e.errors.length} cancelling=${parent.cancelling()}`);
      }
      try {
        await sleep(0);
        log.push('next await: ok');
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        log.push(`next await: CancelledError(${args(e)}) cancelling=${parent.cancelling()}`);
      }
      await tk;
    });
    return log.join(' | ');
  }

  for (const [how, enter] of [
    ['await using', withUsing],
    ['TaskGroup.run', withRun],
  ] as const) {
    test(`${how}: a cancel from outside just after the exit left is raised at the next await`, async () => {
      // weft before: the exit was still waiting and received the cancel: … | tick4 |
      // x:cancel parent -> True | tick5 | after:1 cancelling=1 | … CancelledError(()) ….
      assert.equal(
        await outsideCancel(enter, false, 3),
        "tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | tick4 | after:1 cancelling=0 | x:cancel parent -> True | tick5 | next await: CancelledError(('m',)) cancelling=1 | tick6 | tick7 | tick8",
      );
    });

    test(`${how}: a cancel from outside between the wake-up and the exit's next look`, async () => {
      assert.equal(
        await outsideCancel(enter, false, 2),
        'tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | x:cancel parent -> True | tick4 | after:1 cancelling=1 | tick5 | next await: CancelledError(()) cancelling=1 | tick6 | tick7 | tick8',
      );
    });

    test(`${how}: children still cleaning up when the exit wakes are waited for`, async () => {
      for (const [yields, want] of [
        [
          2,
          'tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | x:cancel parent -> True | tick4 | late:cancelled | tick5 | late:cleaned | tick6 | tick7 | after:1 cancelling=1 | tick8 | next await: CancelledError(()) cancelling=1',
        ],
        [
          3,
          'tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | tick4 | late:cancelled | x:cancel parent -> True | tick5 | late:cleaned | tick6 | tick7 | after:1 cancelling=1 | tick8 | next await: CancelledError(()) cancelling=1',
        ],
        [
          4,
          'tick0 | body:end | tick1 | tick2 | f:raise | tick3 | s:return | tick4 | late:cancelled | tick5 | late:cleaned | x:cancel parent -> True | tick6 | after:1 cancelling=1 | tick7 | next await: CancelledError(()) cancelling=1 | tick8',
        ],
      ] as const)
        assert.equal(await outsideCancel(enter, true, yields), want, `cancel after ${yields}`);
    });
  }
});
