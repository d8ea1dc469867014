/**
 * weft/threading RLock, Semaphore, Event, Condition and Barrier against Python's threading and
 * bare SharedArrayBuffer futex floors (futex-floors.ts): RLock and Semaphore uncontended in one
 * thread; Event, Condition and Barrier as hand-offs between 2 threads. The hand-off threads are
 * workers started once per row and driven in rounds (control.ts), as lock.bench.ts's contended
 * rows are; Python's run a thread beside its main thread. Every round checks its answer (the
 * count of pongs, turns or generations, the primitives' state after it), so a broken primitive
 * fails the suite instead of posting a figure. Every figure, Python's included, is the median of
 * interleaved passes.
 */
import { fileURLToPath } from 'node:url';
import { Barrier, Condition, Event, RLock, Semaphore, Thread } from '../../src/threading/index.js';
import { type BenchSuite, check, type Harness, type MeasureOptions } from '../harness.js';
import { newControl, runRound, stopRounds } from './control.js';
import {
  newBarrierWords,
  newCountingSemaphore,
  newRecursiveLock,
  newTurnWord,
  recursiveLock,
  recursiveUnlock,
  semaphoreAcquire,
  semaphoreRelease,
} from './futex-floors.js';
import {
  barrierAsync,
  barrierSync,
  conditionAsync,
  conditionSync,
  eventAsync,
  eventSync,
  futexBarrier,
  turnAsync,
  turnSync,
} from './handoff-tasks.js';

/** Permits of the uncontended Semaphore, the same in every row (as in the asyncio suite). */
const PERMITS = 8;

export const SCENARIOS = {
  rlock: 'RLock acquire+release, uncontended (1 thread)',
  semaphore: `Semaphore(${PERMITS}) acquire+release, uncontended (1 thread)`,
  event: 'Event set→wait ping-pong between 2 threads (2 Events; one operation = a round trip)',
  condition: 'Condition notify→wait turn-taking between 2 threads (one operation = a round trip)',
  barrier: 'Barrier(2) wait by 2 threads (one operation = a generation passed)',
} as const;

const PASSES = 3;
const PEER = fileURLToPath(new URL('./threading_prims.py', import.meta.url));
const FLOOR_SYNC = 'bare SAB futex (Atomics.wait), the floor';
const FLOOR_ASYNC = 'bare SAB futex (Atomics.waitAsync), the floor';

/** Maps the peer's figure names onto the scenarios. */
function pythonScenario(name: string): string | null {
  if (name === 'py.threading.RLock.acquire+release') return SCENARIOS.rlock;
  if (name === `py.threading.Semaphore(${PERMITS}).acquire+release`) return SCENARIOS.semaphore;
  if (name === 'py.threading.Event.ping-pong-2-threads') return SCENARIOS.event;
  if (name === 'py.threading.Condition.ping-pong-2-threads') return SCENARIOS.condition;
  if (name === 'py.threading.Barrier(2).wait-2-threads') return SCENARIOS.barrier;
  return null;
}

/** Rows that failed in an earlier pass: a later pass skips them (a hang costs a round's deadline). */
const failed = new Set<string>();

/**
 * Runs one row's measurement; a wrong answer or a hang fails that row, not the suite: the row is
 * noted `FAILED, no figure`, skipped in the passes after, and the bench exits non-zero, as the
 * asyncio suite does.
 */
async function row(
  h: Harness,
  scenario: string,
  impl: string,
  body: () => Promise<unknown>,
): Promise<void> {
  const key = `${impl} / ${scenario}`;
  if (failed.has(key)) return;
  try {
    await body();
  } catch (e) {
    failed.add(key);
    const msg = `${key}: FAILED, no figure: ${e instanceof Error ? e.message : String(e)}`;
    h.note(msg);
    console.error(`  ${msg}`);
    process.exitCode = 1;
  }
}

/**
 * Starts two threads running `target` as sides 0 and 1, measures rounds of `n` operations per
 * side, and checks each round: `tally[0]` must be `n` (side 1 counts its operations, or the
 * arrival indices, 0 + 1 per generation), and `after()` must hold.
 */
