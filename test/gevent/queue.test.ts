/**
 * gevent.queue's Queue, LifoQueue, PriorityQueue and JoinableQueue. Each expected order or value
 * below was checked against gevent 22.10.2 on /usr/bin/python3 (3.11.2), with the same program
 * written in Python (quoted as "gevent: …").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { QueueEmpty, QueueFull, TimeoutError, waitFor } from '../../src/asyncio/index.js';
import {
  Channel,
  Empty,
  Full,
  GreenletExit,
  JoinableQueue,
  joinall,
  LifoQueue,
  PoolFull,
  PriorityQueue,
  Queue,
  Semaphore,
  StopIteration,
  sleep,
  spawn,
} from '../../src/gevent/index.js';
import { Empty as QueueModuleEmpty, Full as QueueModuleFull } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Lets the ready queue and the loop turn a few times. */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await sleep(0);
}

describe('Queue: wake order', () => {
  test('getters are served in the order they waited, each running until it blocks before the next', async () => {
    // gevent: ['g 0 waits', 'g 1 waits', 'g 2 waits', 'main puts', 'main put 2, sleeps',
    //   'g 0 got a', 'g 1 got b', 'main back', 'g 0 after sleep', 'g 1 after sleep', 'g 2 got c',
    //   'main end', 'g 2 after sleep']
    const log: string[] = [];
    const q = new Queue<string>();
    const getter = async (n: number) => {
      log.push(`g ${n} waits`);
      const x = await q.get();
      log.push(`g ${n} got ${x}`);
      await sleep(0);
      log.push(`g ${n} after sleep`);
    };
    const gs = [0, 1, 2].map((i) => spawn(getter, i));
    await spawn(async () => {
      await sleep(0);
      log.push('main puts');
      await q.put('a');
      await q.put('b');
      log.push('main put 2, sleeps');
      await sleep(0);
      log.push('main back');
      await q.put('c');
      await sleep(0);
      log.push('main end');
    }).join();
    await joinall(gs);
    assert.deepEqual(log, [
      'g 0 waits',
      'g 1 waits',
      'g 2 waits',
      'main puts',
      'main put 2, sleeps',
      'g 0 got a',
      'g 1 got b',
      'main back',
      'g 0 after sleep',
      'g 1 after sleep',
      'g 2 got c',
      'main end',
      'g 2 after sleep',
    ]);
  });

  test('a get made before the woken getter runs takes the item; the getter keeps its place', async () => {
    // gevent: ['main barges 1', 'first got 2', 'second got 3']
    const log: string[] = [];
    const q = new Queue<number>();
    const first = spawn(async () => log.push(`first got ${await q.get()}`));
    const second = spawn(async () => log.push(`second got ${await q.get()}`));
    await spawn(async () => {
      await sleep(0);
      await q.put(1);
      log.push(`main barges ${await q.get()}`);
      await sleep(0); // the first getter runs, finds nothing, and waits again
      await q.put(2);
      await sleep(0);
      await q.put(3);
    }).join();
    await joinall([first, second]);
    // The first getter was woken by 1, lost it, and is still served before the second.
    assert.deepEqual(log, ['main barges 1', 'first got 2', 'second got 3']);
  });

  test('putters put their items in the order they waited; a newcomer may take a slot first', async () => {
    // gevent: ['p 1 puts', 'p 2 puts', 'p 3 puts', 'get 0', 'qsize 0', 'p 1 done', 'get 1',
    //   'p 2 done', 'get 2 0', 'p 3 done', 'get 3']
    const log: string[] = [];
    const q = new Queue<number>(1);
    await q.put(0);
    const putter = async (n: number) => {
      log.push(`p ${n} puts`);
      await q.put(n);
      log.push(`p ${n} done`);
    };
    const ps = [1, 2, 3].map((n) => spawn(putter, n));
    await spawn(async () => {
      await sleep(0);
      log.push(`get ${await q.get()}`);
      log.push(`qsize ${q.qsize()}`);
      await sleep(0);
      log.push(`get ${await q.get()}`);
      log.push(`get ${await q.get()} ${q.qsize()}`);
      await sleep(0);
      log.push(`get ${await q.get()}`);
    }).join();
    await joinall(ps);
    assert.deepEqual(log, [
      'p 1 puts',
      'p 2 puts',
      'p 3 puts',
      'get 0',
      'qsize 0',
      'p 1 done',
      'get 1',
      'p 2 done',
      'get 2 0',
      'p 3 done',
      'get 3',
    ]);

    // gevent: ['p 9 puts', 'get 0', 'barged', 'get barger', 'p 9 done', 'get 9']
    log.length = 0;
    const q2 = new Queue<number | string>(1);
    await q2.put(0);
    const p = spawn(async () => {
      log.push('p 9 puts');
      await q2.put(9);
      log.push('p 9 done');
    });
    await spawn(async () => {
      await sleep(0);
      log.push(`get ${await q2.get()}`);
      await q2.put('barger');
      log.push('barged');
      await sleep(0);
      log.push(`get ${await q2.get()}`);
      await sleep(0);
      log.push(`get ${await q2.get()}`);
    }).join();
    await p.join();
    assert.deepEqual(log, ['p 9 puts', 'get 0', 'barged', 'get barger', 'p 9 done', 'get 9']);
  });

  test('peek waits in line with the getters and leaves the item', async () => {
    // gevent: ['peek x', 'get x', 'qsize 0'] (the second peek still waits)
    const log: string[] = [];
    const q = new Queue<string>();
    const a = spawn(async () => log.push(`peek ${await q.peek()}`));
    const b = spawn(async () => log.push(`get ${await q.get()}`));
    const c = spawn(async () => log.push(`peek2 ${await q.peek()}`));
    await spawn(async () => {
      await sleep(0);
      await q.put('x');
      await sleep(0);
      await sleep(0);
      log.push(`qsize ${q.qsize()}`);
    }).join();
    await joinall([a, b]);
    assert.equal(c.dead, false);
    assert.deepEqual(log, ['peek x', 'get x', 'qsize 0']);
    q.putNowait('y');
    await c.join();
    assert.deepEqual(log.at(-1), 'peek2 y');
    assert.equal(q.getNowait(), 'y');
  });

  test('peek of a full queue wakes no putter', async () => {
    // gevent: peek a, qsize 1 (the putter still waits)
    const q = new Queue<string>(1);
    await q.put('a');
    const p = spawn(() => q.put('b'));
    await settle();
    assert.equal(await q.peek(), 'a');
    await settle();
    assert.equal(q.qsize(), 1);
    assert.equal(p.dead, false);
    assert.equal(await q.get(), 'a');
    await p.join();
    assert.equal(q.getNowait(), 'b');
  });
});

