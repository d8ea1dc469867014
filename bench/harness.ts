/**
 * The benchmark harness. Every `bench/<module>/<topic>.bench.ts` exports a `suite`; `bench/run.ts`
 * finds them, runs each (weft and its peers side by side in one run, so ratios are fair on a
 * shared machine), and writes `bench/results/<suite>.json` and the table `bench/results/README.md`.
 *
 * Timing uses tinybench: a measured function is one *round* that does `n` operations; tinybench
 * runs rounds until its time budget is spent and reports the mean round time, and a figure is
 * `n / mean` operations per second, with the relative margin of error tinybench computes.
 * Peers written in other languages (Python) print their own JSON lines, recorded as they come.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, isAbsolute } from 'node:path';
import { Bench } from 'tinybench';

export interface Figure {
  /** What was measured, e.g. `weft Lock acquire+release (uncontended)`. */
  name: string;
  /** Who did the work: `weft` or a peer's name (`python asyncio`, `async-mutex`, `bare await`). */
  impl: string;
  /** The scenario the figure belongs to, shared by weft and its peers: rows are compared in it. */
  scenario: string;
  rate: number;
  unit: string;
  /** Operations per round, and the mean seconds per round. */
  n: number;
  seconds: number;
  /** Relative margin of error (percent), when tinybench measured it. */
  rme?: number;
  /** The rate of each interleaved pass, in pass order (see `Harness.interleaved`). */
  passes?: number[];
  note?: string;
}

export interface MeasureOptions {
  scenario: string;
  impl: string;
  /** Operations one call of `fn` performs. */
  n: number;
  unit?: string;
  fn: () => unknown | Promise<unknown>;
  /** Time budget in ms (default 1500, or 300 in quick mode). */
  time?: number;
  note?: string;
}

export interface Harness {
  readonly quick: boolean;
  measure(options: MeasureOptions): Promise<Figure>;
  /**
   * Runs `body` `passes` times, its measurements interleaved: every `measure` inside it gets a
   * time budget of 1/passes of the usual, and each figure recorded is the median of its passes.
   * On a shared machine whose speed drifts over seconds, measuring weft and a peer once each,
   * one after the other, lets the drift pick the winner; interleaved passes spread it over all.
   */
  interleaved(passes: number, body: () => Promise<void>): Promise<void>;
  /** Records a figure measured by other means (a whole-run timing, a peer process). */
  record(figure: Figure): void;
  /**
   * Runs a Python peer (`../shared/peers/...`, or an absolute path) with Debian's python3 and
   * records every JSON line
   * `{name, n, seconds, rate, unit}` it prints, under `scenarioOf(name)`. Returns false (with a
   * note) when the peer cannot run here.
   */
  python(
    script: string,
    args: string[],
    scenarioOf: (peerName: string) => string | null,
    impl: string,
  ): Promise<boolean>;
  note(text: string): void;
  readonly figures: Figure[];
  readonly notes: string[];
}

export interface BenchSuite {
  /** File-safe name, used for `bench/results/<name>.json`. */
  name: string;
  title: string;
  run(h: Harness): Promise<void>;
}

export const PEERS_DIR = new URL('../../shared/peers/', import.meta.url).pathname;
export const PYTHON = '/usr/bin/python3';

