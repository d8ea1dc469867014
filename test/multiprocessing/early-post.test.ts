/**
 * A fire-and-forget call another process waits for (Lock/Semaphore release, Event set/clear,
 * Condition notify, Barrier abort), made before the process's broker connection is up and
 * followed by synchronous work, reaches the broker during that work, as Python's does. Before,
 * it waited in the out-buffer for the socket's 'connect', which only a turn of the event loop
 * reports: the other process waited until the work ended.
 *
 * Each child spins until the parent writes `flag[0]`, which the parent does once it has seen
 * the call (or given up): a spin outlasting a failed wait cannot hang the test. Each test runs
 * with the child on the raw transport (its socket is connected within connect(2)) and on
 * net.Socket (WEFT_BROKER_NET=1 in the child: the call goes through the sync client thread).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { WAITERS } from '../../src/internal/process/lock-slab.js';
import { toBytes } from '../../src/internal/serialize.js';
import {
  Barrier,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  Process,
  Queue,
  Semaphore,
  Array as SharedArrayOf,
} from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import {
  abortThenSpin,
  clearThenSpin,
  notifyThenSpin,
  orderThenSpin,
  putSetExitSlowly,
  releaseThenSpin,
  semReleaseThenSpin,
  setThenExit,
  setThenSpin,
} from './fixtures/early-post-targets.js';

checkLeaks({ graceMs: 3000 });

/** Far more than the call takes to arrive, loaded; the children spin for longer. */
const PATIENCE = 30_000;
const skip = !slabExpected && 'no shared-memory addon here (the spin reads an Array with getObj)';

/** Polls `cond` (a value another process changes in shared memory or at the broker). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + PATIENCE;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not seen within ${PATIENCE} ms`);
    await sleep(10);
  }
}

/** Starts a child running `target(bytes)`, on net.Socket for `net`. */
function startChild(target: (bytes: Uint8Array) => unknown, bytes: Buffer, net: boolean): Process {
  const p = new Process({ target, args: [bytes] });
  const before = process.env.WEFT_BROKER_NET;
  // The child's environment is this one as it is when it forks (within start()).
  if (net) process.env.WEFT_BROKER_NET = '1';
  try {
    p.start();
  } finally {
    if (before === undefined) delete process.env.WEFT_BROKER_NET;
    else process.env.WEFT_BROKER_NET = before;
  }
  return p;
}

/**
 * Starts `target([obj, flag])`, runs `check` while the child spins, then ends the spin and the
 * child (exit code 0).
 */
async function whileChildSpins(
  net: boolean,
  target: (bytes: Uint8Array) => unknown,
  obj: unknown,
  check: (view: Int32Array) => Promise<void>,
): Promise<void> {
  const flag = SharedArrayOf('i', 3);
  const view = flag.getObj() as Int32Array;
  const p = startChild(target, toBytes([obj, flag], 'test'), net);
  try {
    await check(view);
  } finally {
    Atomics.store(view, 0, 1);
  }
  await p.join();
  assert.equal(p.exitcode, 0);
}