describe('Queue: chains of wake-ups', () => {
  test('a get that frees a slot serves the waiting putter before a greenlet already ready puts', async () => {
    // gevent: ['g3 put 6', 'g3 putnw 7 Full', 'g2 got 6', 'g1 put 4'], g0's put waits, qsize 1.
    // The put of 6 queues one unlock pass: it switches to g2 (which takes 6) and, once g2
    // blocks, to the putter g1, before g0's turn comes and finds the queue full.
    const q = new Queue<number>(1);
    const log: string[] = [];
    const g0 = spawn(async () => {
      await sleep(0);
      await sleep(0);
      await q.put(1);
      log.push('g0 put 1');
    });
    const g1 = spawn(async () => {
      await sleep(0);
      await q.put(4);
      log.push('g1 put 4');
    });
    const g2 = spawn(async () => {
      log.push(`g2 got ${await q.get()}`);
      await sleep(0);
    });
    const g3 = spawn(async () => {
      await q.put(6);
      log.push('g3 put 6');
      try {
        q.putNowait(7);
      } catch (e) {
        if (!(e instanceof Full)) throw e;
        log.push('g3 putnw 7 Full');
      }
    });
    await joinall([g1, g2, g3]);
    assert.deepEqual(log, ['g3 put 6', 'g3 putnw 7 Full', 'g2 got 6', 'g1 put 4']);
    assert.equal(g0.dead, false, "g0's put waits");
    assert.equal(q.qsize(), 1);
    await g0.kill();
  });
});

