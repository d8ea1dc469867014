/**
 * weft/asyncio Event, Condition and Barrier as hand-offs between 2 tasks, side by side with
 * Python's asyncio and uvloop (asyncio_handoff.py, next to this file) and with bare promises
 * (the floor: what passing the turn costs with no tasks, no ready queue, no cancellation).
 *
 * weft runs as a user runs it: each round is a `run()` whose 2 tasks, made with `createTask` and
 * gathered, use the primitive; the floors are two plain async functions under `Promise.all`,
 * outside any weft task. Every round checks its answer (the count of pongs, turns or
 * generations, the primitives' state after it), so a broken primitive fails its row instead of
 * posting a figure. Every figure, Python's included, is the median of interleaved passes.
 */
import { fileURLToPath } from 'node:url';
import { Barrier, Condition, createTask, Event, gather, run } from 'weft/asyncio';
import {
  type BenchSuite,
  check,
  type Harness,
  type MeasureOptions,
  withMainThreadPinned,
} from '../harness.js';
import { outsideEveryTask, withDeadline } from './primitives.bench.js';

export const SCENARIOS = {
  event: 'Event set→wait ping-pong between 2 tasks (2 Events; one operation = a round trip)',
  condition: 'Condition notify→wait turn-taking between 2 tasks (one operation = a round trip)',
  barrier: 'Barrier(2) wait by 2 tasks (one operation = a generation passed)',
} as const;

/** Operations per measured round. */
const N = 50_000;
const PASSES = 3;
/** The core the suite's main thread (and its Python peers) run on, as in the primitives suite. */
const PIN_CORE = 1;
const PEER = fileURLToPath(new URL('./asyncio_handoff.py', import.meta.url));
const FLOOR = 'bare promises (no tasks), the floor';
const RESOLVED = Promise.resolve();

export const suite: BenchSuite = {
  name: 'asyncio-handoff',
  title:
    'weft/asyncio Event, Condition, Barrier hand-offs vs Python asyncio, uvloop, bare promises',
  async run(h) {
    await withMainThreadPinned(PIN_CORE, async (pinned) => {
      h.note(
        pinned
          ? `the bench's main thread, and the Python peers it starts, pinned to core ${PIN_CORE} (taskset) while this suite runs, as in the asyncio primitives suite`
          : 'not pinned: taskset or a second core is missing',
      );
      await measureAll(h);
    });
  },
};

async function measureAll(h: Harness): Promise<void> {
  const failed = new Set<string>();
  const m = async (o: MeasureOptions & { weft?: boolean }): Promise<void> => {
    const key = `${o.impl} / ${o.scenario}`;
    if (failed.has(key)) return;
    if (!o.weft) await outsideEveryTask(h);
    try {
      await h.measure({ ...o, fn: async () => withDeadline(o.fn, key) });
    } catch (e) {
      failed.add(key);
      const msg = `${key}: FAILED, no figure: ${e instanceof Error ? e.message : String(e)}`;
      h.note(msg);
      console.error(`  ${msg}`);
      process.exitCode = 1;
    }
  };
  const n = h.quick ? N / 5 : N;
  h.note(
    `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes over all the rows, Python's included (± is half the range of the passes)`,
  );
  await h.interleaved(h.quick ? 1 : PASSES, async () => {
    await m({
      scenario: SCENARIOS.event,
      impl: 'weft',
      n,
      weft: true,
      fn: () => run(() => weftEvent(n)),
    });
    await m({ scenario: SCENARIOS.event, impl: FLOOR, n, fn: () => floorEvent(n) });
    await m({
      scenario: SCENARIOS.condition,
      impl: 'weft',
      n,
      weft: true,
      fn: () => run(() => weftCondition(n)),
    });
    await m({ scenario: SCENARIOS.condition, impl: FLOOR, n, fn: () => floorTurns(n) });
    await m({
      scenario: SCENARIOS.barrier,
      impl: 'weft',
      n,
      weft: true,
      fn: () => run(() => weftBarrier(n)),
    });
    await m({ scenario: SCENARIOS.barrier, impl: FLOOR, n, fn: () => floorBarrier(n) });

    const pyN = [String(h.quick ? 10_000 : N)];
    await h.python(PEER, pyN, pythonScenario, 'python asyncio');
    await h.python(PEER, ['--uvloop', ...pyN], pythonScenario, 'python uvloop');
  });
  h.note(
    "weft's two tasks are made with createTask inside run() and gathered; each resumes through weft's ready queue, as a Python task through its loop's. The floors are two async functions under Promise.all: a woken side resumes as a promise reaction, with no queue of its own.",
  );
  h.note(
    'Event: side 0 sets ping, waits for pong, clears it; side 1 waits for ping, clears it, sets pong (Python: the same with asyncio.Event). The floor is the same on a minimal promise event (a flag and a list of resolvers).',
  );
  h.note(
    "Condition: both sides, holding the condition's lock (weft's and Python's asyncio Lock), wait until a shared turn is theirs, give it to the other side and notify. The floor passes the same turn with a resolver per side, no lock.",
  );
  h.note(
    'Barrier(2): both sides call wait, whose arrival indices each generation sum to 1. The floor is a count and a resolver list (no action, no timeout, no abort, no draining).',
  );
}

