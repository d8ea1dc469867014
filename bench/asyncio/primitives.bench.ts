/**
 * weft/asyncio primitives side by side with every peer, in one run: a bare `await` loop (the
 * physical limit of one await per operation), async-mutex, async-sema, p-limit, p-queue, a
 * hand-written plain-JS queue, native `Promise.all`, and Python's asyncio and uvloop.
 *
 * weft runs as a user runs it: inside `run()`, its primitives awaited by tasks, so every weft row
 * pays what a weft program pays (carrying the current task across awaits — by V8 with the
 * context addon, by promise hooks without it — and the ready queue). The JavaScript peers run
 * outside any weft task, as their own users run them. Every round checks its answer (the count of critical sections, the consumer's sum, the
 * gathered results), so a broken primitive fails the suite instead of posting a figure.
 *
 * Python numbers come from one timed pass of the same work in the Python process (the shared
 * peer asyncio_prims.py, and bench/peers/python/asyncio_semaphore.py for Semaphore).
 */
import { Mutex, Semaphore as MutexSemaphore } from 'async-mutex';
import { Sema } from 'async-sema';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { createTask, gather, Lock, Queue, run, Semaphore, sleep } from 'weft/asyncio';
import { contextBackend, contextHooksInstalled } from '../../src/internal/context.js';
import {
  type BenchSuite,
  check,
  type Figure,
  goalTools,
  type Harness,
  type MeasureOptions,
  ratio,
  withMainThreadPinned,
} from '../harness.js';
import { PlainQueue } from '../peers/plain-queue.js';
import { runLocalPython } from '../peers/python.js';

export const SCENARIOS = {
  bare: 'bare await: `await undefined` (one await per operation)',
  bareResolved: 'bare await: `await` of a resolved promise',
  lock: 'Lock acquire+release (uncontended)',
  lockContended: 'Lock contended by 2 tasks (sleep(0) inside)',
  semaphore: 'Semaphore acquire+release (uncontended)',
  queueBounded: 'Queue put+get producer→consumer maxsize=1024',
  queueUnbounded: 'Queue put+get producer→consumer unbounded',
  gather: 'createTask+gather of 100,000 trivial tasks',
} as const;

/** Operations per measured round (tinybench repeats rounds until its time budget is spent). */
const N = 100_000;
/** A weft Lock that records no holder: what deadlock detection costs on an uncontended acquire. */
const IMPL_LOCK_NO_DETECTION = 'weft, deadlockDetection: false';
/** Permits of the uncontended Semaphore (the same in every implementation and in Python). */
const PERMITS = 8;
const GATHER_TASKS = 100_000;
/** Interleaved passes over the JavaScript measurements (a full run). */
const PASSES = 3;
/** A round that has not finished after this long is a hang (a lost wake-up), not a figure. */
const ROUND_DEADLINE_MS = 60_000;

const IMPL_BARE_OUTSIDE = 'no task';
const IMPL_BARE_IN_TASK = 'weft: inside a task';
/**
 * A peer measured inside a weft task too, where a weft program would use it: its awaits carry
 * the current task as weft's do (with promise hooks, they pay for it). Context for the goals, not
 * a peer to beat (the peer row outside any task is).
 */
const IN_TASK = ', inside a weft task';
/** The core the suite's main thread (and its Python peers) run on. */
const PIN_CORE = 1;
const RESOLVED = Promise.resolve();
/**
 * Floors, not libraries: what the same work costs in bare promises with no tasks, no scheduling
 * and no cancellation. They are shown beside weft but are not among the peers weft must beat.
 */
const IMPL_PLAIN_QUEUE = 'plain-JS queue';
const IMPL_PROMISE_ALL = 'Promise.all (no tasks)';
const BASELINES: ReadonlySet<string> = new Set([IMPL_PLAIN_QUEUE, IMPL_PROMISE_ALL]);

