/**
 * The Lock's state machine (its acquire and release, hand-over, a waiter cancelled in
 * the queue or at its wake-up, `locked()` in between) held to CPython's asyncio.Lock: random
 * scripts of a few tasks run here and, all at once, in /usr/bin/python3; the two logs must match
 * line for line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  createTask,
  DeadlockError,
  gather,
  Lock,
  RuntimeError,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/**
 * One step of a task's script: `acq` awaits `acquire()`, `rel` calls `release()`, `y` is
 * `sleep(0)`, `lk` logs `locked()`, a number `j` cancels task `j` and logs what `cancel()` said.
 */
type Op = 'acq' | 'rel' | 'y' | 'lk' | number;

/**
 * Scripts in which a task never acquires a lock it holds (that would hang in Python and be a
 * DeadlockError here) and gives it back before it ends. A task cancelled while it waits or
 * yields logs it and stops, releasing first if its own acquire had succeeded, so no run hangs.
 */
function scriptArb(tasks: number): fc.Arbitrary<Op[]> {
  const section = fc.tuple(
    fc.array(fc.constantFrom<Op>('y', 'lk', 'rel'), { maxLength: 2 }),
    fc.array(fc.oneof(fc.constantFrom<Op>('y', 'lk'), fc.integer({ min: 0, max: tasks - 1 })), {
      maxLength: 3,
    }),
    fc.array(fc.oneof(fc.constantFrom<Op>('y', 'lk'), fc.integer({ min: 0, max: tasks - 1 })), {
      maxLength: 2,
    }),
  );
  return fc
    .array(section, { minLength: 1, maxLength: 3 })
    .map((parts) =>
      parts.flatMap(
        ([before, held, after]) => [...before, 'acq', ...held, 'rel', ...after] as Op[],
      ),
    );
}

const scenarioArb = fc
  .integer({ min: 2, max: 4 })
  .chain((n) => fc.array(scriptArb(n), { minLength: n, maxLength: n }));

async function runWeft(scripts: Op[][]): Promise<string[]> {
  const log: string[] = [];
  await run(async () => {
    const lock = new Lock();
    const tasks: Task<void>[] = [];
    const body = async (i: number): Promise<void> => {
      let held = false;
      try {
        for (const op of scripts[i]!) {
          if (op === 'acq') {
            await lock.acquire();
            held = true;
            log.push(`${i} got`);
          } else if (op === 'rel') {
            try {
              lock.release();
              held = false;
              log.push(`${i} rel`);
            } catch (e) {
              assert.ok(e instanceof RuntimeError, String(e));
              log.push(`${i} rel!`);
            }
          } else if (op === 'y') await sleep(0);
          else if (op === 'lk') log.push(`${i} locked=${lock.locked()}`);
          else log.push(`${i} cancel ${op}=${tasks[op]!.cancel()}`);
        }
      } catch (e) {
        assert.ok(e instanceof CancelledError, String(e));
        log.push(`${i} cancelled held=${held}`);
        if (held) {
          try {
            lock.release();
          } catch (e2) {
            assert.ok(e2 instanceof RuntimeError, String(e2));
            log.push(`${i} rel!`);
          }
        }
      }
    };
    for (let i = 0; i < scripts.length; i++) tasks.push(createTask(() => body(i)));
    // A task cancelled before its first step never runs its body (as in CPython).
    await gather(...tasks, { returnExceptions: true });
    log.push(`end locked=${lock.locked()}`);
  });
  return log;
}

const PYTHON = `
import asyncio, json, sys

async def scenario(scripts):
    log = []
    lock = asyncio.Lock()
    tasks = []
    async def body(i):
        held = False
        try:
            for op in scripts[i]:
                if op == 'acq':
                    await lock.acquire()
                    held = True
                    log.append(f'{i} got')
                elif op == 'rel':
                    try:
                        lock.release()
                        held = False
                        log.append(f'{i} rel')
                    except RuntimeError:
                        log.append(f'{i} rel!')
                elif op == 'y':
                    await asyncio.sleep(0)
                elif op == 'lk':
                    log.append(f'{i} locked={str(lock.locked()).lower()}')
                else:
                    log.append(f'{i} cancel {op}={str(tasks[op].cancel()).lower()}')
        except asyncio.CancelledError:
            log.append(f'{i} cancelled held={str(held).lower()}')
            if held:
                try:
                    lock.release()
                except RuntimeError:
                    log.append(f'{i} rel!')
    for i in range(len(scripts)):
        tasks.append(asyncio.ensure_future(body(i)))
    await asyncio.gather(*tasks, return_exceptions=True)
    log.append(f'end locked={str(lock.locked()).lower()}')
    return log

async def main():
    out = []
    for scripts in json.load(sys.stdin):
        out.append(await asyncio.wait_for(scenario(scripts), 10))
    json.dump(out, sys.stdout)

asyncio.run(main())
`;

function runPython(scenarios: Op[][][]): string[][] {
  const r = spawnSync('/usr/bin/python3', ['-c', PYTHON], {
    input: JSON.stringify(scenarios),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

describe('Lock against CPython asyncio.Lock', () => {
  test('random scripts of acquire, release, yield, locked() and cancel log as CPython', async () => {
    // A fixed seed: the same scripts every run, so a failure names a scenario that replays.
    const scenarios = fc.sample(scenarioArb, { numRuns: 250, seed: 20261206 });
    const python = runPython(scenarios);
    for (let k = 0; k < scenarios.length; k++) {
      const weft = await runWeft(scenarios[k]!);
      assert.deepEqual(
        weft,
        python[k],
        `scenario ${k}: ${JSON.stringify(scenarios[k])}\nweft:   ${weft.join(' | ')}\npython: ${python[k]!.join(' | ')}`,
      );
    }
  });
});

describe('Lock holders across awaits weft does not see', () => {
  // Guards the holder's record against being put off: between A's acquire and its next weft
  // wait, A suspends on a plain promise, and B runs, takes a lock and waits; only a record made
  // at each acquire names A and B right.
  test('a cycle through locks taken before plain-promise awaits is named right', async () => {
    await run(async () => {
      const l1 = new Lock({ name: 'l1' });
      const l2 = new Lock({ name: 'l2' });
      const log: string[] = [];
      let openGate!: () => void;
      const gate = new Promise<void>((r) => {
        openGate = r;
      });
      const a = createTask(
        async () => {
          await l1.acquire();
          await gate; // not a weft awaitable: weft sees no switch
          try {
            await l2.acquire();
            log.push('a got l2');
          } catch (e) {
            assert.ok(e instanceof DeadlockError, String(e));
            log.push(e.message);
          }
          l1.release();
        },
        { name: 'a' },
      );
      const b = createTask(
        async () => {
          await l2.acquire();
          openGate();
          await l1.acquire(); // held by a: a wait, not a deadlock
          log.push('b got l1');
          l1.release();
          l2.release();
        },
        { name: 'b' },
      );
      await gather(a, b);
      assert.deepEqual(log, [
        "Deadlock: Task 'a' waits for Lock 'l2' held by Task 'b', which waits for Lock 'l1' held by Task 'a'",
        'b got l1',
      ]);
    });
  });
});
