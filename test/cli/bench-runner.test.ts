/**
 * bench/run.ts's own behaviour when a suite breaks: a hung round ends in an error instead of a
 * bench that waits for ever, and one failing suite costs the others nothing (their results are
 * written; the run rejects at the end naming the failure). Scratch suites, scratch results
 * directory: nothing is measured and bench/results is not touched.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBenchmarks } from '../../bench/run.js';
import { newControl, runRound } from '../../bench/threading/control.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('a round that no worker finishes fails after its deadline, naming what it waited for', () => {
  const ctl = newControl();
  // No worker serves this control block: the round can never finish.
  assert.throws(() => runRound(ctl, 1000, 2, 50), {
    message:
      /a round of 1000 operations per worker did not finish within 0\.05 s \(0 of 2 workers done\): a lost wake-up or a stuck worker/,
  });
});

test('a failing suite does not stop the next one; the run rejects at the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-run-'));
  try {
    const broken = join(dir, 'broken.bench.ts');
    const fine = join(dir, 'fine.bench.ts');
    writeFileSync(
      broken,
      `export const suite = { name: 'broken', title: 'broken suite', async run() { throw new Error('the peer crashed'); } };\n`,
    );
    writeFileSync(
      fine,
      `export const suite = { name: 'fine', title: 'fine suite', async run(h) {
        h.record({ scenario: 's', impl: 'weft', name: 'weft: s', rate: 42, unit: 'ops/s', n: 1, seconds: 1 });
      } };\n`,
    );
    const results = join(dir, 'results');
    const seen: string[] = [];
    await assert.rejects(
      runBenchmarks(
        [],
        true,
        {
          suiteStart: (t) => seen.push(`start ${t}`),
          suiteFailed: (t, e) => seen.push(`failed ${t}: ${(e as Error).message}`),
          suiteEnd: (r) => seen.push(`end ${r.title}`),
        },
        { files: [broken, fine], resultsDir: results },
      ),
      (e: unknown) => {
        assert.ok(e instanceof AggregateError);
        assert.match(
          e.message,
          /1 benchmark suite failed \(their previous results were kept\): broken suite: the peer crashed/,
        );
        return true;
      },
    );
    assert.deepEqual(seen, [
      'start broken suite',
      'failed broken suite: the peer crashed',
      'start fine suite',
      'end fine suite',
    ]);
    assert.equal(existsSync(join(results, 'broken.json')), false);
    const written = JSON.parse(readFileSync(join(results, 'fine.json'), 'utf8'));
    assert.equal(written.figures[0].rate, 42);
    assert.match(readFileSync(join(results, 'README.md'), 'utf8'), /fine suite/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