async function pair(
  h: Harness,
  scenario: string,
  impl: string,
  target: Function,
  args: (ctl: Int32Array, me: number, tally: Int32Array) => unknown[],
  n: number,
  after: () => void = () => {},
): Promise<void> {
  await row(h, scenario, impl, () => pairRows(h, scenario, impl, target, args, n, after));
}

async function pairRows(
  h: Harness,
  scenario: string,
  impl: string,
  target: Function,
  args: (ctl: Int32Array, me: number, tally: Int32Array) => unknown[],
  n: number,
  after: () => void,
): Promise<void> {
  const ctl = newControl();
  const tally = new Int32Array(new SharedArrayBuffer(4));
  const threads = [0, 1].map(
    (me) => new Thread({ target: target as never, args: args(ctl, me, tally), daemon: true }),
  );
  for (const t of threads) t.start();
  const round = (k: number): void => {
    Atomics.store(tally, 0, 0);
    runRound(ctl, k, 2);
    const got = Atomics.load(tally, 0);
    check(got === k, `${impl}: ${got} of ${k} operations counted in a round`);
    after();
  };
  let finished = false;
  try {
    round(10);
    await h.measure({ scenario, impl, n, fn: () => round(n) });
    finished = true;
  } finally {
    stopRounds(ctl);
    // After a hung round a thread may be parked for ever: joining it would hang the bench.
    // The threads are daemons; they end with the process.
    if (finished) for (const t of threads) await t.join();
  }
}

async function uncontended(h: Harness, n: number): Promise<void> {
  const m = (o: MeasureOptions): Promise<void> => row(h, o.scenario, o.impl, () => h.measure(o));
  const rlock = new RLock();
  await m({
    scenario: SCENARIOS.rlock,
    impl: 'weft acquireSync',
    n,
    fn: () => {
      for (let i = 0; i < n; i++) {
        rlock.acquireSync();
        rlock.release();
      }
      check(!rlock.isOwned(), 'the RLock is still owned after the loop');
    },
  });
  await m({
    scenario: SCENARIOS.rlock,
    impl: 'weft await acquire',
    n,
    fn: async () => {
      for (let i = 0; i < n; i++) {
        await rlock.acquire();
        rlock.release();
      }
      check(!rlock.isOwned(), 'the RLock is still owned after the loop');
    },
  });
  const rl = newRecursiveLock();
  await m({
    scenario: SCENARIOS.rlock,
    impl: 'bare SAB recursive futex lock, the floor',
    n,
    fn: () => {
      for (let i = 0; i < n; i++) {
        recursiveLock(rl, 1);
        recursiveUnlock(rl);
      }
      check(Atomics.load(rl, 0) === 0, 'the bare lock is still held after the loop');
    },
  });

  const sem = new Semaphore(PERMITS);
  await m({
    scenario: SCENARIOS.semaphore,
    impl: 'weft acquireSync',
    n,
    fn: () => {
      for (let i = 0; i < n; i++) {
        sem.acquireSync();
        sem.release();
      }
      check(sem.value === PERMITS, `${sem.value} of ${PERMITS} permits left after the loop`);
    },
  });
  await m({
    scenario: SCENARIOS.semaphore,
    impl: 'weft await acquire',
    n,
    fn: async () => {
      for (let i = 0; i < n; i++) {
        await sem.acquire();
        sem.release();
      }
      check(sem.value === PERMITS, `${sem.value} of ${PERMITS} permits left after the loop`);
    },
  });
  const cs = newCountingSemaphore(PERMITS);
  await m({
    scenario: SCENARIOS.semaphore,
    impl: 'bare SAB futex counting semaphore, the floor',
    n,
    fn: () => {
      for (let i = 0; i < n; i++) {
        semaphoreAcquire(cs);
        semaphoreRelease(cs);
      }
      check(Atomics.load(cs, 0) === PERMITS, 'the bare semaphore lost a permit');
    },
  });
}

/**
 * The floors of a 2-thread hand-off scenario: a bare turn word passed with Atomics.wait, and
 * with Atomics.waitAsync (the same for the Event and the Condition rows).
 */
async function turnFloors(h: Harness, scenario: string, n: number): Promise<void> {
  for (const [impl, target] of [
    [FLOOR_SYNC, turnSync],
    [FLOOR_ASYNC, turnAsync],
  ] as const) {
    const word = newTurnWord();
    await pair(h, scenario, impl, target, (ctl, me, tally) => [ctl, me, word, tally], n);
  }
}

