/**
 * `weft bench [--quick] [filter…]`: runs bench/run.ts's `runBenchmarks` (every suite, weft and
 * its peers side by side) with a progress display, then prints where the results went.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CliCommand, type CliContext, CliError } from './command.js';
import { requireTypeScript } from './lesson-catalog.js';

/** What the CLI uses of bench/run.ts and bench/harness.ts (restated: bench/ is not compiled). */
interface Figure {
  impl: string;
  scenario: string;
  rate: number;
  unit: string;
}
interface BenchRunner {
  findSuites(filters: string[]): string[];
  runBenchmarks(
    filters: string[],
    quick: boolean,
    events: {
      suiteStart?(title: string, index: number, total: number): void;
      figure?(f: Figure): void;
      suiteEnd?(result: unknown): void;
      suiteFailed?(title: string, error: unknown): void;
    },
  ): Promise<unknown[]>;
}

export const benchCommand: CliCommand = {
  register(program, context) {
    program
      .command('bench')
      .description('run the benchmarks (weft beside its peers) and write bench/results/')
      .argument('[filters...]', 'only the suites whose path contains one of these')
      .option('--quick', 'short runs, to check that the benchmarks work')
      .action(async (filters: string[], opts: { quick?: boolean }) => {
        await runBench(filters, opts.quick === true, context);
      });
  },
};

/** Runs the suites matching `filters` from `<root>/bench/run.ts`, showing progress. */
export async function runBench(
  filters: string[],
  quick: boolean,
  context: CliContext,
): Promise<void> {
  requireTypeScript(context, 'weft bench');
  const runner = join(context.root, 'bench', 'run.ts');
  if (!existsSync(runner)) throw new CliError(`no benchmarks here: ${runner} does not exist`);
  const mod = (await import(pathToFileURL(runner).href)) as BenchRunner;
  for (const f of filters) {
    // An empty filter is part of every path: `weft bench "$SUITE"` with SUITE unset would run
    // every suite and overwrite every committed result.
    if (f.trim() === '') {
      throw new CliError(
        "an empty filter names no benchmark suite: give part of a suite's path, or no filter " +
          'for all of them',
      );
    }
    // Each filter must name a suite, as each lesson filter of `weft tour` must: a mistyped one
    // beside a good one would otherwise be dropped without a word.
    if (mod.findSuites([f]).length === 0) {
      throw new CliError(`no benchmark suite matches "${f}"`);
    }
  }
  const total = mod.findSuites(filters).length;
  if (total === 0)
    throw new CliError(`no benchmark suite (*.bench.ts) under ${join(context.root, 'bench')}`);

  const tty = process.stderr.isTTY === true;
  // Loaded here, not at the top: `weft --help` and the tour need no progress bars.
  const { MultiBar, Presets } = await import('cli-progress');
  const bars = tty
    ? new MultiBar(
        {
          format: ' {bar} {value}/{total} suites · {figures} figures · {suite}',
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      )
    : null;
  const bar = bars?.create(total, 0, { suite: 'starting', figures: 0 });
  let figures = 0;
  let done = 0;
  try {
    await mod.runBenchmarks(filters, quick, {
      suiteStart(title, index, n) {
        if (bar) bar.update(index, { suite: title, figures });
        else context.err(`[${index + 1}/${n}] ${title}\n`);
      },
      figure(f) {
        figures++;
        const line = `  ${f.impl.padEnd(28)} ${f.scenario.padEnd(44)} ${rate(f.rate).padStart(10)} ${f.unit}\n`;
        if (bars && bar) {
          bars.log(line);
          bar.update({ figures });
        } else context.out(line);
      },
      suiteEnd() {
        done++;
        bar?.update(done, { figures });
      },
      suiteFailed(title, error) {
        const line = `  FAILED: ${title}: ${error instanceof Error ? error.message : String(error)}\n`;
        if (bars) bars.log(line);
        else context.err(line);
      },
    });
  } finally {
    bars?.stop();
  }
  const summary = relative(process.cwd(), join(context.root, 'bench', 'results', 'README.md'));
  context.out(
    `\n${done} suite${done === 1 ? '' : 's'}, ${figures} figures${quick ? ' (quick run)' : ''}. Summary: ${summary}\n`,
  );
}

function rate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} k`;
  return r.toFixed(1);
}
