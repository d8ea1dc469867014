/**
 * multiprocessing across real processes, against Python's multiprocessing (shared peers
 * mp_queue.py and mp_joinable.py, and process_start.py here):
 *
 * - Queue producer process → consumer process: N small ints, and N 1 KiB buffers. Both
 *   processes are running and waiting on an Event; the clock starts at `go.set()` and stops when
 *   the consumer reports it has received all N (Python's peer does the same).
 * - JoinableQueue: the parent puts N small ints, two consumer processes get + taskDone, the
 *   parent's `join()` returns.
 * - Process start to first message: `start()` to the parent's `get()` of the child's first put,
 *   for weft compiled to JavaScript in a plain node process (process-start.mjs: what a published
 *   program pays) and for weft's TypeScript sources under tsx (this process: each child loads
 *   tsx and esbuild first).
 *
 * A process round cannot be repeated cheaply inside one tinybench task, so each figure is the
 * best of a few whole runs, recorded with `h.record`; every run checks its count.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Event, JoinableQueue, Process, Queue, SimpleQueue } from 'weft/multiprocessing';
import {
  type BenchSuite,
  bestOf,
  type Figure,
  goalTools,
  type Harness,
  ratio,
  runCaptured,
  timed,
} from '../harness.js';
import { consumer, hello, joinableConsumer, producer } from './targets.js';

export const SCENARIOS = {
  ints: 'Queue proc→proc: small ints',
  bytes: 'Queue proc→proc: 1 KiB buffers',
  joinable: 'JoinableQueue parent→2 consumer processes',
  start: 'Process start → first message',
} as const;

async function queueRun(n: number, kind: 'int' | 'bytes'): Promise<number> {
  const q = new Queue();
  const go = new Event();
  const done = new SimpleQueue<number>();
  const c = new Process({ target: consumer, args: [q, done, n], daemon: true });
  const p = new Process({ target: producer, args: [q, go, n, kind], daemon: true });
  c.start();
  p.start();
  // Both children connected and waiting: a round trip through each is not needed, the Event is.
  await new Promise((r) => setTimeout(r, 1500));
  const t = performance.now();
  go.set();
  const got = await done.get();
  const seconds = (performance.now() - t) / 1000;
  await Promise.all([p.join(), c.join()]);
  if (got !== n) throw new Error(`consumer got ${got} of ${n}`);
  return seconds;
}

async function joinableRun(n: number): Promise<number> {
  const q = new JoinableQueue<number | null>(0, { prefetch: 256 });
  const cs = [0, 1].map(() => new Process({ target: joinableConsumer, args: [q], daemon: true }));
  for (const c of cs) c.start();
  for (let i = 0; i < 2; i++) q.putNowait(-1);
  await q.join();
  const t = performance.now();
  for (let i = 0; i < n; i++) q.putNowait(i);
  await q.join();
  const seconds = (performance.now() - t) / 1000;
  for (const _ of cs) q.putNowait(null);
  for (const c of cs) await c.join();
  return seconds;
}

async function startRun(): Promise<number> {
  const q = new SimpleQueue<number>();
  const t = performance.now();
  const p = new Process({ target: hello, args: [q] });
  p.start();
  await q.get();
  const seconds = (performance.now() - t) / 1000;
  await p.join();
  return seconds;
}

/**
 * Process starts with weft compiled to JavaScript (dist/, built by `npm ci`), in a plain `node`
 * process: what a published program pays. The bench itself runs under tsx, where `weft/*` is
 * the TypeScript sources and every child must load tsx before its first line.
 */
async function compiledStarts(h: Harness, starts: number): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../../dist/multiprocessing/index.js', import.meta.url)))) {
    h.note('skipped weft (compiled JavaScript) process start: dist/ is not built (npm run build)');
    return;
  }
  await compiledRow(h, starts, 'weft (compiled JavaScript)', process.env);
  // Node 20 reads and parses the file NODE_EXTRA_CA_CERTS names while it starts, before its
  // first line runs, in every process; a child inherits the variable, as it must (its TLS
  // trusts those certificates). Where it is set, the row without it shows what it costs a start.
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra !== undefined && extra !== '') {
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    await compiledRow(h, starts, 'weft (compiled JavaScript), NODE_EXTRA_CA_CERTS unset', env);
    h.note(
      `process start: NODE_EXTRA_CA_CERTS is set here (${extra}); Node 20 loads that file as each process starts (${await startCost(env)}), so each child pays it: the row "NODE_EXTRA_CA_CERTS unset" is the same run with the variable removed, to show that part (weft keeps it for its children, whose TLS needs it)`,
    );
  }
}