describe('Queue: block and timeout', () => {
  test('get({ block: false }) answers at once; get({ timeout: 0 }) lets the loop turn first', async () => {
    // gevent: ['get t0 x', 'Empty nb'] — a greenlet spawned just before puts in time for the
    // timeout of 0, not for block=False.
    const got = await spawn(async () => {
      const out: string[] = [];
      const q = new Queue<string>();
      spawn(() => q.put('x'));
      out.push(`t0 ${await q.get({ timeout: 0 })}`);
      const q2 = new Queue<string>();
      spawn(() => q2.put('x'));
      await q2.get({ block: false }).catch((e) => out.push(e instanceof Empty ? 'Empty' : 'other'));
      return out;
    }).get();
    assert.deepEqual(got, ['t0 x', 'Empty']);
  });

  test("timeouts of 0 end once the greenlets ready have run, in the same turn of Node's loop", async () => {
    // gevent: ['y0', 'y1', 'y2', 'get Empty', 'acq False', 'ch Empty']: its Timeout(0)s fire
    // when the hub has run its callbacks, the yields of y among them. weft fired them from
    // Node's shortest timer, a millisecond (and many turns of Node's loop) later. Five rounds:
    // the first ones of a process may take that long just to compile their code.
    for (let round = 0; round < 5; round++) {
      let turns = 0;
      let counting = true;
      const turn = (): void => {
        turns++;
        if (counting) setImmediate(turn);
      };
      setImmediate(turn);
      const log: string[] = [];
      const q = new Queue<number>();
      const sem = new Semaphore(0);
      const ch = new Channel<number>();
      const gs = [
        spawn(async () => {
          await q
            .get({ timeout: 0 })
            .catch((e) => log.push(e instanceof Empty ? 'get Empty' : 'other'));
        }),
        spawn(async () => {
          log.push(`acq ${await sem.acquire({ timeout: 0 })}`);
        }),
        spawn(async () => {
          await ch.getNowait().catch((e) => log.push(e instanceof Empty ? 'ch Empty' : 'other'));
        }),
        spawn(async () => {
          for (let i = 0; i < 3; i++) {
            log.push(`y${i}`);
            await sleep(0);
          }
        }),
      ];
      await joinall(gs);
      counting = false;
      assert.deepEqual(log, ['y0', 'y1', 'y2', 'get Empty', 'acq false', 'ch Empty']);
      assert.ok(
        turns <= 2,
        `round ${round}: the timeouts ended after ${turns} turns of Node's loop`,
      );
    }
  });

  test('a negative timeout is 0, as gevent takes it', async () => {
    // gevent: ['get t-1 x', 'Full t-1']
    const got = await spawn(async () => {
      const q = new Queue<string>();
      spawn(() => q.put('x'));
      const a = await q.get({ timeout: -1 });
      const q2 = new Queue<number>(1);
      await q2.put(0);
      const b = await q2.put(1, { timeout: -1 }).catch((e) => (e instanceof Full ? 'Full' : e));
      return [a, b];
    }).get();
    assert.deepEqual(got, ['x', 'Full']);
  });

  test('put and get raise Full and Empty when the timeout passes, and leave no waiter', async () => {
    const q = new Queue<number>(1);
    await q.put(0);
    const t0 = performance.now();
    await assert.rejects(q.put(1, { timeout: 30 }), Full);
    assert.ok(performance.now() - t0 >= 25, 'waited about the timeout');
    await assert.rejects(q.put(1, { block: false }), Full);
    assert.throws(() => q.putNowait(1), Full);
    assert.equal(q.getNowait(), 0);
    await assert.rejects(q.get({ timeout: 5 }), Empty);
    await assert.rejects(q.peek({ timeout: 5 }), Empty);
    assert.throws(() => q.getNowait(), Empty);
    assert.throws(() => q.peekNowait(), Empty);
    // Nothing was left waiting: a put and a get now go straight through.
    q.putNowait(7);
    assert.equal(q.peekNowait(), 7);
    assert.equal(await q.get(), 7);
  });

  test('a getter whose timeout passes leaves; the next one gets the item', async () => {
    // gevent: ['g 1 Empty', 'g 2 x']
    const log: string[] = [];
    const q = new Queue<string>();
    const getter = async (n: number, timeout?: number) => {
      try {
        log.push(`g ${n} ${await q.get(timeout === undefined ? undefined : { timeout })}`);
      } catch (e) {
        log.push(`g ${n} ${e instanceof Empty ? 'Empty' : e}`);
      }
    };
    // The machine stalls before the getters' first steps, as a loaded one may. Regression: the
    // test put its item after a sleep(30) of its own, armed before that stall, while the first
    // getter's 10 ms were counted from its first step: a stall of over 20 ms moved its timeout
    // past the put, it got the item, and the second getter waited for ever.
    spawn(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40));
    const gs = [spawn(getter, 1, 10), spawn(getter, 2)];
    // The item comes once the first getter's timeout has ended its wait, whenever that is.
    await gs[0]!.join();
    assert.equal(gs[1]!.dead, false);
    await q.put('x');
    await joinall(gs);
    assert.deepEqual(log, ['g 1 Empty', 'g 2 x']);
  });

  test("Empty and Full are asyncio's QueueEmpty/QueueFull and weft/queue's Empty/Full, as gevent's are queue's; PoolFull is a Full", () => {
    const e = new Empty();
    const f = new Full();
    assert.ok(e instanceof QueueEmpty && e instanceof QueueModuleEmpty);
    assert.ok(f instanceof QueueFull && f instanceof QueueModuleFull);
    assert.equal(e.name, 'Empty');
    assert.equal(f.name, 'Full');
    assert.equal(e.code, 'ERR_WEFT_QUEUE_EMPTY');
    assert.equal(f.code, 'ERR_WEFT_QUEUE_FULL');
    assert.ok(new PoolFull() instanceof Full);
    assert.ok(!(e instanceof Full) && !(f instanceof Empty));
  });
});