export function createHarness(quick: boolean, onFigure?: (f: Figure) => void): Harness {
  const figures: Figure[] = [];
  const notes: string[] = [];
  /** While `interleaved` runs: the figures of each name, pass after pass. */
  let passes: Map<string, Figure[]> | null = null;
  let passCount = 1;
  const record = (f: Figure): void => {
    if (passes !== null) {
      const list = passes.get(f.name);
      if (list === undefined) passes.set(f.name, [f]);
      else list.push(f);
      return;
    }
    figures.push(f);
    onFigure?.(f);
  };
  return {
    quick,
    figures,
    notes,
    record,
    note(text) {
      // Interleaved passes say the same thing once per pass.
      if (!notes.includes(text)) notes.push(text);
    },
    async interleaved(n, body) {
      if (passes !== null) throw new Error('interleaved() does not nest');
      const byName = new Map<string, Figure[]>();
      passes = byName;
      passCount = n;
      try {
        for (let i = 0; i < n; i++) await body();
      } finally {
        passes = null;
        passCount = 1;
      }
      for (const list of byName.values()) {
        const sorted = [...list].sort((a, b) => a.rate - b.rate);
        const mid = sorted[Math.floor(sorted.length / 2)] as Figure;
        const rates = list.map((f) => f.rate);
        const spread =
          list.length > 1
            ? ((Math.max(...rates) - Math.min(...rates)) / 2 / mid.rate) * 100
            : mid.rme;
        const each = rates.map((r) => fmt(r)).join(', ');
        record({
          ...mid,
          passes: rates,
          ...(spread !== undefined ? { rme: spread } : {}),
          note: `${mid.note ? `${mid.note}; ` : ''}median of ${list.length} interleaved passes (${each})`,
        });
      }
    },
    async measure(o) {
      const budget = o.time ?? (quick ? 300 : 1500);
      const bench = new Bench({
        time: Math.max(100, Math.round(budget / passCount)),
        warmupTime: quick ? 50 : 200,
        iterations: 3,
        warmupIterations: 1,
      });
      // `async: true`: otherwise tinybench calls fn once, unawaited, to find out whether it is async,
      // and that call overlaps the first measured round.
      bench.add(o.impl, o.fn, { async: true });
      await bench.run();
      const task = bench.tasks[0];
      const r = task?.result as
        | { state?: string; latency?: { mean: number; rme: number }; error?: unknown }
        | undefined;
      if (!r?.latency) {
        throw new Error(
          `benchmark ${o.impl} / ${o.scenario} failed: ${String(r?.error ?? 'no result')}`,
        );
      }
      const seconds = r.latency.mean / 1000;
      const f: Figure = {
        name: `${o.impl}: ${o.scenario}`,
        impl: o.impl,
        scenario: o.scenario,
        n: o.n,
        seconds,
        rate: o.n / seconds,
        unit: o.unit ?? 'ops/s',
        rme: r.latency.rme,
        ...(o.note ? { note: o.note } : {}),
      };
      record(f);
      return f;
    },
    async python(script, args, scenarioOf, impl) {
      const path = isAbsolute(script) ? script : PEERS_DIR + script;
      if (!existsSync(PYTHON) || !existsSync(path)) {
        notes.push(
          `skipped ${impl} (${script}): ${existsSync(PYTHON) ? 'peer file missing' : 'no /usr/bin/python3'}`,
        );
        return false;
      }
      // A peer of the bench's own folder (an absolute path) runs where it is when the shared
      // peers are not beside this checkout: spawning in a missing folder fails with a bare ENOENT.
      const cwd = existsSync(PEERS_DIR) ? PEERS_DIR : dirname(path);
      const out = await runCaptured(PYTHON, [path, ...args], cwd);
      if (out.code !== 0) {
        notes.push(
          `skipped ${impl} (${script} ${args.join(' ')}): exit ${out.code}: ${out.stderr.trim().split('\n').pop()}`,
        );
        return false;
      }
      for (const line of out.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const d = JSON.parse(line) as {
          name: string;
          n: number;
          seconds: number;
          rate: number;
          unit: string;
        };
        const scenario = scenarioOf(d.name);
        if (scenario === null) continue;
        record({
          name: `${impl}: ${scenario}`,
          impl,
          scenario,
          n: d.n,
          seconds: d.seconds,
          rate: d.rate,
          unit: d.unit,
          note: d.name,
        });
      }
      return true;
    },
  };
}

/** A rate in 3 significant figures with k/M, for notes. */
function fmt(r: number): string {
  if (r >= 999.5e3) return `${(r / 1e6).toPrecision(3)}M`;
  if (r >= 999.5) return `${(r / 1e3).toPrecision(3)}k`;
  return r.toPrecision(3);
}