export const suite: BenchSuite = {
  name: 'asyncio-primitives',
  title:
    'weft/asyncio primitives vs async-mutex, async-sema, p-limit, p-queue, Python asyncio, uvloop',
  async run(h) {
    await withMainThreadPinned(PIN_CORE, async (pinned) => {
      h.note(
        pinned
          ? `the bench's main thread, and the Python peers it starts, pinned to core ${PIN_CORE} (taskset) while this suite runs: one source of noise fewer (see docs/benchmarks.md)`
          : 'not pinned: taskset or a second core is missing',
      );
      await measureAll(h);
    });
  },
};

/** The suite's rows, measured in interleaved passes, and its goal lines. */
async function measureAll(h: Harness): Promise<void> {
  const failures: string[] = [];
  const m = async (o: MeasureOptions & { weft?: boolean }): Promise<void> => {
    if (!o.weft) await outsideEveryTask(h);
    try {
      // An async function: tinybench calls any other kind once, unawaited, to see whether it
      // returns a promise — which would overlap that call with the first measured round.
      const what = `${o.impl} / ${o.scenario}`;
      await h.measure({ ...o, fn: async () => withDeadline(o.fn, what) });
    } catch (e) {
      const msg = `${o.impl} / ${o.scenario}: FAILED, no figure: ${e instanceof Error ? e.message : String(e)}`;
      failures.push(msg);
      h.note(msg);
      console.error(`  ${msg}`);
    }
  };

  const backend = contextBackend();
  h.note(
    backend === 'native'
      ? 'weft carries the current task across awaits with its context addon (V8 keeps it in each promise reaction: no hooks run; the bare-await rows show what an await inside a task costs)'
      : backend === 'frame'
        ? "weft carries the current task across awaits inside Node's AsyncLocalStorage frames, with its context addon (V8 keeps the frame in each promise reaction: no hooks run per await; a hook marks Node callbacks)"
        : 'weft carries the current task across awaits with promise hooks (the context addon is not used here: every await inside a task pays for the hooks)',
  );
  h.note(
    'weft rows run inside `run()`, tasks alive; the ' +
      'JavaScript peers run outside any weft task, as their users run them (the goals are judged ' +
      'against those rows); async-sema, the fastest peer, is also measured inside a weft task, ' +
      "where a weft program would use it (rows '…, inside a weft task').",
  );

  // Every figure, the Python peers' too, is the median of PASSES interleaved passes over all of
  // them (see Harness.interleaved): ratios near a goal's line flipped between runs measured
  // one after the other on this shared machine.
  h.note(
    `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes over all the rows, Python's included (± is half the range of the passes); a goal's ratio is the median of the per-pass ratios, both rows measured in the same pass, so it can differ a little from the ratio of the two medians in the tables`,
  );
  await h.interleaved(h.quick ? 1 : PASSES, async () => {
    // ── bare await: the physical limit ──────────────────────────────────────────────────────────
    // `await undefined` wraps its operand in a new promise; awaiting a promise already resolved
    // (what an uncontended weft acquire returns) does not, so both limits are shown. Inside a
    // weft task an await also carries the task (with promise hooks, at a cost).
    await m({
      scenario: SCENARIOS.bare,
      impl: IMPL_BARE_IN_TASK,
      n: N,
      weft: true,
      fn: () => run(() => bareAwaits(N)),
    });
    await m({ scenario: SCENARIOS.bare, impl: IMPL_BARE_OUTSIDE, n: N, fn: () => bareAwaits(N) });
    await m({
      scenario: SCENARIOS.bareResolved,
      impl: IMPL_BARE_IN_TASK,
      n: N,
      weft: true,
      fn: () => run(() => resolvedAwaits(N)),
    });
    await m({
      scenario: SCENARIOS.bareResolved,
      impl: IMPL_BARE_OUTSIDE,
      n: N,
      fn: () => resolvedAwaits(N),
    });

    // ── Lock, uncontended ───────────────────────────────────────────────────────────────────────
    await m({
      scenario: SCENARIOS.lock,
      impl: 'weft',
      n: N,
      weft: true,
      fn: () => run(() => weftLockLoop(new Lock(), N)),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: IMPL_LOCK_NO_DETECTION,
      n: N,
      weft: true,
      fn: () => run(() => weftLockLoop(new Lock({ deadlockDetection: false }), N)),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: 'weft lock.run(fn)',
      n: N,
      weft: true,
      fn: () => run(() => weftLockRunLoop(new Lock(), N)),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: 'async-mutex Mutex',
      n: N,
      fn: () => releaserLoop(new Mutex(), N),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: 'async-sema Sema(1)',
      n: N,
      fn: () => semaLoop(new Sema(1), N),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: `async-sema Sema(1)${IN_TASK}`,
      n: N,
      weft: true,
      fn: () => run(() => semaLoop(new Sema(1), N)),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: 'p-limit(1)',
      n: N,
      fn: () => limitLoop(pLimit(1), N),
    });
    await m({
      scenario: SCENARIOS.lock,
      impl: 'p-queue concurrency 1',
      n: N,
      fn: () => pqueueLoop(new PQueue({ concurrency: 1 }), N),
    });

    // ── Lock, contended by 2 tasks that hold it across a yield ──────────────────────────────────
    const half = N / 2;
    await m({
      scenario: SCENARIOS.lockContended,
      impl: 'weft',
      n: 2 * half,
      weft: true,
      fn: () => run(() => weftContended(half)),
    });
    await m({
      scenario: SCENARIOS.lockContended,
      impl: 'async-mutex Mutex',
      n: 2 * half,
      fn: () => mutexContended(half, new Mutex()),
    });
    await m({
      scenario: SCENARIOS.lockContended,
      impl: 'async-sema Sema(1)',
      n: 2 * half,
      fn: () => semaContended(half, new Sema(1)),
    });
    await m({
      scenario: SCENARIOS.lockContended,
      impl: `async-sema Sema(1)${IN_TASK}`,
      n: 2 * half,
      weft: true,
      fn: () => run(() => semaContended(half, new Sema(1))),
    });
    await m({
      scenario: SCENARIOS.lockContended,
      impl: 'p-limit(1)',
      n: 2 * half,
      fn: () => limitContended(half, pLimit(1)),
    });
    h.note(
      'Lock contended: weft (like Python) yields with `sleep(0)` while holding the lock; the ' +
        'JavaScript peers yield with `await undefined`, their way of letting everything ready run.',
    );

    // ── Semaphore, uncontended ──────────────────────────────────────────────────────────────────
    await m({
      scenario: SCENARIOS.semaphore,
      impl: 'weft',
      n: N,
      weft: true,
      fn: () => run(() => weftSemaphoreLoop(new Semaphore(PERMITS), N)),
    });
    await m({
      scenario: SCENARIOS.semaphore,
      impl: 'async-mutex Semaphore',
      n: N,
      fn: () => mutexSemaphoreLoop(new MutexSemaphore(PERMITS), N),
    });
    await m({
      scenario: SCENARIOS.semaphore,
      impl: `async-sema Sema(${PERMITS})`,
      n: N,
      fn: () => semaLoop(new Sema(PERMITS), N),
    });
    await m({
      scenario: SCENARIOS.semaphore,
      impl: `async-sema Sema(${PERMITS})${IN_TASK}`,
      n: N,
      weft: true,
      fn: () => run(() => semaLoop(new Sema(PERMITS), N)),
    });
    await m({
      scenario: SCENARIOS.semaphore,
      impl: `p-limit(${PERMITS})`,
      n: N,
      fn: () => limitLoop(pLimit(PERMITS), N),
    });
    await m({
      scenario: SCENARIOS.semaphore,
      impl: `p-queue concurrency ${PERMITS}`,
      n: N,
      fn: () => pqueueLoop(new PQueue({ concurrency: PERMITS }), N),
    });
    h.note(`Semaphore: ${PERMITS} permits in every implementation, one holder at a time.`);

    // ── Queue, producer task → consumer task ────────────────────────────────────────────────────
    for (const [scenario, maxsize] of [
      [SCENARIOS.queueBounded, 1024],
      [SCENARIOS.queueUnbounded, 0],
    ] as const) {
      await m({
        scenario,
        impl: 'weft',
        n: N,
        unit: 'items/s',
        weft: true,
        fn: () => run(() => weftQueue(maxsize, N)),
      });
      await m({
        scenario,
        impl: IMPL_PLAIN_QUEUE,
        n: N,
        unit: 'items/s',
        fn: () => plainQueue(maxsize, N),
      });
    }

    // ── createTask + gather ─────────────────────────────────────────────────────────────────────
    await m({
      scenario: SCENARIOS.gather,
      impl: 'weft',
      n: GATHER_TASKS,
      unit: 'tasks/s',
      weft: true,
      fn: () => run(() => weftGather(GATHER_TASKS)),
    });
    await m({
      scenario: SCENARIOS.gather,
      impl: IMPL_PROMISE_ALL,
      n: GATHER_TASKS,
      unit: 'tasks/s',
      fn: () => promiseAll(GATHER_TASKS),
    });

    // ── Python ──────────────────────────────────────────────────────────────────────────────────
    const pyN = h.quick ? ['200000'] : [];
    await h.python('python/prims/asyncio_prims.py', pyN, pythonScenario, 'python asyncio');
    await h.python(
      'python/prims/asyncio_prims.py',
      ['--uvloop', ...pyN],
      pythonScenario,
      'python uvloop',
    );
    await runLocalPython(h, 'asyncio_semaphore.py', pyN, pythonScenario, 'python asyncio');
    await runLocalPython(
      h,
      'asyncio_semaphore.py',
      ['--uvloop', ...pyN],
      pythonScenario,
      'python uvloop',
    );
  });

  for (const line of goals(h.figures)) h.note(line);
  if (failures.length > 0) process.exitCode = 1;
}