async function compiledRow(
  h: Harness,
  starts: number,
  impl: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const script = fileURLToPath(new URL('./process-start.mjs', import.meta.url));
  const out = await runCaptured(process.execPath, [script, String(starts)], undefined, env);
  const line = out.stdout.split('\n').find((l) => l.startsWith('{'));
  if (out.code !== 0 || line === undefined) {
    h.note(
      `${impl} process start failed (exit ${out.code}): ${out.stderr.trim().split('\n').pop()}`,
    );
    return;
  }
  const d = JSON.parse(line) as { n: number; seconds: number; unit: string };
  h.record(
    timed(SCENARIOS.start, impl, d.n, d.seconds, d.unit, {
      name: `${impl}: ${SCENARIOS.start}`,
      note: 'dist/ in a plain node process, as a published program runs',
    }),
  );
}

/** Node's own start to its first line (`performance.nodeTiming`), median of 5, with and without. */
async function startCost(without: NodeJS.ProcessEnv): Promise<string> {
  const probe = async (env: NodeJS.ProcessEnv): Promise<number> => {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const out = await runCaptured(
        process.execPath,
        ['-e', 'process.stdout.write(String(performance.nodeTiming.bootstrapComplete))'],
        undefined,
        env,
      );
      ms.push(Number(out.stdout));
    }
    ms.sort((a, b) => a - b);
    return ms[2] as number;
  };
  const withIt = await probe(process.env);
  const withoutIt = await probe(without);
  return `node's bootstrap took ${withIt.toFixed(0)} ms with it and ${withoutIt.toFixed(0)} ms without, the median of 5 runs each`;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-queue',
  title: 'weft/multiprocessing queues and process start vs Python multiprocessing',
  async run(h) {
    const nInts = h.quick ? 100_000 : 1_000_000;
    const nBytes = h.quick ? 10_000 : 100_000;
    const nJoin = h.quick ? 20_000 : 200_000;
    const runs = h.quick ? 1 : 3;
    const rows: [string, number, () => Promise<number>][] = [
      [SCENARIOS.ints, nInts, () => queueRun(nInts, 'int')],
      [SCENARIOS.bytes, nBytes, () => queueRun(nBytes, 'bytes')],
      [SCENARIOS.joinable, nJoin, () => joinableRun(nJoin)],
    ];
    for (const [scenario, n, run] of rows) {
      h.record(timed(scenario, 'weft', n, await bestOf(runs, run), 'items/s'));
    }
    const starts = h.quick ? 3 : 10;
    await compiledStarts(h, starts);
    let total = 0;
    for (let i = 0; i < starts; i++) total += await startRun();
    h.record(
      timed(
        SCENARIOS.start,
        'weft (TypeScript sources: each child loads tsx)',
        starts,
        total,
        'starts/s',
        { name: `weft under tsx: ${SCENARIOS.start}` },
      ),
    );

    await h.python(
      'python/prims/mp_queue.py',
      [String(nInts), String(nBytes)],
      (name) =>
        name.endsWith('small-int')
          ? SCENARIOS.ints
          : name.endsWith('1KiB-bytes')
            ? SCENARIOS.bytes
            : null,
      'python',
    );
    await h.python(
      'python/prims/mp_joinable.py',
      [String(nJoin)],
      () => SCENARIOS.joinable,
      'python',
    );
    // This repository's own peer (no shared one measures a process start): same JSON line.
    await h.python(
      fileURLToPath(new URL('./process_start.py', import.meta.url)),
      [String(starts)],
      () => SCENARIOS.start,
      'python',
    );
    for (const line of goals(h.figures)) h.note(line);
  },
};

/** The queue goals of issue 4 (≥ 3× Python), computed from this run's figures. */
export function goals(figures: Figure[]): string[] {
  const out: string[] = [];
  const { fig, x, verdict } = goalTools(figures);
  for (const sc of [SCENARIOS.ints, SCENARIOS.bytes, SCENARIOS.joinable]) {
    const w = fig(sc, 'weft');
    const p = fig(sc, 'python');
    if (w === undefined || p === undefined) continue;
    const r = ratio(w, p);
    out.push(`goal ${sc} ≥ 3× python: ${verdict(r >= 3)} — ${x(r)}`);
  }
  return out;
}