/**
 * A figure of `n` operations timed by other means than tinybench (a whole run, a child's own
 * clock): its rate is `n / seconds`; its name `<impl>: <scenario>` unless given.
 */
export function timed(
  scenario: string,
  impl: string,
  n: number,
  seconds: number,
  unit: string,
  extra: { name?: string; note?: string } = {},
): Figure {
  const f: Figure = {
    name: extra.name ?? `${impl}: ${scenario}`,
    impl,
    scenario,
    n,
    seconds,
    rate: n / seconds,
    unit,
  };
  if (extra.note !== undefined) f.note = extra.note;
  return f;
}

/**
 * The shortest of `runs` whole runs of `fn` (each resolves to its seconds): for rounds that
 * cannot be repeated inside one tinybench task (processes started, a queue drained).
 */
export async function bestOf(runs: number, fn: () => Promise<number>): Promise<number> {
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) b = Math.min(b, await fn());
  return b;
}

/**
 * How many times `a`'s rate is `b`'s. For two figures of the same interleaved passes, the
 * median of the per-pass ratios: each pass measured both within seconds of each other, so a
 * pass the machine ran slow slows both, where the ratio of the two medians could pair a slow
 * pass of one with a fast pass of the other.
 */
export function ratio(a: Figure, b: Figure): number {
  const pa = a.passes;
  const pb = b.passes;
  if (pa === undefined || pb === undefined || pa.length !== pb.length || pa.length === 0) {
    return a.rate / b.rate;
  }
  const rs = pa.map((x, i) => x / (pb[i] as number)).sort((x, y) => x - y);
  const mid = Math.floor(rs.length / 2);
  return rs.length % 2 === 1
    ? (rs[mid] as number)
    : ((rs[mid - 1] as number) + (rs[mid] as number)) / 2;
}

/**
 * Runs `body` with this process's main thread pinned to `core` (taskset), and the processes it
 * starts meanwhile (they inherit the affinity); afterwards the thread may run on every core
 * again. Returns whether it was pinned (false without taskset or a second core).
 *
 * Why (runs by hand): for a while this machine ran a single-threaded loop either fast or about 1.6× slower
 * from one process to the next (the same weft Semaphore loop: ~16 M or ~9.5 M ops/s, about half
 * the runs each, on 2026-12-02 04:40 UTC), while the same loop pinned to one core ran fast 7
 * times of 8; half an hour later both ran fast 8 of 8. Where a thread runs is one source of
 * that noise which the benchmark can remove; pinning does not make any row faster than its
 * fast runs.
 */
export async function withMainThreadPinned<T>(
  core: number,
  body: (pinned: boolean) => Promise<T>,
): Promise<T> {
  const n = cpus().length;
  let pinned = false;
  if (n >= 2) {
    try {
      execFileSync('taskset', ['-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
      pinned = true;
    } catch {
      pinned = false;
    }
  }
  try {
    return await body(pinned);
  } finally {
    if (pinned) {
      execFileSync('taskset', ['-p', '-c', `0-${n - 1}`, String(process.pid)], {
        stdio: 'ignore',
      });
    }
  }
}

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output; a command that cannot start exits null. */
export function runCaptured(
  cmd: string,
  args: string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<Captured> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: null, stdout, stderr: String(e) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A measured round's own check of its answer: a wrong one fails the row, as a hang does. */
export function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`wrong answer: ${what}`);
}

/** What every suite's `goals` uses: a row by scenario and implementation, a ratio as text, a verdict. */
export function goalTools(figures: Figure[]): {
  fig: (scenario: string, impl: string) => Figure | undefined;
  x: (r: number) => string;
  verdict: (ok: boolean) => string;
} {
  return {
    fig: (scenario, impl) => figures.find((f) => f.scenario === scenario && f.impl === impl),
    x: (r) => `${r.toFixed(2)}×`,
    verdict: (ok) => (ok ? 'met' : 'MISSED'),
  };
}