describe('Queue: size, limit, iteration', () => {
  test('maxsize null, 0 or none: no limit (maxsize reads null); n: full at n', async () => {
    // gevent: maxsize None None None 5
    assert.deepEqual(
      [new Queue().maxsize, new Queue(null).maxsize, new Queue(0).maxsize, new Queue(5).maxsize],
      [null, null, null, 5],
    );
    const unbounded = new Queue<number>(0);
    for (let i = 0; i < 1000; i++) unbounded.putNowait(i);
    assert.equal(unbounded.full(), false);
    assert.equal(unbounded.length, 1000);
    const q = new Queue<number>(2);
    assert.equal(q.empty(), true);
    q.putNowait(1);
    q.putNowait(2);
    assert.equal(q.full(), true);
    assert.equal(q.qsize(), 2);
    assert.equal(String(q), '[object Queue]');
  });

  test('raising maxsize wakes the putters that now fit', async () => {
    const q = new Queue<number>(1);
    q.putNowait(0);
    const p = spawn(() => q.put(1));
    await settle();
    assert.equal(p.dead, false);
    q.maxsize = 2;
    await p.join();
    assert.deepEqual([q.getNowait(), q.getNowait()], [0, 1]);
    q.maxsize = null;
    assert.equal(q.maxsize, null);
  });

  test('for await ends at StopIteration and leaves the items after it', async () => {
    // gevent: iter [1, 2] 1
    const q = new Queue<number | typeof StopIteration>();
    for (const x of [1, 2, StopIteration, 3] as const) await q.put(x);
    const got: number[] = [];
    for await (const x of q) got.push(x);
    assert.deepEqual(got, [1, 2]);
    assert.equal(q.qsize(), 1);
    assert.equal(StopIteration, Symbol.for('weft.gevent.StopIteration'));
  });

  test('items given to the constructor come first; copy() copies limit and items', () => {
    // gevent: items 3 1; copy 2 3 3 1
    const q = new Queue<number>(3, { items: [1, 2] });
    const c = q.copy();
    c.putNowait(9);
    assert.deepEqual([q.qsize(), c.qsize(), c.maxsize, c.getNowait()], [2, 3, 3, 1]);
    assert.ok(c instanceof Queue);
  });

  test('bad arguments are typed errors', async () => {
    // docs/gevent.md quotes this message ("with the words of every weft queue's").
    assert.throws(() => new Queue(-1), {
      name: 'RangeError',
      message: 'Queue maxsize must be >= 0 (0: unbounded): received -1',
    });
    // A non-integer is gevent's TypeError too; Infinity is no limit (gevent refuses the float).
    assert.throws(() => new Queue(1.5), TypeError);
    assert.equal(new Queue(Number.POSITIVE_INFINITY).maxsize, null);
    assert.throws(() => new Queue('3' as unknown as number), TypeError);
    assert.throws(() => new Queue(1, { items: 5 as unknown as number[] }), TypeError);
    assert.throws(() => new Queue(1, 'x' as unknown as object), TypeError);
    const q = new Queue<number>();
    assert.throws(() => {
      q.maxsize = -2;
    }, RangeError);
    await assert.rejects(q.get({ timeout: 'a' as unknown as number }), TypeError);
    await assert.rejects(q.put(1, { block: 'no' as unknown as boolean }), TypeError);
    await assert.rejects(q.peek({ signal: {} as AbortSignal }), TypeError);
    // An aborted signal rejects even when the answer is there (weft-wide).
    q.putNowait(1);
    await assert.rejects(q.get({ signal: AbortSignal.abort(new Error('stop')) }), /stop/);
    assert.equal(q.qsize(), 1);
  });
});

