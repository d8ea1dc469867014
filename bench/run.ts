/**
 * `npm run bench [-- --quick] [filter ...]`: runs every bench/<module>/*.bench.ts suite (or those
 * whose path contains a filter), weft and peers side by side, and writes
 * `bench/results/<suite>.json` and the summary table `bench/results/README.md`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchSuite, createHarness, type Figure } from './harness.js';

const benchDir = new URL('.', import.meta.url).pathname;
const resultsDir = join(benchDir, 'results');

export interface SuiteResult {
  suite: string;
  title: string;
  date: string;
  machine: { cpus: number; model: string; node: string; platform: string };
  quick: boolean;
  figures: Figure[];
  notes: string[];
}

export function findSuites(filters: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'results' && name !== 'node_modules') walk(p);
      } else if (name.endsWith('.bench.ts')) files.push(p);
    }
  };
  walk(benchDir);
  return filters.length
    ? files.filter((f) => filters.some((x) => relative(benchDir, f).includes(x)))
    : files;
}

export interface RunEvents {
  suiteStart?(title: string, index: number, total: number): void;
  figure?(f: Figure): void;
  suiteEnd?(result: SuiteResult): void;
  /** A suite threw: the run goes on with the next one and rejects at the end. */
  suiteFailed?(title: string, error: unknown): void;
}

/** Where the suites come from and where their results go (tests point both elsewhere). */
export interface RunPlaces {
  files?: string[];
  resultsDir?: string;
}

export async function runBenchmarks(
  filters: string[],
  quick: boolean,
  events: RunEvents = {},
  places: RunPlaces = {},
): Promise<SuiteResult[]> {
  const outDir = places.resultsDir ?? resultsDir;
  mkdirSync(outDir, { recursive: true });
  const files = places.files ?? findSuites(filters);
  const results: SuiteResult[] = [];
  const failures: { title: string; error: unknown }[] = [];
  for (const [i, file] of files.entries()) {
    const mod = (await import(pathToFileURL(file).href)) as { suite?: BenchSuite };
    const suite = mod.suite;
    if (!suite) throw new Error(`${relative(benchDir, file)} exports no \`suite\``);
    events.suiteStart?.(suite.title, i, files.length);
    const h = createHarness(quick, events.figure);
    try {
      await suite.run(h);
    } catch (err) {
      // One broken suite (a hang caught by a round deadline, a peer that crashed) must not
      // cost the others their figures: its previous JSON stays, the run fails at the end.
      failures.push({ title: suite.title, error: err });
      events.suiteFailed?.(suite.title, err);
      continue;
    }
    const result: SuiteResult = {
      suite: suite.name,
      title: suite.title,
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      quick,
      figures: h.figures,
      notes: h.notes,
    };
    writeFileSync(join(outDir, `${suite.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    results.push(result);
    events.suiteEnd?.(result);
  }
  writeSummary(outDir);
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.error),
      `${failures.length} benchmark suite${failures.length === 1 ? '' : 's'} failed (their previous results were kept): ${failures
        .map((f) => `${f.title}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
        .join('; ')}`,
    );
  }
  return results;
}

function fmt(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k`;
  return rate.toFixed(1);
}

/** Rewrites bench/results/README.md from every results JSON present (not only this run's). */
export function writeSummary(dir: string = resultsDir): void {
  if (!existsSync(dir)) return;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const out: string[] = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (do not edit by hand). Each table compares weft with its peers in',
    "the same run; `× weft` is the peer's rate divided into weft's (above 1: weft is faster).",
    '',
  ];
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SuiteResult;
    out.push(
      `## ${r.title}`,
      '',
      `${r.date.slice(0, 16).replace('T', ' ')} UTC · ${r.machine.cpus} × ${r.machine.model} · Node ${r.machine.node}${r.quick ? ' · quick run' : ''}`,
      '',
    );
    const scenarios = [...new Set(r.figures.map((x) => x.scenario))];
    for (const sc of scenarios) {
      const rows = r.figures.filter((x) => x.scenario === sc);
      const weft = rows.find((x) => x.impl === 'weft' || x.impl.startsWith('weft'));
      out.push(
        `### ${sc}`,
        '',
        '| implementation | rate | unit | ± | × weft |',
        '|---|---:|---|---:|---:|',
      );
      for (const x of rows) {
        const ratio = weft && x !== weft ? (weft.rate / x.rate).toFixed(2) : '';
        out.push(
          `| ${x.impl} | ${fmt(x.rate)} | ${x.unit} | ${x.rme !== undefined ? `${x.rme.toFixed(1)}%` : ''} | ${ratio} |`,
        );
      }
      out.push('');
    }
    if (r.notes.length) out.push('Notes:', '', ...r.notes.map((n) => `- ${n}`), '');
  }
  writeFileSync(join(dir, 'README.md'), `${out.join('\n')}\n`);
}

const isMain = process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;
/**
 * What `npm run bench -- …` was given, or why it cannot run: a whole run takes the better part of
 * an hour and overwrites every committed result, so `--help`, a mistyped option, an empty filter
 * (`"$SUITE"` unset: part of every path) or one that names no suite stops it before any suite runs,
 * as `weft bench` does (src/cli/bench.ts).
 */
export function benchArgs(
  args: readonly string[],
): { quick: boolean; filters: string[] } | { exit: number; message: string } {
  const usage =
    'usage: npm run bench [-- [--quick] [filter…]]: every benchmark suite (bench/**/*.bench.ts), or those whose path contains a filter; --quick runs fewer rounds';
  const quick = args.includes('--quick');
  const filters: string[] = [];
  for (const a of args) {
    if (a === '--help' || a === '-h') return { exit: 0, message: usage };
    if (a === '--quick') continue;
    if (a.startsWith('-')) return { exit: 2, message: `unknown option ${a}\n${usage}` };
    if (a.trim() === '') {
      return {
        exit: 2,
        message:
          "an empty filter names no benchmark suite: give part of a suite's path, or no filter for all of them",
      };
    }
    if (findSuites([a]).length === 0) {
      return { exit: 2, message: `no benchmark suite matches "${a}"` };
    }
    filters.push(a);
  }
  return { quick, filters };
}

if (isMain) {
  const parsed = benchArgs(process.argv.slice(2));
  if ('exit' in parsed) {
    (parsed.exit === 0 ? console.log : console.error)(parsed.message);
    process.exit(parsed.exit);
  }
  const { quick, filters } = parsed;
  await runBenchmarks(filters, quick, {
    suiteStart: (t, i, n) => console.log(`\n[${i + 1}/${n}] ${t}`),
    suiteFailed: (t, e) =>
      console.error(`  FAILED: ${t}: ${e instanceof Error ? e.message : String(e)}`),
    figure: (f) =>
      console.log(
        `  ${f.impl.padEnd(28)} ${f.scenario.padEnd(48)} ${fmt(f.rate).padStart(10)} ${f.unit}`,
      ),
  });
  console.log(`\nwrote ${relative(process.cwd(), resultsDir)}/`);
}
