/**
 * The broker's wait-for walk (src/internal/process/broker-deadlock.ts), property-tested on
 * random worlds of sessions, locks and waits, without processes: whatever it reports is a real
 * cycle by its own rules, and a cycle of parked threads is never missed. A session that awaits is
 * passed through only by the wait of the asyncio task that holds the lock the walk came by.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Conn, Session } from '../../src/internal/process/broker-conn.js';
import {
  findLockCycle,
  type LockWaiter,
  lockLabel,
  sessionLabel,
  type WalkLock,
} from '../../src/internal/process/broker-deadlock.js';

interface World {
  sessions: Session[];
  locks: WalkLock[];
  /**
   * Per session: the lock it waits for in a parked …Sync call (-1: none), its awaited locks and
   * the asyncio task awaiting each (0: none).
   */
  parked: number[];
  awaited: number[][];
  awaitedTasks: number[][];
}

/** A world: each lock held by a session or free; each session parked on at most one lock. */
const worlds = fc
  .record({
    n: fc.integer({ min: 1, max: 6 }),
    m: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ n, m }) =>
    fc.record({
      holders: fc.array(fc.integer({ min: -1, max: n - 1 }), { minLength: m, maxLength: m }),
      parked: fc.array(fc.integer({ min: -1, max: m - 1 }), { minLength: n, maxLength: n }),
      awaited: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: m - 1 }), { maxLength: 3 }), {
        minLength: n,
        maxLength: n,
      }),
      tasks: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: m, maxLength: m }),
      awaitedTasks: fc.array(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        {
          minLength: n,
          maxLength: n,
        },
      ),
    }),
  );

function build(w: {
  holders: number[];
  parked: number[];
  awaited: number[][];
  tasks: number[];
  awaitedTasks: number[][];
}): World {
  const sessions = w.parked.map((_, i) => {
    const s = new Session(`${100 + i}:0`);
    s.pid = 100 + i;
    s.name = `P${i}`;
    return s;
  });
  const locks: WalkLock[] = w.holders.map((h, j) => ({
    id: `L${j}`,
    recursive: false,
    session: h < 0 ? null : (sessions[h] as Session),
    holderTask: h < 0 ? 0 : (w.tasks[j] as number),
  }));
  const waiter = (c: Conn, r: number, lock: WalkLock, task: number): void => {
    const x: LockWaiter = {
      conn: c,
      r,
      timer: null,
      list: [],
      attempt: () => false,
      timedOut: () => {},
      lockWait: lock,
      lockTask: task,
    };
    c.waiters.set(r, x);
  };
  sessions.forEach((s, i) => {
    const a = new Conn(s, 'a');
    const sy = new Conn(s, 's');
    s.conns.add(a);
    s.conns.add(sy);
    const p = w.parked[i] as number;
    if (p >= 0) waiter(sy, 1, locks[p] as WalkLock, 0);
    for (const [k, l] of (w.awaited[i] as number[]).entries()) {
      waiter(a, 10 + k, locks[l] as WalkLock, w.awaitedTasks[i]?.[k] as number);
    }
  });
  const awaitedTasks = w.awaited.map((ls, i) => ls.map((_, k) => w.awaitedTasks[i]?.[k] as number));
  return { sessions, locks, parked: w.parked, awaited: w.awaited, awaitedTasks };
}

/**
 * What session `s` waits for, reached by a lock its task `t` holds, as the walk's table says a
 * walker of kind `sync` follows: a parked wait whatever the task, else only task `t`'s waits.
 */
function follows(world: World, s: number, t: number, sync: boolean): number[] {
  const p = world.parked[s] as number;
  if (p >= 0) return [p];
  if (sync) return [];
  const tasks = world.awaitedTasks[s] as number[];
  return (world.awaited[s] as number[]).filter((_, k) => tasks[k] === t);
}

test('property: a reported cycle is real, and a cycle of parked threads is always reported', () => {
  fc.assert(
    fc.property(
      worlds,
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      fc.integer({ min: 0, max: 2 }),
      (w, meIx, lockIx, sync, task) => {
        const world = build(w);
        const me = meIx % world.sessions.length;
        const l = lockIx % world.locks.length;
        const lock = world.locks[l] as WalkLock;
        const meS = world.sessions[me] as Session;
        if (lock.session === null) return; // a free lock is taken, never walked
        const cycle = findLockCycle(lock, meS, task, sync);
        const holderIx = world.sessions.indexOf(lock.session);
        if (holderIx === me) {
          // Held by the asking thread: told when it parks, or when its task holds the lock.
          const expected = sync || (task !== 0 && lock.holderTask === task);
          assert.equal(cycle !== null, expected);
          if (cycle) assert.equal(cycle.length, 1);
          return;
        }
        // Reachability by the table's rules, over (session, task) hops: from the lock, back to
        // `me` by a lock its waiting task holds (any, for a parked waiter; or outside tasks)?
        const seen = new Set<string>();
        const reaches = (j: number): boolean => {
          const x = world.locks[j] as WalkLock;
          if (x.session === null) return false;
          const s = world.sessions.indexOf(x.session);
          const t = x.holderTask;
          if (s === me && (sync || t === task || t === 0)) return true;
          const key = `${s}:${(world.parked[s] as number) >= 0 ? -1 : t}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return follows(world, s, t, sync).some(reaches);
        };
        assert.equal(cycle !== null, reaches(l), 'reported exactly when the walk can close');
        if (cycle === null) return;
        // Every edge is true of the world: the chain starts and ends at `me`, each lock is held by
        // the edge's holder, and each waiter after the first waits for that lock as the walk's
        // rules allow (parked, or awaited for an async walker).
        const byLabel = new Map(world.sessions.map((s, i) => [sessionLabel(s), i]));
        const lockByLabel = new Map(world.locks.map((x, j) => [lockLabel(x), j]));
        assert.equal(cycle[0]?.waiter, sessionLabel(meS));
        assert.equal(cycle.at(-1)?.holder, sessionLabel(meS));
        cycle.forEach((e, i) => {
          const j = lockByLabel.get(e.resource) as number;
          const holder = world.locks[j]?.session as Session;
          assert.equal(sessionLabel(holder), e.holder);
          if (i > 0) {
            assert.equal(cycle[i - 1]?.holder, e.waiter);
            const s = byLabel.get(e.waiter) as number;
            // Its wait is that of the task holding the lock the chain came by (or it is parked).
            const came = world.locks[lockByLabel.get(cycle[i - 1]?.resource ?? '') as number];
            assert.ok(
              follows(world, s, came?.holderTask as number, sync).includes(j),
              `${e.waiter} waits for ${e.resource} in the task holding ${cycle[i - 1]?.resource}`,
            );
          } else assert.equal(j, l);
        });
        // The last lock comes back to the waiter's own task (or its thread's code outside tasks).
        const last = world.locks[lockByLabel.get(cycle.at(-1)?.resource ?? '') as number];
        assert.ok(sync || last?.holderTask === task || last?.holderTask === 0);
      },
    ),
    { numRuns: 2000 },
  );
});

test('labels: a thread of a process is named as such', () => {
  const s = new Session('7:3');
  s.pid = 7;
  s.name = 'Process-1, thread Thread-2';
  assert.equal(sessionLabel(s), "thread 'Thread-2' of process 'Process-1' (pid 7)");
  s.name = 'MainProcess';
  assert.equal(sessionLabel(s), "process 'MainProcess' (pid 7)");
  assert.equal(
    lockLabel({ id: '7.0.3', recursive: true, session: null, holderTask: 0 }),
    'RLock 7.0.3',
  );
});