describe('LifoQueue and PriorityQueue', () => {
  test('LifoQueue returns the last item first; peek shows it', async () => {
    // gevent: lifo 3 3 2 1
    const l = new LifoQueue<number>();
    for (const i of [1, 2, 3]) await l.put(i);
    assert.deepEqual([await l.peek(), await l.get(), await l.get(), l.qsize()], [3, 3, 2, 1]);
    const c = l.copy();
    c.putNowait(4);
    assert.deepEqual([c.getNowait(), c.getNowait(), l.qsize()], [4, 1, 1]);
  });

  test('PriorityQueue returns the smallest first; ties come out in put order', async () => {
    // gevent: prio (1, 'a') (1, 'a') (2, 'b') 1
    const p = new PriorityQueue<[number, string]>();
    for (const x of [
      [3, 'c'],
      [1, 'a'],
      [2, 'b'],
    ] as [number, string][])
      await p.put(x);
    assert.deepEqual(
      [await p.peek(), await p.get(), await p.get(), p.qsize()],
      [[1, 'a'], [1, 'a'], [2, 'b'], 1],
    );
    const ties = new PriorityQueue<{ p: number; n: string }>(null, {
      compare: (a, b) => a.p - b.p,
      items: [{ p: 1, n: 'x' }],
    });
    ties.putNowait({ p: 0, n: 'y' });
    ties.putNowait({ p: 1, n: 'z' });
    const copy = ties.copy();
    assert.deepEqual([ties.getNowait().n, ties.getNowait().n, ties.getNowait().n], ['y', 'x', 'z']);
    assert.deepEqual([copy.getNowait().n, copy.getNowait().n, copy.getNowait().n], ['y', 'x', 'z']);
  });

  test('an item PriorityQueue cannot order fails its put and leaves the queue as it was', async () => {
    const p = new PriorityQueue<unknown>();
    await p.put(1);
    await assert.rejects(p.put('a'), TypeError);
    assert.equal(p.qsize(), 1);
    assert.throws(() => new PriorityQueue(0, { compare: 1 as unknown as () => number }), TypeError);
  });
});

describe('JoinableQueue', () => {
  test('workers mark items done; join() returns once all are, before the workers stop', async () => {
    // gevent: [(0, 0), (1, 1), (0, 2), (1, 3), (0, 4), 'joined']
    const q = new JoinableQueue<number | typeof StopIteration>();
    const log: string[] = [];
    const worker = async (n: number) => {
      for (;;) {
        const item = await q.get();
        if (item === StopIteration) {
          q.taskDone();
          return;
        }
        log.push(`${n}:${item}`);
        await sleep(0);
        q.taskDone();
      }
    };
    const ws = [0, 1].map((n) => spawn(worker, n));
    await spawn(async () => {
      for (let i = 0; i < 5; i++) await q.put(i);
      assert.equal(await q.join(), true);
      log.push('joined');
      for (const _ of ws) await q.put(StopIteration);
    }).join();
    await joinall(ws);
    assert.deepEqual(log, ['0:0', '1:1', '0:2', '1:3', '0:4', 'joined']);
    assert.equal(q.unfinishedTasks, 0);
  });

  test('join({ timeout }) resolves false while tasks are unfinished; taskDone() too often is a RangeError', async () => {
    // gevent: ['join t False 1', 'join True', 'ValueError task_done() called too many times']
    const q = new JoinableQueue<number>();
    await q.put(1);
    assert.equal(await q.join({ timeout: 10 }), false);
    assert.equal(q.unfinishedTasks, 1);
    await q.get();
    q.taskDone();
    assert.equal(await q.join(), true);
    assert.throws(() => q.taskDone(), RangeError);
    await assert.rejects(q.join({ timeout: 'x' as unknown as number }), /JoinableQueue\.join/);
  });

  test('items given count as unfinished, or unfinishedTasks when given; copy keeps the count', () => {
    // gevent: jq items 2 2
    const q = new JoinableQueue<number>(null, { items: [1, 2] });
    assert.equal(q.unfinishedTasks, 2);
    assert.equal(q.copy().unfinishedTasks, 2);
    assert.equal(new JoinableQueue(null, { items: [1], unfinishedTasks: 5 }).unfinishedTasks, 5);
    assert.throws(() => new JoinableQueue(null, { unfinishedTasks: -1 }), RangeError);
    assert.throws(() => new JoinableQueue(null, { unfinishedTasks: 0.5 }), TypeError);
  });
});

