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
  Event,
  type Greenlet,
  GreenletExit,
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

// gevent 22.10.2: `set()` queues one notifier callback, which switches to each waiter in turn.
// A kill queued before it throws into the waiter while it still waits there; one queued after
// it finds the greenlet woken, and reaches it at its next wait. Python prints
// ['main', 'G killed', 'h'] and ['main', 'G woke', 'h', 'G killed'].
describe('a kill and an Event that woke the greenlet', () => {
  async function run2(killFirst: boolean): Promise<string[]> {
    const log: string[] = [];
    const ev = new Event();
    await spawn(async () => {
      const g = spawn(async () => {
        try {
          await ev.wait();
          log.push('G woke');
          await sleep(0);
          log.push('G after sleep');
        } catch (e) {
          if (e instanceof GreenletExit) log.push('G killed');
          throw e;
        }
      });
      await sleep(0);
      let h: Greenlet<void>;
      if (killFirst) {
        void g.kill({ block: false });
        h = spawn(() => void log.push('h'));
        ev.set();
      } else {
        ev.set();
        h = spawn(() => void log.push('h'));
        void g.kill({ block: false });
      }
      log.push('main');
      await Promise.all([g.join(), h.join()]);
    }).get();
    return log;
  }

  test('a kill queued before the set() throws into the greenlet at its turn', async () => {
    assert.deepEqual(await run2(true), ['main', 'G killed', 'h']);
  });

  test('a kill queued after the set() reaches the woken greenlet at its next wait', async () => {
    assert.deepEqual(await run2(false), ['main', 'G woke', 'h', 'G killed']);
  });
});

// A link callback is a callback of gevent's hub, as `call_soon`'s are of asyncio's loop: an
// asyncio task it cancels in the middle of a `sleep(0)` raises at that yield's place in the
// queue, as CPython 3.11 gives it from a `call_soon` callback (modelled there as three
// callbacks, each queueing the next: the spawn, G's body, the link): ['T0', 'U0', 'T1', 'U1',
// 'T2', 'U2', 'G', 'T3', 'U3', 'link', 'T cancelled', 'U4']. Only a throw into the task itself
// (a kill, a Timeout's expiry) runs it next.
test('an asyncio task cancelled by a link callback while in sleep(0) keeps its place', async () => {
  const log: string[] = [];
  await run(async () => {
    const loop = getRunningLoop();
    const worker = (n: string) => async () => {
      try {
        for (let i = 0; i < 5; i++) {
          log.push(`${n}${i}`);
          await aSleep(0);
        }
      } catch (e) {
        log.push(`${n} cancelled`);
        throw e;
      }
    };
    const t = createTask(worker('T'));
    const u = createTask(worker('U'));
    await aSleep(0);
    loop.callSoon(() => {
      const g = spawn(() => void log.push('G'));
      g.link(() => {
        log.push('link');
        t.cancel();
      });
    });
    await gather(t, u, { returnExceptions: true });
  });
  assert.deepEqual(log, [
    'T0',
    'U0',
    'T1',
    'U1',
    'T2',
    'U2',
    'G',
    'T3',
    'U3',
    'link',
    'T cancelled',
    'U4',
  ]);
});
