/**
 * `weft bench` filters, as `weft tour` filters: an empty one (`weft bench "$SUITE"` with SUITE
 * unset) ran every suite, since '' is part of every path, and a mistyped one beside a good one
 * was dropped without a word. Both are errors now, before any suite runs. Against a scratch
 * bench/run.ts whose findSuites matches as the real one does (part of the path), recording
 * what it was asked to run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { runBench } from '../../src/cli/bench.js';
import { type CliContext, CliError } from '../../src/cli/command.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

let dir = '';
let context: CliContext;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-bb-bench-'));
  mkdirSync(join(dir, 'bench'));
  // The runs it was asked for go to ran.log, one line of filters each.
  writeFileSync(
    join(dir, 'bench', 'run.ts'),
    `import { appendFileSync } from 'node:fs';
const SUITES = ['threading/locks.bench.ts', 'queue/queue.bench.ts'];
export function findSuites(filters: string[]): string[] {
  return filters.length ? SUITES.filter((s) => filters.some((f) => s.includes(f))) : SUITES;
}
export async function runBenchmarks(filters: string[], _quick: boolean, events: any) {
  appendFileSync(${JSON.stringify(join(dir, 'ran.log'))}, JSON.stringify(filters) + '\\n');
  const suites = findSuites(filters);
  for (const [i, s] of suites.entries()) {
    events.suiteStart?.(s, i, suites.length);
    events.suiteEnd?.({});
  }
  return [];
}
`,
  );
  context = { root: dir, typescript: true, out: () => {}, err: () => {} };
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runs(): string[] {
  try {
    return readFileSync(join(dir, 'ran.log'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

describe('weft bench filters', () => {
  test('an empty filter is an error and runs nothing', async () => {
    for (const filters of [[''], ['  '], ['queue', '']]) {
      await assert.rejects(
        runBench(filters, true, context),
        (e) => e instanceof CliError && /an empty filter names no benchmark suite/.test(e.message),
        JSON.stringify(filters),
      );
    }
    assert.deepEqual(runs(), []);
  });

  test('a filter that matches nothing beside one that matches is an error naming it', async () => {
    await assert.rejects(
      runBench(['queue', 'lokcs'], true, context),
      (e) => e instanceof CliError && e.message === 'no benchmark suite matches "lokcs"',
    );
    assert.deepEqual(runs(), []);
  });

  test('filters that each match run the suites of all of them', async () => {
    await runBench(['queue', 'locks'], true, context);
    assert.deepEqual(runs(), ['["queue","locks"]']);
  });
});
