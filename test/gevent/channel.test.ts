/**
 * gevent.queue's Channel (a put waits for a get). Each expected order was checked against gevent
 * 22.10.2 on /usr/bin/python3 (3.11.2), with the same program written in Python ("gevent: …").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  Channel,
  Empty,
  Full,
  GreenletExit,
  joinall,
  StopIteration,
  sleep,
  spawn,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Channel', () => {
  test('put waits for a getter: the getter runs first, then the putter', async () => {
    // gevent: ['put', 'cg got x', 'cg after', 'put done']
    const log: string[] = [];
    const ch = new Channel<string>();
    const g = spawn(async () => {
      log.push(`got ${await ch.get()}`);
      log.push('getter after');
    });
    await spawn(async () => {
      await sleep(0);
      log.push('put');
      await ch.put('x');
      log.push('put done');
    }).join();
    await g.join();
    assert.deepEqual(log, ['put', 'got x', 'getter after', 'put done']);
  });

  test('a get with a putter waiting yields, runs, then the putter goes on', async () => {
    // gevent: ['cp put', 'main get z', 'main after get', 'cp done']
    const log: string[] = [];
    const ch = new Channel<string>();
    const p = spawn(async () => {
      log.push('put');
      await ch.put('z');
      log.push('put done');
    });
    await spawn(async () => {
      await sleep(0);
      log.push(`get ${await ch.get()}`);
      log.push('after get');
      await sleep(0);
      await sleep(0);
    }).join();
    await p.join();
    assert.deepEqual(log, ['put', 'get z', 'after get', 'put done']);
  });

  test('waiting putters and getters are paired in order, one hand-off at a time', async () => {
    // gevent: ['g1 got 1', 'put 1 done', 'g2 got 2', 'put 2 done', 'g3 got 3', 'put 3 done']
    const log: string[] = [];
    const ch = new Channel<number>();
    const ps = [1, 2, 3].map((n) =>
      spawn(async () => {
        await ch.put(n);
        log.push(`put ${n} done`);
      }),
    );
    await sleep(0);
    assert.equal(ch.balance, 3);
    const gs = [1, 2, 3].map((i) => spawn(async () => log.push(`g${i} got ${await ch.get()}`)));
    await joinall([...gs, ...ps]);
    assert.deepEqual(log, [
      'g1 got 1',
      'put 1 done',
      'g2 got 2',
      'put 2 done',
      'g3 got 3',
      'put 3 done',
    ]);
    assert.equal(ch.balance, 0);
  });

  test('a getter and its putter run back to back, before a greenlet that was made ready meanwhile', async () => {
    // gevent: A ['got x', 'put done', 'other'], B the same
    const ch = new Channel<string>();
    let log: string[] = [];
    const putter = async () => {
      await ch.put('x');
      log.push('put done');
    };
    const getter = async () => {
      log.push(`got ${await ch.get()}`);
    };
    const other = async () => {
      await sleep(0); // ready again before the hand-off has run
      log.push('other');
    };
    await joinall([spawn(putter), spawn(getter), spawn(other)]);
    assert.deepEqual(log, ['got x', 'put done', 'other'], 'A: the putter waited first');
    log = [];
    await joinall([spawn(getter), spawn(putter), spawn(other)]);
    assert.deepEqual(log, ['got x', 'put done', 'other'], 'B: the getter waited first');
  });

  test('putNowait and getNowait let the loop turn once: a getter just spawned takes the item', async () => {
    // gevent: put_nowait with a getter spawned, not started: 'cg got y', 'ok'; alone: Full
    const ch = new Channel<string>();
    const got = await spawn(async () => {
      const g = spawn(() => ch.get());
      await ch.putNowait('y');
      return g.get();
    }).get();
    assert.equal(got, 'y');
    await assert.rejects(ch.putNowait('alone'), Full);
    await assert.rejects(ch.getNowait(), Empty);
    await assert.rejects(ch.put(1 as unknown as string, { block: false }), Full);
    assert.equal(ch.balance, 0);
  });

  test('timeouts raise Full and Empty and leave no waiter; qsize, empty and full are fixed', async () => {
    // gevent: get Empty, put Full, balance 0
    const ch = new Channel<number>();
    // The errors say who was missing, not that the channel was full or empty.
    await assert.rejects(ch.get({ timeout: 10 }), (e: Error) => {
      assert.ok(e instanceof Empty);
      assert.match(e.message, /^No greenlet put an item: a Channel holds nothing/);
      return true;
    });
    await assert.rejects(ch.put(1, { timeout: 10 }), (e: Error) => {
      assert.ok(e instanceof Full);
      assert.match(e.message, /^No greenlet took the item: a Channel holds nothing/);
      return true;
    });
    assert.deepEqual([ch.balance, ch.qsize(), ch.empty(), ch.full()], [0, 0, true, true]);
  });

  test('for await ends at StopIteration', async () => {
    // gevent: iter [1, 2]
    const ch = new Channel<number | typeof StopIteration>();
    const g = spawn(async () => {
      const out: number[] = [];
      for await (const x of ch) out.push(x);
      return out;
    });
    for (const x of [1, 2, StopIteration] as const) await ch.put(x);
    assert.deepEqual(await g.get(), [1, 2]);
  });

  test('bad arguments are typed errors', async () => {
    // gevent: ValueError Channels have a maxsize of 1
    assert.throws(() => new Channel(2), RangeError);
    assert.throws(() => new Channel('1' as unknown as number), TypeError);
    const ch = new Channel();
    await assert.rejects(ch.put(1, { timeout: Number.NaN }), TypeError);
    await assert.rejects(ch.get({ block: 1 as unknown as boolean }), TypeError);
    await assert.rejects(ch.get({ signal: AbortSignal.abort(new Error('stop')) }), /stop/);
  });
});

describe('Channel: chains of wake-ups', () => {
  test('one unlock pass serves pair after pair: a putter that gets next is paired before the others run', async () => {
    // gevent: ['g0 got 1', 'g1 put 1', 'g1 got 4', 'g3 put 4', 'g0 after']: the pass switches
    // to g0 and then to its putter g1, whose get pairs with g3's waiting put within that pass,
    // before g0's sleep(0) comes back.
    const ch = new Channel<number>();
    const log: string[] = [];
    const gs = [
      spawn(async () => {
        log.push(`g0 got ${await ch.get()}`);
        await sleep(0);
        log.push('g0 after');
      }),
      spawn(async () => {
        await ch.put(1);
        log.push('g1 put 1');
        log.push(`g1 got ${await ch.get()}`);
      }),
      spawn(async () => {
        await ch.put(4);
        log.push('g3 put 4');
      }),
    ];
    await joinall(gs);
    assert.deepEqual(log, ['g0 got 1', 'g1 put 1', 'g1 got 4', 'g3 put 4', 'g0 after']);
  });
});

describe('Channel: cancellation loses no item', () => {
  test('a getter killed after it was paired takes the item first, as in gevent', async () => {
    // gevent 22.10.2: ['g1 x', 'put done'], g2 still waiting (balance -1): the kill is a hub
    // callback queued behind the put's unlock, and reaches g1 once it is dead.
    const log: string[] = [];
    const ch = new Channel<string>();
    const g1 = spawn(async () => log.push(`g1 ${await ch.get()}`));
    const g2 = spawn(async () => log.push(`g2 ${await ch.get()}`));
    const killer = spawn(async () => {
      await sleep(0);
      await g1.kill({ block: false });
    });
    const putter = spawn(async () => {
      await ch.put('x');
      log.push('put done');
    });
    await joinall([g1, killer, putter]);
    assert.equal(g1.value, 1, 'g1 returned');
    assert.deepEqual(log, ['g1 x', 'put done']);
    assert.equal(ch.balance, -1);
    await g2.kill();
  });

  test('a getter killed after it was paired, two putters: it takes the first item, the other putter waits', async () => {
    // gevent 22.10.2: g1 gets 'a', ['a'] done, balance 1.
    const ch = new Channel<string>();
    const g1 = spawn(() => ch.get());
    const killer = spawn(async () => {
      await sleep(0);
      await g1.kill({ block: false });
    });
    const order: string[] = [];
    const putters = ['a', 'b'].map((x) =>
      spawn(async () => {
        await ch.put(x);
        order.push(x);
      }),
    );
    await joinall([g1, killer]);
    assert.equal(g1.value, 'a');
    assert.deepEqual(order, ['a']);
    assert.equal(ch.balance, 1, 'the second putter waits');
    assert.equal(await ch.get(), 'b');
    await joinall(putters);
    assert.deepEqual(order, ['a', 'b']);
  });

  test('a putter killed after it was paired: its item is received, and its put returns', async () => {
    // gevent 22.10.2: ['g1 x', 'put done'], balance -1 (g2 waits).
    const ch = new Channel<string>();
    const log: string[] = [];
    const g1 = spawn(async () => log.push(`g1 ${await ch.get()}`));
    const g2 = spawn(async () => log.push(`g2 ${await ch.get()}`));
    await spawn(async () => {
      await sleep(0);
      const p = spawn(async () => {
        try {
          await ch.put('x');
          log.push('put done');
        } catch (e) {
          log.push(`put ${(e as Error).name}`);
          throw e;
        }
      });
      await sleep(0); // p has queued the pass that pairs it with g1
      await p.kill({ block: false });
    }).join();
    await sleep(0);
    assert.deepEqual(log, ['g1 x', 'put done']);
    assert.equal(ch.balance, -1, 'g2 waits');
    await ch.put('y');
    await joinall([g1, g2]);
    assert.deepEqual(log, ['g1 x', 'put done', 'g2 y']);
  });

  test("random putters, getters, timeouts and kills: every item whose put returned is received once, no other but a killed putter's", async () => {
    const actor = fc.record({
      kind: fc.constantFrom('put', 'get'),
      delay: fc.integer({ min: 0, max: 3 }),
      timeout: fc.option(fc.integer({ min: 0, max: 4 })),
      killAfter: fc.option(fc.integer({ min: 0, max: 5 })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(actor, { minLength: 1, maxLength: 10 }), async (actors) => {
        const ch = new Channel<number>();
        const delivered: number[] = [];
        const received: number[] = [];
        /** Putters killed in their put: the item may have been received just before. */
        const killed = new Set<number>();
        let next = 0;
        const gs = actors.map((a) =>
          spawn(async () => {
            await sleep(a.delay);
            const options = a.timeout === null ? undefined : { timeout: a.timeout };
            if (a.kind === 'put') {
              const item = next++;
              try {
                await ch.put(item, options);
                delivered.push(item);
              } catch (e) {
                if (e instanceof GreenletExit) killed.add(item);
                if (!(e instanceof Full)) throw e;
              }
            } else {
              try {
                received.push(await ch.get(options));
              } catch (e) {
                if (!(e instanceof Empty)) throw e;
              }
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
        await joinall(gs, { timeout: 40 });
        await joinall(killers.filter((k) => k !== null));
        for (const g of gs) await g.kill();
        for (const g of gs) if (!g.successful()) throw g.exception;
        assert.equal(new Set(received).size, received.length, 'an item received twice');
        for (const x of delivered) assert.ok(received.includes(x), `item ${x} was lost`);
        for (const x of received) {
          assert.ok(delivered.includes(x) || killed.has(x), `item ${x} came from nowhere`);
        }
        assert.equal(ch.balance, 0);
      }),
      { numRuns: 60 },
    );
  });
});