async function handoffs(h: Harness, n: number): Promise<void> {
  for (const [impl, target] of [
    ['weft waitSync', eventSync],
    ['weft await wait', eventAsync],
  ] as const) {
    const ping = new Event();
    const pong = new Event();
    await pair(
      h,
      SCENARIOS.event,
      impl,
      target,
      (ctl, me, tally) => [ctl, me, ping, pong, tally],
      n,
      () => check(!ping.isSet() && !pong.isSet(), 'an Event left set after a round'),
    );
  }
  await turnFloors(h, SCENARIOS.event, n);

  for (const [impl, target] of [
    ['weft waitSync', conditionSync],
    ['weft await wait', conditionAsync],
  ] as const) {
    const cond = new Condition();
    const turn = new Int32Array(new SharedArrayBuffer(4));
    await pair(
      h,
      SCENARIOS.condition,
      impl,
      target,
      (ctl, me, tally) => [ctl, me, cond, turn, tally],
      n,
      () => check(turn[0] === 0, 'the turn did not come back to side 0 after a round'),
    );
  }
  await turnFloors(h, SCENARIOS.condition, n);

  for (const [impl, target] of [
    ['weft waitSync', barrierSync],
    ['weft await wait', barrierAsync],
  ] as const) {
    const b = new Barrier(2);
    await pair(
      h,
      SCENARIOS.barrier,
      impl,
      target,
      (ctl, me, tally) => [ctl, me, b, tally],
      n,
      () =>
        check(b.nWaiting === 0 && !b.broken, 'the Barrier is not empty and whole after a round'),
    );
  }
  const words = newBarrierWords();
  await pair(
    h,
    SCENARIOS.barrier,
    FLOOR_SYNC,
    futexBarrier,
    (ctl, me, tally) => [ctl, me, words, tally],
    n,
  );
}

export const suite: BenchSuite = {
  name: 'threading-primitives',
  title:
    'weft/threading RLock, Semaphore, Event, Condition, Barrier vs Python threading and bare SAB futexes',
  async run(h) {
    const n = h.quick ? 200_000 : 1_000_000;
    const m = h.quick ? 2_000 : 10_000;
    h.note(
      `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes over all the rows, Python's included (± is half the range of the passes)`,
    );
    await h.interleaved(h.quick ? 1 : PASSES, async () => {
      await uncontended(h, n);
      await handoffs(h, m);
      await h.python(
        PEER,
        [String(h.quick ? 200_000 : 1_000_000), String(h.quick ? 5_000 : 20_000)],
        pythonScenario,
        'python threading',
      );
    });
    h.note(
      "RLock and Semaphore, uncontended: weft's rows run in the bench's main thread, Python's in its main thread, a bound acquire and release per operation (its for-loop included); Python's RLock is C, its Semaphore Python over a Condition (run on a fifth of the count). The floors take and give back the word with no owner death, no deadlock detection, no timeout or signal.",
    );
    h.note(
      "Hand-offs: weft's two sides are two worker threads started once per row and driven in rounds, parked between them; Python's are its main thread and one more. weft's waits spin about 100 tries before parking, as the floors do; Python's park at once on a lock (the GIL passes between the sides).",
    );
    h.note(
      'Event: side 0 sets ping, waits for pong, clears it; side 1 waits for ping, clears it, sets pong (Python: the same with threading.Event, itself a Condition over a Lock). The floor is one turn word passed back and forth, the least any cross-thread ping-pong does.',
    );
    h.note(
      "Condition: both sides, holding the condition's lock (an RLock, in weft and Python), wait until a shared turn word is theirs, give it to the other side and notify. The floor is the same turn word with no lock and no condition.",
    );
    h.note(
      'Barrier(2): both sides call wait; the floor is a generation counter and an arrival count in shared words (no action, no timeout, no abort, no reset).',
    );
    h.note(
      "'weft await …' rows run outside any asyncio task, their parks Atomics.waitAsync (the thread's event loop runs); the 'Atomics.waitAsync' floor parks the same way.",
    );
  },
};
