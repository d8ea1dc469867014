/**
 * gevent.lock's Semaphore, BoundedSemaphore and DummySemaphore. Each expected order or value was
 * checked against gevent 22.10.2 on /usr/bin/python3 (3.11.2), with the same program written in
 * Python ("gevent: …").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CancelledError, ensureFuture } from '../../src/asyncio/index.js';
import {
  BoundedSemaphore,
  DummySemaphore,
  iwait,
  joinall,
  Semaphore,
  sleep,
  spawn,
  Timeout,
  wait,
} from '../../src/gevent/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await sleep(0);
}

describe('Semaphore: wake order', () => {
  test('a greenlet that releases and acquires again before it blocks keeps the permit', async () => {
    // gevent: ['a 0', 'a 1', 'b 0', 'b 1', 'c 0', 'c 1'] (`with sem: sleep(0)` twice each)
    const log: string[] = [];
    const sem = new Semaphore(1);
    const worker = async (n: string) => {
      for (let i = 0; i < 2; i++) {
        using _ = await sem.hold();
        log.push(`${n} ${i}`);
        await sleep(0);
      }
    };
    await joinall(['a', 'b', 'c'].map((n) => spawn(worker, n)));
    assert.deepEqual(log, ['a 0', 'a 1', 'b 0', 'b 1', 'c 0', 'c 1']);
  });

  test('a permit taken before the woken waiter runs leaves the waiter first in line', async () => {
    // gevent: ['release -> 1', 'main acquire True', 'g alive True', 'g acquired']
    const log: string[] = [];
    const sem = new Semaphore(0);
    const g = spawn(async () => {
      await sem.acquire();
      log.push('g acquired');
    });
    const late = spawn(async () => {
      await sleep(0);
      await sem.acquire();
      log.push('late acquired');
    });
    await spawn(async () => {
      await sleep(0);
      log.push(`release -> ${sem.release()}`);
      log.push(`acquire ${await sem.acquire({ blocking: false })}`);
      await sleep(0);
      log.push(`g alive ${!g.dead}`);
      sem.release();
      await sleep(0);
      sem.release();
    }).join();
    await joinall([g, late]);
    assert.deepEqual(log, [
      'release -> 1',
      'acquire true',
      'g alive true',
      'g acquired',
      'late acquired',
    ]);
  });

  test('two releases wake two waiters, each running until it blocks', async () => {
    // gevent: ['released2', 'a 0', 'a 1', 'main', 'a 0 again', 'a 1 again']
    const log: string[] = [];
    const sem = new Semaphore(0);
    const gs = [0, 1, 2].map((n) =>
      spawn(async () => {
        await sem.acquire();
        log.push(`a ${n}`);
        await sleep(0);
        log.push(`a ${n} again`);
      }),
    );
    await spawn(async () => {
      await sleep(0);
      sem.release();
      sem.release();
      log.push('released2');
      await sleep(0);
      log.push('main');
      await sleep(0);
      await sleep(0);
    }).join();
    assert.deepEqual(log, ['released2', 'a 0', 'a 1', 'main', 'a 0 again', 'a 1 again']);
    assert.equal(gs[2]!.dead, false);
    sem.release();
    await joinall(gs);
  });

  test('wait() does not take the permit: the acquirer after it still gets it', async () => {
    // gevent: ['w 1 wait -> 1', 'a 2 acq -> True', '--', 'w 3 wait -> 1', 'a 4 acq -> True']
    const log: string[] = [];
    const sem = new Semaphore(0);
    const gs = [
      spawn(async () => log.push(`w 1 wait -> ${await sem.wait()}`)),
      spawn(async () => log.push(`a 2 acq -> ${await sem.acquire()}`)),
      spawn(async () => log.push(`w 3 wait -> ${await sem.wait()}`)),
      spawn(async () => log.push(`a 4 acq -> ${await sem.acquire()}`)),
    ];
    await spawn(async () => {
      await sleep(0);
      sem.release();
      await sleep(0);
      log.push('--');
      sem.release();
      await sleep(0);
    }).join();
    await joinall(gs);
    assert.deepEqual(log, [
      'w 1 wait -> 1',
      'a 2 acq -> true',
      '--',
      'w 3 wait -> 1',
      'a 4 acq -> true',
    ]);
    assert.equal(await sem.wait({ timeout: 5 }), 0);
  });

  test('rawlink callbacks run in line with the waiters, only while a permit is free', async () => {
    // gevent: ['released', 'cb1 1', 'a acquired', 'after', 'cb2 1']
    const log: string[] = [];
    const sem = new Semaphore(0);
    sem.rawlink((s) => log.push(`cb1 ${s.counter}`));
    const a = spawn(async () => {
      await sem.acquire();
      log.push('a acquired');
    });
    await spawn(async () => {
      await sleep(0);
      sem.rawlink((s) => log.push(`cb2 ${s.counter}`));
      assert.equal(sem.linkcount(), 3);
      sem.release();
      log.push('released');
      await sleep(0);
      log.push('after');
      sem.release();
      await sleep(0);
    }).join();
    await a.join();
    assert.deepEqual(log, ['released', 'cb1 1', 'a acquired', 'after', 'cb2 1']);
    assert.equal(sem.linkcount(), 0);
  });

  test('unlink removes a callback, also one already queued; a throwing callback is reported', async () => {
    const reports: string[] = [];
    setExceptionHandler((ctx) => reports.push(ctx.message));
    try {
      const sem = new Semaphore(0);
      const log: string[] = [];
      const cb = () => log.push('cb');
      sem.rawlink(cb);
      sem.rawlink(() => {
        throw new Error('boom');
      });
      sem.rawlink(() => log.push('after'));
      sem.unlink(cb);
      sem.release();
      sem.rawlink(cb);
      sem.unlink(cb); // queued already: it does not run
      await settle();
      assert.deepEqual(log, ['after']);
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /^Exception in a rawlink callback of Semaphore-\d+$/);
      assert.throws(() => sem.rawlink(1 as unknown as () => void), TypeError);
    } finally {
      setExceptionHandler(null);
    }
  });

  test('gevent.wait and iwait take a Semaphore: it is ready while a permit is free', async () => {
    // gevent: wait [True] [True] 1
    const s = new Semaphore(0);
    const s2 = new Semaphore(1);
    spawn(async () => {
      await sleep(10);
      s.release();
    });
    assert.deepEqual(await wait([s], { timeout: 1000 }), [s]);
    assert.deepEqual(await wait([s2]), [s2]);
    assert.equal(s.counter, 1);
    const seen: Semaphore[] = [];
    for await (const x of iwait([new Semaphore(0), s], { timeout: 20 })) seen.push(x);
    assert.deepEqual(seen, [s]);
  });
});

describe('Semaphore: chains of wake-ups', () => {
  test('a woken acquirer that releases passes the permit on in the same pass, before a greenlet made ready meanwhile', async () => {
    // gevent: ['A', 'B', 'D', 'A2'], counter 0: the release queues one notifier pass; it
    // switches to A, and once A blocks, goes on to B (A released: a permit is free) before D,
    // spawned after the release, gets its turn.
    const sem = new Semaphore(0);
    const log: string[] = [];
    const gs = [
      spawn(async () => {
        await sem.acquire();
        log.push('A');
        sem.release();
        await sleep(0);
        log.push('A2');
      }),
      spawn(async () => {
        await sem.acquire();
        log.push('B');
      }),
      spawn(async () => {
        await sleep(0);
        sem.release();
        spawn(() => {
          log.push('D');
        });
      }),
    ];
    await joinall(gs);
    await sleep(0);
    assert.deepEqual(log, ['A', 'B', 'D', 'A2']);
    assert.equal(sem.counter, 0);
  });
});

describe('Semaphore: blocking and timeout', () => {
  test('acquire({ blocking: false }) answers at once; { timeout: 0 } lets the loop turn first', async () => {
    // gevent: ['acq t0 True 0', 'acq nb False 0']
    const got = await spawn(async () => {
      const a = new Semaphore(0);
      spawn(() => a.release());
      const t0 = await a.acquire({ timeout: 0 });
      const b = new Semaphore(0);
      spawn(() => b.release());
      const nb = await b.acquire({ blocking: false });
      return [t0, a.counter, nb, b.counter];
    }).get();
    assert.deepEqual(got, [true, 0, false, 0]);
  });

  test('acquire({ timeout }) resolves false when it passes and leaves no waiter; a negative one is 0', async () => {
    // gevent: acquire(timeout=-1) -> False
    const sem = new Semaphore(0);
    assert.equal(await sem.acquire({ timeout: 10 }), false);
    assert.equal(await sem.acquire({ timeout: -1 }), false);
    assert.equal(sem.linkcount(), 0);
    assert.equal(sem.release(), 1);
    assert.equal(await sem.acquire({ timeout: 10 }), true);
  });

  test('release returns the free permits; locked, ready, counter; a Semaphore may be over-released', () => {
    // gevent: rel 2 2 False True 2
    const sem = new Semaphore(1);
    assert.equal(sem.release(), 2);
    assert.deepEqual([sem.counter, sem.locked(), sem.ready()], [2, false, true]);
    const zero = new Semaphore(0);
    assert.deepEqual([zero.locked(), zero.ready()], [true, false]);
    assert.equal(String(sem), '[object Semaphore]');
  });

  test('run and hold keep a permit around a block; hold raises Timeout when none came in time', async () => {
    const sem = new Semaphore(1);
    assert.equal(await sem.run(() => sem.counter), 0);
    assert.equal(sem.counter, 1);
    {
      await using _ = await sem.hold();
      assert.equal(sem.counter, 0);
      await assert.rejects(sem.hold({ timeout: 5 }), Timeout);
      await assert.rejects(
        sem.run(() => 1, { blocking: false }),
        Timeout,
      );
    }
    assert.equal(sem.counter, 1);
    await assert.rejects(
      sem.run(() => {
        throw new Error('inside');
      }),
      /inside/,
    );
    assert.equal(sem.counter, 1);
  });

  test('bad arguments are typed errors', async () => {
    // gevent: ValueError semaphore initial value must be >= 0
    assert.throws(() => new Semaphore(-1), RangeError);
    assert.throws(() => new Semaphore(0.5), TypeError);
    assert.throws(() => new Semaphore('1' as unknown as number), TypeError);
    const sem = new Semaphore(1);
    await assert.rejects(sem.acquire({ timeout: 'x' as unknown as number }), TypeError);
    await assert.rejects(sem.acquire({ blocking: 0 as unknown as boolean }), TypeError);
    await assert.rejects(sem.wait({ timeout: Number.NaN }), /Semaphore\.wait/);
    // An aborted signal rejects even with a permit free (weft-wide), and takes none.
    await assert.rejects(sem.acquire({ signal: AbortSignal.abort(new Error('stop')) }), /stop/);
    assert.equal(sem.counter, 1);
  });
});

describe('BoundedSemaphore and DummySemaphore', () => {
  test('BoundedSemaphore refuses to free more permits than it started with', async () => {
    // gevent: ValueError Semaphore released too many times
    const b = new BoundedSemaphore(2);
    assert.throws(() => b.release(), RangeError);
    await b.acquire();
    assert.equal(b.release(), 2);
    assert.throws(
      () => b.release(),
      (e: unknown) => e instanceof RangeError && /released too many times/.test(e.message),
    );
    assert.ok(b instanceof Semaphore);
  });

  test('DummySemaphore never blocks and ignores its value', async () => {
    // gevent: dummy True False 1 None True
    const d = new DummySemaphore(5);
    assert.deepEqual(
      [await d.acquire(), d.locked(), await d.wait(), d.release(), d.ready()],
      [true, false, 1, undefined, true],
    );
    assert.equal(await d.run(() => 'ran'), 'ran');
    {
      using _ = await d.hold();
    }
    await assert.rejects(d.acquire({ signal: AbortSignal.abort(new Error('stop')) }), /stop/);
    await assert.rejects(d.acquire({ timeout: 'x' as unknown as number }), TypeError);
    // Unlike gevent's (which never calls back), its rawlink reports it ready.
    assert.deepEqual(await wait([d]), [d]);
  });
});

describe('Semaphore: cancellation leaks no permit', () => {
  test('an acquirer killed after a release woke it takes the permit first, as in gevent', async () => {
    // gevent 22.10.2: ['g1'], g1 dead with its value (the kill came too late), g2 still
    // waiting, counter 0: the kill is a hub callback queued behind the release's notifier.
    const log: string[] = [];
    const sem = new Semaphore(0);
    const g1 = spawn(async () => {
      await sem.acquire();
      log.push('g1');
      return 'took it';
    });
    const g2 = spawn(async () => {
      await sem.acquire();
      log.push('g2');
    });
    await spawn(async () => {
      await sleep(0);
      sem.release(); // queues the pass that wakes g1
      await g1.kill({ block: false }); // its turn comes after that pass
      await sleep(0);
    }).join();
    await g1.join();
    assert.deepEqual(log, ['g1']);
    assert.equal(g1.value, 'took it');
    assert.equal(g2.dead, false, 'g2 still waits');
    assert.equal(sem.counter, 0);
    await g2.kill();
    assert.equal(sem.counter, 0, 'the killed waiter took nothing');
  });

  test('asyncio ensureFuture(sem.acquire()) cancelled after its wake-up passes the permit on', async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const got = await spawn(async () => {
      const f = ensureFuture(sem.acquire());
      await sleep(0);
      sem.release(); // wakes f's wait
      f.cancel();
      await assert.rejects(f, CancelledError);
      await settle();
      return sem.counter;
    }).get();
    assert.equal(got, 1);
  });

  test('random holders, timeouts and kills never exceed the value nor leak a permit', async () => {
    const actor = fc.record({
      delay: fc.integer({ min: 0, max: 3 }),
      hold: fc.integer({ min: 0, max: 2 }),
      timeout: fc.option(fc.integer({ min: 0, max: 3 })),
      killAfter: fc.option(fc.integer({ min: 0, max: 4 })),
      waitOnly: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(actor, { minLength: 1, maxLength: 8 }),
        async (value, actors) => {
          const sem = new BoundedSemaphore(value);
          let holders = 0;
          let most = 0;
          const gs = actors.map((a) =>
            spawn(async () => {
              await sleep(a.delay);
              const options = a.timeout === null ? undefined : { timeout: a.timeout };
              if (a.waitOnly) {
                const n = await sem.wait(options);
                assert.ok(n >= 0 && n <= value);
                return;
              }
              if (!(await sem.acquire(options))) return;
              holders++;
              most = Math.max(most, holders);
              try {
                await sleep(a.hold);
              } finally {
                holders--;
                sem.release();
              }
            }),
          );
          const killers = actors.map((a, i) =>
            a.killAfter === null
              ? null
              : spawn(async () => {
                  await sleep(a.killAfter as number);
                  await gs[i]!.kill();
                }),
          );
          await joinall([...gs, ...killers.filter((k) => k !== null)]);
          for (const g of gs) if (!g.successful()) throw g.exception;
          assert.ok(most <= value, `${most} holders of a Semaphore(${value})`);
          assert.equal(holders, 0);
          assert.equal(sem.counter, value, 'every permit came back');
          assert.equal(sem.linkcount(), 0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
