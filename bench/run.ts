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
}

export async function runBenchmarks(
  filters: string[],
  quick: boolean,
  events: RunEvents = {},
): Promise<SuiteResult[]> {
  mkdirSync(resultsDir, { recursive: true });
  const files = findSuites(filters);
  const results: SuiteResult[] = [];
  for (const [i, file] of files.entries()) {
    const mod = (await import(pathToFileURL(file).href)) as { suite?: BenchSuite };
    const suite = mod.suite;
    if (!suite) throw new Error(`${relative(benchDir, file)} exports no \`suite\``);
    events.suiteStart?.(suite.title, i, files.length);
    const h = createHarness(quick, events.figure);
    await suite.run(h);
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
    writeFileSync(join(resultsDir, `${suite.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    results.push(result);
    events.suiteEnd?.(result);
  }
  writeSummary();
  return results;
}

function fmt(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k`;
  return rate.toFixed(1);
}

/** Rewrites bench/results/README.md from every results JSON present (not only this run's). */
export function writeSummary(): void {
  if (!existsSync(resultsDir)) return;
  const files = readdirSync(resultsDir)
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
    const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as SuiteResult;
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
  writeFileSync(join(resultsDir, 'README.md'), `${out.join('\n')}\n`);
}

const isMain = process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;
if (isMain) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const filters = args.filter((a) => !a.startsWith('--'));
  await runBenchmarks(filters, quick, {
    suiteStart: (t, i, n) => console.log(`\n[${i + 1}/${n}] ${t}`),
    figure: (f) =>
      console.log(
        `  ${f.impl.padEnd(28)} ${f.scenario.padEnd(48)} ${fmt(f.rate).padStart(10)} ${f.unit}`,
      ),
  });
  console.log(`\nwrote ${relative(process.cwd(), resultsDir)}/`);
}
