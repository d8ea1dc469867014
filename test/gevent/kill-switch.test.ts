/*
 * A kill throws into the greenlet through a switch (src/internal/scheduler.ts, `beginSwitch`):
 * that greenlet runs next. What its cancel wakes besides — the other awaiters of a future it
 * awaited, a task it gathered — is no greenlet thrown into, and keeps the order a plain cancel
 * gives it (CPython's `call_soon` order): only the killed greenlet goes to the head.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  sleep as aSleep,
  createTask,
  gather,
  getRunningLoop,
  run,
} from '../../src/asyncio/index.js';
import {
  type Greenlet,
  getcurrent,
  killall,
  Pool,
  Queue,
  Semaphore,
  sleep,
  spawn,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

type Wait = 'future' | 'gather' | 'gather-behind';

/**
 * G (a greenlet) waits on F (a future) or on gather(T2); T2 (an asyncio task) waits on F too,
 * or yields; X (and for 'gather-behind' Y, made first) yield. G is killed, or cancelled from a
 * callback queued where the kill is: the asyncio tasks must come out in the same order.
 */
async function scenario(how: 'kill' | 'cancel', wait: Wait): Promise<string[]> {
  const log: string[] = [];
  await run(async () => {
    const loop = getRunningLoop();
    const f = loop.createFuture<number>();
    const yielder = (name: string) => async () => {
      for (let i = 0; i < 4; i++) {
        log.push(`${name}${i}`);
        await aSleep(0);
      }
    };
    const y = wait === 'gather-behind' ? createTask(yielder('y')) : null;
    const t2 = createTask(async () => {
      if (wait === 'future') {
        try {
          await f;
        } catch {
          log.push('T2 woke');
        }
        return;
      }
      for (;;) {
        try {
          await aSleep(0);
        } catch {
          log.push('T2 woke');
          return;
        }
      }
    });
    const g = spawn(async () => {
      if (wait === 'future') await f;
      else await gather(t2);
    });
    const x = createTask(yielder('x'));
    await aSleep(0);
    log.push('main kills');
    if (how === 'kill') g.kill({ block: false });
    else loop.callSoon(() => g.task?.cancel());
    await gather(x, t2);
    if (y !== null) await y;
    await g.join();
  });
  return log;
}

describe('a kill switches to the killed greenlet only', () => {
  for (const wait of ['future', 'gather', 'gather-behind'] as const) {
    test(`kill of a greenlet awaiting a ${wait === 'future' ? 'future shared with an asyncio task' : 'gather of an asyncio task in sleep(0)'}${wait === 'gather-behind' ? ' queued behind another' : ''} keeps that task in call_soon order`, async () => {
      assert.deepEqual(await scenario('kill', wait), await scenario('cancel', wait));
    });
  }
});

type Op = {
  kind: 'get' | 'put' | 'sem';
  pause: number;
  kill: number | null;
  how: 'block' | 'noblock' | 'all' | 'self';
};

describe('kills through queue and semaphore passes', () => {
  test('blocking, non-blocking, killall and self kills lose no item and leak no permit or pool slot (property)', async () => {
    const op: fc.Arbitrary<Op> = fc.record({
      kind: fc.constantFrom('get', 'put', 'sem'),
      pause: fc.integer({ min: 0, max: 2 }),
      kill: fc.option(fc.integer({ min: 0, max: 6 })),
      how: fc.constantFrom('block', 'noblock', 'all', 'self'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.integer({ min: 1, max: 2 })),
        fc.array(op, { minLength: 1, maxLength: 8 }),
        async (qmax, ops) => {
          const pool = new Pool(ops.length);
          const q = new Queue<number>(qmax);
          const sem = new Semaphore(1);
          let put = 0;
          let got = 0;
          const gs: Greenlet<void>[] = [];
          const body = async (o: Op): Promise<void> => {
            for (let r = 0; r < 3; r++) {
              if (o.kind === 'put') {
                await q.put(r);
                put++;
              } else if (o.kind === 'get') {
                await q.get();
                got++;
              } else {
                await sem.acquire();
                try {
                  for (let i = 0; i < o.pause; i++) await sleep(0);
                } finally {
                  sem.release();
                }
              }
              if (o.how === 'self' && o.kill === r) await getcurrent()?.kill();
              for (let i = 0; i < o.pause; i++) await sleep(0);
            }
          };
          for (const o of ops) gs.push(await pool.spawn(body, o));
          // Kills come from a greenlet, at several points of the passes under way.
          const killer = spawn(async () => {
            for (let step = 0; step < 7; step++) {
              for (let i = 0; i < ops.length; i++) {
                const o = ops[i] as Op;
                const g = gs[i] as Greenlet<void>;
                if (o.kill !== step || o.how === 'self') continue;
                if (o.how === 'block') await g.kill();
                else if (o.how === 'noblock') g.kill({ block: false });
                else {
                  const other = gs.find((_, j) => (ops[j] as Op).kill === null);
                  await killall(other === undefined ? [g] : [g, other]);
                }
              }
              await sleep(0);
            }
          });
          await killer.join();
          // The survivors run to their end: their items taken, a getter fed one at a time.
          const feeder = spawn(async () => {
            for (let i = 0; i < 300 && !gs.every((g) => g.dead); i++) {
              while (q.qsize() > 0) {
                q.getNowait();
                got++;
              }
              await sleep(0);
              await sleep(0);
              if (q.qsize() === 0 && !gs.every((g) => g.dead)) {
                q.putNowait(-1);
                put++;
              }
              await sleep(0);
            }
          });
          await feeder.join();
          await pool.join({ timeout: 5000 });
          while (q.qsize() > 0) {
            q.getNowait();
            got++;
          }
          assert.ok(
            gs.every((g) => g.dead),
            'a greenlet is still alive',
          );
          assert.deepEqual([pool.length, pool.freeCount()], [0, ops.length]);
          assert.equal(got, put, 'an item was lost or taken twice');
          assert.equal(sem.counter, 1, 'a permit leaked');
          for (const g of gs) assert.ok(g.successful(), String(g.exception));
        },
      ),
      { numRuns: 100 },
    );
  });
});