/** Maps a Python peer's figure name (`py.asyncio.Lock.uncontended`) onto a scenario. */
export function pythonScenario(name: string): string | null {
  const what = name.replace(/^py\.(asyncio|uvloop)\./, '');
  if (what === 'Lock.uncontended') return SCENARIOS.lock;
  if (what.startsWith('Lock.contended-2-tasks')) return SCENARIOS.lockContended;
  if (what === 'Queue.put/get.maxsize=1024') return SCENARIOS.queueBounded;
  if (what === 'Queue.put/get.maxsize=inf') return SCENARIOS.queueUnbounded;
  if (what === 'create_task+gather') return SCENARIOS.gather;
  if (/^Semaphore\(\d+\)\.uncontended$/.test(what)) return SCENARIOS.semaphore;
  return null;
}

// ── the measured work ───────────────────────────────────────────────────────────────────────────

async function bareAwaits(n: number): Promise<void> {
  let i = 0;
  for (; i < n; i++) await undefined;
  check(i === n, `bare await loop ran ${i} of ${n} awaits`);
}

async function resolvedAwaits(n: number): Promise<void> {
  let i = 0;
  for (; i < n; i++) await RESOLVED;
  check(i === n, `await loop ran ${i} of ${n} awaits`);
}

/**
 * `async with lock:` on a weft Lock. Lock and Semaphore get a loop each, as every peer has its
 * own: one function serving both made its `acquire`/`release` call sites polymorphic, which cost
 * each of them about 4 ns an operation (measured on a pinned scratch loop), a cost no peer paid
 * and no program with one kind of lock at a call site pays.
 */