describe('Queue: cancellation loses no item', () => {
  test('a getter killed after a put woke it takes the item first, and gets the kill at its next wait', async () => {
    // gevent 22.10.2: ['g1 got x', 'g1 killed at its next get'], g1 successful (GreenletExit),
    // g2 still waiting, qsize 0: the kill is a hub callback queued behind the put's unlock.
    const log: string[] = [];
    const q = new Queue<string>();
    const g1 = spawn(async () => {
      log.push(`g1 got ${await q.get()}`);
      try {
        await q.get();
      } catch (e) {
        if (e instanceof GreenletExit) log.push('g1 killed at its next get');
        throw e;
      }
    });
    const g2 = spawn(async () => log.push(`g2 got ${await q.get()}`));
    await spawn(async () => {
      await sleep(0);
      q.putNowait('x'); // queues the pass that wakes g1
      await g1.kill({ block: false }); // its turn comes after that pass
      await sleep(0);
    }).join();
    await g1.join();
    assert.deepEqual(log, ['g1 got x', 'g1 killed at its next get']);
    assert.ok(g1.value instanceof GreenletExit);
    assert.equal(g2.dead, false, 'g2 still waits');
    assert.equal(q.qsize(), 0);
    await g2.kill();
  });

  test('an aborted get or put leaves no waiter; a killed putter puts nothing', async () => {
    const q = new Queue<number>(1);
    q.putNowait(0);
    const ac = new AbortController();
    const p = q.put(1, { signal: ac.signal });
    const killed = spawn(() => q.put(2));
    await settle();
    ac.abort(new Error('abort'));
    await assert.rejects(p, /abort/);
    await killed.kill();
    assert.deepEqual([q.getNowait(), q.qsize()], [0, 0]);
    const e = new Queue<number>();
    const ac2 = new AbortController();
    const g = e.get({ signal: ac2.signal });
    ac2.abort(new Error('abort'));
    await assert.rejects(g, /abort/);
    await e.put(5);
    assert.equal(e.qsize(), 1, 'the aborted get took nothing');
  });

  test('asyncio waitFor(q.get(), ms) that times out takes no later item', async () => {
    const q = new Queue<number>();
    await spawn(async () => {
      await assert.rejects(waitFor(q.get(), 10), TimeoutError);
    }).join();
    q.putNowait(1);
    await settle();
    assert.equal(q.qsize(), 1);
  });

  test('random producers, consumers, timeouts and kills: every item put is got once, in order, or is still there', async () => {
    const actor = fc.record({
      kind: fc.constantFrom('put', 'get'),
      delay: fc.integer({ min: 0, max: 3 }),
      timeout: fc.option(fc.integer({ min: 0, max: 4 })),
      killAfter: fc.option(fc.integer({ min: 0, max: 5 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.integer({ min: 1, max: 3 })),
        fc.array(actor, { minLength: 1, maxLength: 10 }),
        async (maxsize, actors) => {
          const q = new Queue<number>(maxsize);
          const putOrder: number[] = [];
          const gotOrder: number[] = [];
          let next = 0;
          const gs = actors.map((a) =>
            spawn(async () => {
              await sleep(a.delay);
              const options = a.timeout === null ? undefined : { timeout: a.timeout };
              if (a.kind === 'put') {
                const item = next++;
                try {
                  await q.put(item, options);
                  putOrder.push(item);
                } catch (e) {
                  if (!(e instanceof Full)) throw e;
                }
              } else {
                try {
                  gotOrder.push(await q.get(options));
                } catch (e) {
                  if (!(e instanceof Empty)) throw e;
                }
              }
              assert.ok(q.qsize() <= (maxsize ?? Number.POSITIVE_INFINITY));
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
          // Whatever is left waiting is killed at the end.
          await joinall(gs, { timeout: 40 });
          await joinall(killers.filter((k) => k !== null));
          for (const g of gs) await g.kill();
          for (const g of gs) if (!g.successful()) throw g.exception;
          const left: number[] = [];
          while (!q.empty()) left.push(q.getNowait());
          // FIFO: what came out, then what is left, is what went in, in order.
          assert.deepEqual([...gotOrder, ...left], putOrder);
        },
      ),
      { numRuns: 60 },
    );
  });
});
