/**
 * multiprocessing `Manager()` against Python's `multiprocessing.Manager()` (a SyncManager in a
 * process of its own; mp_manager.py here, spawn start method):
 *
 * - dict `set` + `get` round trip: `await d.set('k', i); await d.get('k')` (Python's
 *   `d['k'] = i; d['k']`), n times, from the parent and from a child process. The child times
 *   its own loop after a first set + get and sends the seconds back, so its start is not in it.
 * - Manager Queue: `await q.put(i); await q.get()` in one process, n times; and a child putting
 *   n ints once a start Event is set while the parent gets them (the clock from the set to the
 *   last get).
 *
 * Each figure is the best of a few whole runs; every run checks the sum of what it read.
 *
 * What differs: weft's manager is the broker (a thread of the root process; docs/
 * multiprocessing.md), so a proxy call is a round trip over a Unix socket to that thread, and
 * `m.Queue()` is the module's own Queue, whose `put` on an unbounded queue is sent without
 * waiting. Python's manager is a server process: every proxy call, a Queue's `put` included, is
 * a pickled request and reply over a socket to it.
 */
import { fileURLToPath } from 'node:url';
import { Manager, Process, SimpleQueue } from 'weft/multiprocessing';
import { type BenchSuite, bestOf, timed } from '../harness.js';
import { dictChild, dictLoop, queueProducer } from './sync-targets.js';

export const SCENARIOS = {
  dictParent: 'Manager dict set+get round trip (parent process)',
  dictChild: 'Manager dict set+get round trip (child process)',
  queueOne: 'Manager Queue put then get (one process)',
  queueChild: 'Manager Queue child→parent: small ints',
} as const;

type M = ReturnType<typeof Manager>;

async function dictFromChild(m: M, n: number): Promise<number> {
  const d = m.dict<string, number>();
  const out = new SimpleQueue<number>();
  const p = new Process({ target: dictChild, args: [d, n, out], daemon: true });
  p.start();
  const seconds = await out.get();
  await p.join();
  if (p.exitcode !== 0) throw new Error(`the child exited with ${p.exitcode}`);
  return seconds;
}

async function queueOneProcess(m: M, n: number): Promise<number> {
  const q = m.Queue<number>();
  let s = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await q.put(i);
    s += await q.get();
  }
  const seconds = (performance.now() - t) / 1000;
  if (s !== (n * (n - 1)) / 2) throw new Error(`got ${s}, not ${(n * (n - 1)) / 2}`);
  return seconds;
}

async function queueFromChild(m: M, n: number): Promise<number> {
  const q = m.Queue<number>();
  const go = m.Event();
  const p = new Process({ target: queueProducer, args: [q, go, n], daemon: true });
  p.start();
  // The child started and waiting on the Event (Python's peer sleeps 0.5 s).
  await new Promise((r) => setTimeout(r, 1500));
  const t = performance.now();
  go.set();
  let s = 0;
  for (let i = 0; i < n; i++) s += await q.get();
  const seconds = (performance.now() - t) / 1000;
  await p.join();
  if (p.exitcode !== 0) throw new Error(`the child exited with ${p.exitcode}`);
  if (s !== (n * (n - 1)) / 2) throw new Error(`got ${s}, not ${(n * (n - 1)) / 2}`);
  return seconds;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-manager',
  title: 'weft/multiprocessing Manager vs Python multiprocessing.Manager (SyncManager)',
  async run(h) {
    const n = h.quick ? 2_000 : 20_000;
    const runs = h.quick ? 1 : 3;
    {
      using m = Manager();
      const d = m.dict<string, number>();
      const rows: [string, string, () => Promise<number>][] = [
        [SCENARIOS.dictParent, 'round trips/s', () => dictLoop(d, n)],
        [SCENARIOS.dictChild, 'round trips/s', () => dictFromChild(m, n)],
        [SCENARIOS.queueOne, 'items/s', () => queueOneProcess(m, n)],
        [SCENARIOS.queueChild, 'items/s', () => queueFromChild(m, n)],
      ];
      for (const [scenario, unit, run] of rows) {
        h.record(timed(scenario, 'weft', n, await bestOf(runs, run), unit));
      }
    }
    await h.python(
      fileURLToPath(new URL('./mp_manager.py', import.meta.url)),
      [String(n), String(runs)],
      (name) =>
        name.endsWith('dict.set+get.parent')
          ? SCENARIOS.dictParent
          : name.endsWith('dict.set+get.child')
            ? SCENARIOS.dictChild
            : name.endsWith('Queue.put+get.one-process')
              ? SCENARIOS.queueOne
              : name.endsWith('Queue.child->parent')
                ? SCENARIOS.queueChild
                : null,
      'python',
    );
    h.note(
      "weft's manager is the broker, a thread of the root process: a proxy call is a round trip over a Unix socket to it, and m.Queue() is the module's Queue, whose put on an unbounded queue is sent without waiting. Python's manager is a process of its own (spawn start method): every proxy call, a Queue's put included, is a pickled request and reply over a socket. No goal.",
    );
    h.note(
      `n = ${n} operations a run; each figure is the best of ${runs} whole run(s); a child's start is not timed (the dict child times its own loop after a first set + get; the Queue child waits on an Event set when the clock starts)`,
    );
  },
};