async function weftLockLoop(lock: Lock, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    check(await lock.acquire(), 'acquire() resolved false without a timeout');
    try {
      count++;
    } finally {
      lock.release();
    }
  }
  check(count === n, `ran ${count} of ${n} critical sections`);
  check(!lock.locked(), 'the lock is still held after the loop');
}

/** `async with sem:` on a weft Semaphore (its own loop: see weftLockLoop). */
async function weftSemaphoreLoop(sem: Semaphore, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    check(await sem.acquire(), 'acquire() resolved false without a timeout');
    try {
      count++;
    } finally {
      sem.release();
    }
  }
  check(count === n, `ran ${count} of ${n} critical sections`);
}

async function weftLockRunLoop(lock: Lock, n: number): Promise<void> {
  let count = 0;
  const section = (): void => {
    count++;
  };
  for (let i = 0; i < n; i++) await lock.run(section);
  check(count === n, `ran ${count} of ${n} critical sections`);
  check(!lock.locked(), 'the lock is still held after the loop');
}

async function releaserLoop(mutex: Mutex, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const release = await mutex.acquire();
    try {
      count++;
    } finally {
      release();
    }
  }
  check(count === n, `ran ${count} of ${n} critical sections`);
}

async function mutexSemaphoreLoop(sem: MutexSemaphore, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const [, release] = await sem.acquire();
    try {
      count++;
    } finally {
      release();
    }
  }
  check(count === n, `ran ${count} of ${n} critical sections`);
}

