/**
 * `weft bench` drives bench/run.ts's `runBenchmarks` and reports its events; here against a
 * scratch bench/run.ts, so that the test measures nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runBench } from '../../src/cli/bench.js';
import type { CliContext } from '../../src/cli/command.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const FAKE_RUNNER = `
export function findSuites(filters: string[]): string[] {
  return ['locks', 'queues'].filter((x) => filters.length === 0 || filters.some((f) => x.includes(f)));
}
export async function runBenchmarks(filters: string[], quick: boolean, events: any) {
  const suites = findSuites(filters);
  for (const [i, s] of suites.entries()) {
    events.suiteStart?.(\`suite \${s}\`, i, suites.length);
    events.figure?.({ impl: 'weft', scenario: \`\${s} scenario\`, rate: quick ? 2_500_000 : 1, unit: 'ops/s' });
    events.figure?.({ impl: 'peer', scenario: \`\${s} scenario\`, rate: 1500, unit: 'ops/s' });
    events.suiteEnd?.({});
  }
  return [];
}
`;

function scratchContext(): { context: CliContext; out: string[]; err: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  mkdirSync(join(dir, 'bench'));
  writeFileSync(join(dir, 'bench', 'run.ts'), FAKE_RUNNER);
  const out: string[] = [];
  const err: string[] = [];
  const context: CliContext = {
    root: dir,
    typescript: true,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  };
  return { context, out, err, dir };
}

describe('weft bench', () => {
  test('reports every suite and figure, then where the summary is', async () => {
    const { context, out, err, dir } = scratchContext();
    try {
      await runBench([], true, context);
      const stderr = err.join('');
      const stdout = out.join('');
      assert.ok(stderr.indexOf('[1/2] suite locks') < stderr.indexOf('[2/2] suite queues'));
      assert.match(stdout, /weft\s+locks scenario\s+2\.50 M ops\/s/);
      assert.match(stdout, /peer\s+queues scenario\s+1\.5 k ops\/s/);
      assert.match(
        stdout,
        /2 suites, 4 figures \(quick run\)\. Summary: .*bench\/results\/README\.md/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('filters reach the runner', async () => {
    const { context, out, dir } = scratchContext();
    try {
      await runBench(['queue'], false, context);
      assert.match(out.join(''), /1 suite, 2 figures\. Summary/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without TypeScript support it says that it needs tsx', async () => {
    const { context, dir } = scratchContext();
    try {
      await assert.rejects(runBench([], true, { ...context, typescript: false }), /needs tsx/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