for (const net of [false, true])
  describe(`a call another process waits for, made before the connection is up (${net ? 'net.Socket' : 'raw'})`, {
    skip,
  }, () => {
    test('Event.set reaches a waiting parent while the child computes', async () => {
      const ev = new Event();
      await whileChildSpins(net, setThenSpin, ev, async () => {
        assert.equal(
          await ev.wait({ timeout: PATIENCE }),
          true,
          'the set came only after the work',
        );
      });
    });

    test('Event.clear is seen by the parent while the child computes', async () => {
      const ev = new Event();
      ev.set();
      await roundTrip();
      await whileChildSpins(net, clearThenSpin, ev, async () => {
        await until(() => !ev.isSet(), 'the clear');
      });
    });

    test('Condition.notify wakes a waiting parent while the child computes', async () => {
      const cond = new Condition();
      assert.equal(await cond.acquire(), true);
      const woken = cond.wait({ timeout: PATIENCE });
      await roundTrip();
      await whileChildSpins(net, notifyThenSpin, cond, async () => {
        assert.equal(await woken, true, 'the notify came only after the work');
        cond.release();
      });
    });

    test('Barrier.abort breaks the parent out of its wait while the child computes', async () => {
      const b = new Barrier(2);
      const waiting = b.wait();
      await roundTrip();
      await whileChildSpins(net, abortThenSpin, b, async () => {
        await assert.rejects(
          settles(waiting, 'the parent waiting at the barrier', PATIENCE),
          BrokenBarrierError,
        );
      });
    });

    test('Semaphore.release wakes a parked parent while the child computes', async () => {
      const s = new Semaphore(0);
      const got = s.acquire({ timeout: PATIENCE });
      await roundTrip();
      assert.equal((slabWord(s) as number) & WAITERS, WAITERS, 'the parent is parked');
      await whileChildSpins(net, semReleaseThenSpin, s, async () => {
        assert.equal(await got, true, 'the release came only after the work');
      });
    });

    test('Lock.release hands the lock to a parked parent while the child computes', async () => {
      const lock = new Lock();
      await whileChildSpins(net, releaseThenSpin, lock, async (view) => {
        await until(() => Atomics.load(view, 1) === 1, 'the child holding the lock');
        const got = lock.acquire({ timeout: PATIENCE });
        await roundTrip();
        assert.equal((slabWord(lock) as number) & WAITERS, WAITERS, 'the parent is parked');
        Atomics.store(view, 2, 1);
        assert.equal(await got, true, 'the release came only after the work');
        lock.release();
      });
    });

    test('an Event.set made just before process.exit() reaches the parent', async () => {
      const ev = new Event();
      const p = startChild(setThenExit, toBytes([ev, SharedArrayOf('i', 1)], 'test'), net);
      await p.join();
      assert.equal(p.exitcode, 0);
      // On a connection of its own: it may reach the broker after the exit is seen here.
      assert.equal(await ev.wait({ timeout: PATIENCE }), true);
    });

    test('what was queued before the call goes first, and each message runs once', async () => {
      const q = new Queue<string>();
      const ev = new Event();
      const s = new Semaphore(0);
      await whileChildSpins(net, orderThenSpin, [q, ev, s], async () => {
        assert.equal(
          await ev.wait({ timeout: PATIENCE }),
          true,
          'the set came only after the work',
        );
        assert.equal(q.getNowait(), 'a', 'the put queued before the set is there');
        assert.equal(await s.acquire({ timeout: PATIENCE }), true);
      });
      // Then the child's connection delivered the same messages again (skipped) and its later ones.
      assert.equal(await q.get({ timeout: PATIENCE }), 'b');
      assert.equal(q.empty(), true, 'no put ran twice');
      assert.equal(await s.acquire({ timeout: PATIENCE }), true);
      assert.equal(await s.acquire({ blocking: false }), false, 'no release ran twice');
    });
  });

/**
 * Between a child and the broker: forwards every connection, the sync client's (role 's' in its
 * hello) only `delayMs` after it came, as a sync client thread slow to start, or a busy broker
 * reading it late, would. At a path of the same name, so that the child finds the broker's
 * shared memory (named after it).
 */
async function delayingProxy(
  real: string,
  delayMs: number,
): Promise<{ path: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-proxy-'));
  const path = join(dir, basename(real));
  const server = createServer((down: Socket) => {
    let held: Buffer = Buffer.alloc(0);
    let up: Socket | null = null;
    let ended = false;
    let decided = false;
    down.on('data', (d) => {
      if (up !== null) {
        up.write(d);
        return;
      }
      held = Buffer.concat([held, d]);
      if (decided || held.length < 4 || held.length < 4 + held.readUInt32LE(0)) return;
      decided = true;
      const [hello] = v8.deserialize(held.subarray(4, 4 + held.readUInt32LE(0))) as Array<{
        a: unknown[];
      }>;
      setTimeout(
        () => {
          const u = createConnection(real);
          up = u;
          u.write(held);
          if (ended) u.end();
          u.on('data', (x) => down.write(x));
          u.on('error', () => {});
          u.on('close', () => down.destroy());
        },
        hello?.a?.[3] === 's' ? delayMs : 0,
      );
    });
    down.on('end', () => {
      ended = true;
      up?.end();
    });
    down.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    close() {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a process exiting after an early call: what its sync client shipped runs once, however late its connection comes', {
  skip,
}, async () => {
  // The sync client's connection, made while the process ended, was read after its socket had
  // delivered the same messages and closed: the broker took it for a new session and ran them
  // again (a release twice: two holders of a lock).
  const q = new Queue<string>();
  const ev = new Event();
  await roundTrip();
  const real = process.env.WEFT_BROKER as string;
  const delay = 1500;
  const proxy = await delayingProxy(real, delay);
  try {
    const p = new Process({
      target: putSetExitSlowly,
      args: [toBytes([[q, ev], SharedArrayOf('i', 1)], 'test'), 800],
    });
    process.env.WEFT_BROKER = proxy.path;
    process.env.WEFT_BROKER_NET = '1';
    try {
      p.start();
    } finally {
      process.env.WEFT_BROKER = real;
      delete process.env.WEFT_BROKER_NET;
    }
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.equal(await ev.wait({ timeout: PATIENCE }), true);
    assert.equal(await q.get({ timeout: PATIENCE }), 'a');
    // Past the proxy's delay: a late connection has been read by now.
    await sleep(delay + 1500);
    assert.equal(await roundTrip().then(() => q.qsize()), 0, 'the put ran twice');
  } finally {
    proxy.close();
  }
});