async function semaLoop(sema: Sema, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    await sema.acquire();
    try {
      count++;
    } finally {
      sema.release();
    }
  }
  check(count === n, `ran ${count} of ${n} critical sections`);
}

async function limitLoop(limit: ReturnType<typeof pLimit>, n: number): Promise<void> {
  let count = 0;
  const section = (): void => {
    count++;
  };
  for (let i = 0; i < n; i++) await limit(section);
  check(count === n, `ran ${count} of ${n} critical sections`);
}

async function pqueueLoop(queue: PQueue, n: number): Promise<void> {
  let count = 0;
  const section = (): void => {
    count++;
  };
  for (let i = 0; i < n; i++) await queue.add(section);
  check(count === n, `ran ${count} of ${n} critical sections`);
}

/** Shared state of a contended run: `inside` catches two holders at once. */
interface Contention {
  count: number;
  inside: boolean;
}

function enter(st: Contention): void {
  check(!st.inside, 'two tasks inside the critical section at once');
  st.inside = true;
  st.count++;
}

async function weftContended(perTask: number): Promise<void> {
  const lock = new Lock();
  const st: Contention = { count: 0, inside: false };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < perTask; i++) {
      await lock.acquire();
      try {
        enter(st);
        await sleep(0);
        st.inside = false;
      } finally {
        lock.release();
      }
    }
  };
  await gather(createTask(worker), createTask(worker));
  check(st.count === 2 * perTask, `ran ${st.count} of ${2 * perTask} critical sections`);
}

/**
 * The peers' contended loops, each written as its users write it at its fastest: inline
 * acquire/release like weft's loop above, or the library's own wrapper where it has no other
 * form (p-limit). A shared `section(body)` wrapper would cost every peer two async calls per
 * operation that weft's loop does not pay: async-sema did 2.99 M operations/s through one
 * (2026-12-03 10:57 UTC) and 5.13 M/s inline (12:18). The loops repeat on purpose.
 */
async function mutexContended(perTask: number, mutex: Mutex): Promise<void> {
  const st: Contention = { count: 0, inside: false };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < perTask; i++) {
      const release = await mutex.acquire();
      try {
        enter(st);
        await undefined;
        st.inside = false;
      } finally {
        release();
      }
    }
  };
  await Promise.all([worker(), worker()]);
  check(st.count === 2 * perTask, `ran ${st.count} of ${2 * perTask} critical sections`);
}