function pythonScenario(name: string): string | null {
  const what = name.replace(/^py\.(asyncio|uvloop)\./, '');
  if (what === 'Event.ping-pong-2-tasks') return SCENARIOS.event;
  if (what === 'Condition.ping-pong-2-tasks') return SCENARIOS.condition;
  if (what === 'Barrier(2).wait-2-tasks') return SCENARIOS.barrier;
  return null;
}

// ── weft ──────────────────────────────────────────────────────────────────────────────────────

async function weftEvent(n: number): Promise<void> {
  const ping = new Event();
  const pong = new Event();
  let tally = 0;
  const pinger = createTask(async () => {
    for (let i = 0; i < n; i++) {
      ping.set();
      await pong.wait();
      pong.clear();
    }
  });
  const ponger = createTask(async () => {
    for (let i = 0; i < n; i++) {
      await ping.wait();
      ping.clear();
      tally++;
      pong.set();
    }
  });
  await gather(pinger, ponger);
  check(tally === n, `${tally} of ${n} pongs`);
  check(!ping.isSet() && !pong.isSet(), 'an Event left set after the round');
}

async function weftCondition(n: number): Promise<void> {
  const cond = new Condition();
  let turn = 0;
  let tally = 0;
  const side = (me: number) => async (): Promise<void> => {
    const other = 1 - me;
    for (let i = 0; i < n; i++) {
      await cond.acquire();
      try {
        while (turn !== me) await cond.wait();
        turn = other;
        if (me === 1) tally++;
        cond.notify();
      } finally {
        cond.release();
      }
    }
  };
  await gather(createTask(side(0)), createTask(side(1)));
  check(tally === n && turn === 0, `${tally} of ${n} turns, the turn at ${turn}`);
}

async function weftBarrier(n: number): Promise<void> {
  const b = new Barrier(2);
  const side = async (): Promise<number> => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await b.wait();
    return sum;
  };
  const [s0, s1] = (await gather(createTask(side), createTask(side))) as number[];
  check((s0 as number) + (s1 as number) === n, `arrival indices sum to ${s0! + s1!}, not ${n}`);
}

// ── the floors: bare promises ───────────────────────────────────────────────────────────────────

/** The least an Event is: a flag and the resolvers of those waiting for it. */
class PromiseEvent {
  private flag = false;
  private waiters: (() => void)[] = [];

  isSet(): boolean {
    return this.flag;
  }

  set(): void {
    if (this.flag) return;
    this.flag = true;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  clear(): void {
    this.flag = false;
  }

  wait(): Promise<void> {
    if (this.flag) return RESOLVED;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

async function floorEvent(n: number): Promise<void> {
  const ping = new PromiseEvent();
  const pong = new PromiseEvent();
  let tally = 0;
  const pinger = async (): Promise<void> => {
    for (let i = 0; i < n; i++) {
      ping.set();
      await pong.wait();
      pong.clear();
    }
  };
  const ponger = async (): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await ping.wait();
      ping.clear();
      tally++;
      pong.set();
    }
  };
  await Promise.all([pinger(), ponger()]);
  check(tally === n, `${tally} of ${n} pongs`);
  check(!ping.isSet() && !pong.isSet(), 'an event left set after the round');
}

/** The turn passed between two async functions, each parked on a resolver of its own. */
async function floorTurns(n: number): Promise<void> {
  let turn = 0;
  let tally = 0;
  const wake: [(() => void) | null, (() => void) | null] = [null, null];
  const side = async (me: 0 | 1): Promise<void> => {
    const other = (1 - me) as 0 | 1;
    for (let i = 0; i < n; i++) {
      while (turn !== me) await new Promise<void>((resolve) => (wake[me] = resolve));
      turn = other;
      if (me === 1) tally++;
      const w = wake[other];
      wake[other] = null;
      w?.();
    }
  };
  await Promise.all([side(0), side(1)]);
  check(tally === n && turn === 0, `${tally} of ${n} turns, the turn at ${turn}`);
}

async function floorBarrier(n: number): Promise<void> {
  let count = 0;
  let waiters: (() => void)[] = [];
  const wait = (): Promise<number> | number => {
    const index = count++;
    if (count === 2) {
      count = 0;
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
      return index;
    }
    return new Promise<number>((resolve) => waiters.push(() => resolve(index)));
  };
  const side = async (): Promise<number> => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await wait();
    return sum;
  };
  const [s0, s1] = await Promise.all([side(), side()]);
  check(s0 + s1 === n, `arrival indices sum to ${s0 + s1}, not ${n}`);
}