async function semaContended(perTask: number, sema: Sema): Promise<void> {
  const st: Contention = { count: 0, inside: false };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < perTask; i++) {
      await sema.acquire();
      try {
        enter(st);
        await undefined;
        st.inside = false;
      } finally {
        sema.release();
      }
    }
  };
  await Promise.all([worker(), worker()]);
  check(st.count === 2 * perTask, `ran ${st.count} of ${2 * perTask} critical sections`);
}

async function limitContended(perTask: number, limit: ReturnType<typeof pLimit>): Promise<void> {
  const st: Contention = { count: 0, inside: false };
  const body = async (): Promise<void> => {
    enter(st);
    await undefined;
    st.inside = false;
  };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < perTask; i++) await limit(body);
  };
  await Promise.all([worker(), worker()]);
  check(st.count === 2 * perTask, `ran ${st.count} of ${2 * perTask} critical sections`);
}

/** The producer puts 0..n-1 then a `null` end mark; the consumer sums until the mark. */
async function weftQueue(maxsize: number, n: number): Promise<void> {
  const q = new Queue<number | null>(maxsize);
  const producer = createTask(async () => {
    for (let i = 0; i < n; i++) await q.put(i);
    await q.put(null);
  });
  const consumer = createTask(async () => {
    let sum = 0;
    for (;;) {
      const x = await q.get();
      if (x === null) return sum;
      sum += x;
    }
  });
  const [, sum] = await gather(producer, consumer);
  checkSum(sum, n);
  check(q.empty(), `${q.qsize()} items left in the queue`);
}

async function plainQueue(maxsize: number, n: number): Promise<void> {
  const q = new PlainQueue<number | null>(maxsize);
  const producer = async (): Promise<void> => {
    for (let i = 0; i < n; i++) await q.put(i);
    await q.put(null);
  };
  const consumer = async (): Promise<number> => {
    let sum = 0;
    for (;;) {
      const x = await q.get();
      if (x === null) return sum;
      sum += x;
    }
  };
  const [, sum] = await Promise.all([producer(), consumer()]);
  checkSum(sum, n);
  check(q.size === 0, `${q.size} items left in the queue`);
}

function checkSum(sum: unknown, n: number): void {
  const expected = (n * (n - 1)) / 2;
  check(sum === expected, `consumer summed ${String(sum)}, expected ${expected}`);
}

async function trivial(i: number): Promise<number> {
  return i;
}

async function weftGather(count: number): Promise<void> {
  const tasks = new Array(count);
  for (let i = 0; i < count; i++) tasks[i] = createTask(() => trivial(i));
  const results = (await gather(...tasks)) as number[];
  checkResults(results, count);
}

async function promiseAll(count: number): Promise<void> {
  const calls = new Array<Promise<number>>(count);
  for (let i = 0; i < count; i++) calls[i] = trivial(i);
  checkResults(await Promise.all(calls), count);
}

function checkResults(results: readonly number[], count: number): void {
  check(results.length === count, `gathered ${results.length} results, expected ${count}`);
  for (let i = 0; i < count; i++) {
    if (results[i] !== i) check(false, `result ${i} is ${String(results[i])}`);
  }
}

// ── plumbing ────────────────────────────────────────────────────────────────────────────────────

export async function withDeadline(fn: () => unknown, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: a round did not finish within ${ROUND_DEADLINE_MS} ms`)),
      ROUND_DEADLINE_MS,
    );
  });
  try {
    await Promise.race([fn(), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * weft removes its promise hooks at the macrotask boundary after its last task finished; a peer
 * is measured only once they are gone, so it pays nothing for weft having run before it.
 */
export async function outsideEveryTask(h: Harness): Promise<void> {
  for (let i = 0; i < 3 && contextHooksInstalled(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (contextHooksInstalled()) {
    h.note('weft’s promise hooks were still installed when a peer was measured (a task leaked?)');
  }
}

/** The goals of issue 2, computed from this run's figures (never typed by hand). */
export function goals(figures: Figure[]): string[] {
  const out: string[] = [];
  const { fig, x, verdict } = goalTools(figures);
  const bareOut = fig(SCENARIOS.bare, IMPL_BARE_OUTSIDE);
  const lock = fig(SCENARIOS.lock, 'weft');
  if (lock !== undefined && bareOut !== undefined) {
    const others = [
      [SCENARIOS.bare, IMPL_BARE_IN_TASK, '`await undefined` inside a weft task'],
      [
        SCENARIOS.bareResolved,
        IMPL_BARE_OUTSIDE,
        'an await of a resolved promise outside any task',
      ],
      [
        SCENARIOS.bareResolved,
        IMPL_BARE_IN_TASK,
        'an await of a resolved promise inside a weft task',
      ],
    ]
      .map(([sc, impl, what]) => {
        const f = fig(sc as string, impl as string);
        return f === undefined ? null : `${x(ratio(lock, f))} ${what}`;
      })
      .filter((t) => t !== null);
    const r = ratio(lock, bareOut);
    // What is left of the gap without the holder that deadlock detection records (one call into
    // the context addon per acquire): the figure for the decision asked of the CEO on issue 2.
    const plain = fig(SCENARIOS.lock, IMPL_LOCK_NO_DETECTION);
    out.push(
      `goal Lock ≥ 0.75× the bare-await limit: ${verdict(r >= 0.75)} — weft Lock is ` +
        `${x(r)} \`await undefined\` outside any task` +
        (others.length > 0 ? `; ${others.join(', ')}` : '') +
        (plain === undefined
          ? ''
          : `; a Lock without deadlock detection (no holder recorded) is ${x(ratio(plain, bareOut))} \`await undefined\` outside any task`),
    );
  }
  for (const sc of Object.values(SCENARIOS)) {
    const w = fig(sc, 'weft');
    if (w === undefined || sc === SCENARIOS.bare || sc === SCENARIOS.bareResolved) continue;
    const js = figures.filter(
      (f) => f.scenario === sc && !f.impl.startsWith('weft') && !f.impl.startsWith('python'),
    );
    for (const b of js.filter((f) => BASELINES.has(f.impl))) {
      out.push(`${sc}: weft is ${x(ratio(w, b))} the ${b.impl} floor (no tasks, no cancellation)`);
    }
    const peers = js.filter((f) => !BASELINES.has(f.impl) && !f.impl.endsWith(IN_TASK));
    if (peers.length > 0) {
      // The peer weft compares worst against.
      const best = peers.reduce((a, b) => (ratio(w, b) < ratio(w, a) ? b : a));
      const r = ratio(w, best);
      const inTask = fig(sc, `${best.impl}${IN_TASK}`);
      out.push(
        `goal ${sc} ahead of every JavaScript peer: ${verdict(r > 1)} — weft is ` +
          `${x(r)} the fastest, ${best.impl}` +
          (inTask === undefined
            ? ''
            : ` (measured inside a weft task too, ${best.impl} is ${x(ratio(inTask, best))} itself there and weft ${x(ratio(w, inTask))} it)`),
      );
    }
  }
  const py = (sc: string, need: number, what: string): void => {
    const w = fig(sc, 'weft');
    for (const impl of ['python asyncio', 'python uvloop']) {
      const p = fig(sc, impl);
      if (w === undefined || p === undefined) continue;
      const r = ratio(w, p);
      out.push(`goal ${what} ≥ ${need}× ${impl}: ${verdict(r >= need)} — ${x(r)}`);
    }
  };
  py(SCENARIOS.queueBounded, 3, 'Queue maxsize=1024');
  py(SCENARIOS.queueUnbounded, 3, 'Queue unbounded');
  py(SCENARIOS.gather, 10, 'createTask+gather');
  return out;
}
