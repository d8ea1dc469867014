/**
 * `npm run bench -- …` (bench/run.ts's own command line) stops before any suite runs when it is
 * asked for help, given an option it does not know, an empty filter or one that names no suite:
 * it took every argument starting with `--` as nothing and every other as a filter, so `--help`
 * (or a typo such as `--quik`) ran the whole bench — most of an hour, every committed result
 * overwritten — and `"$SUITE"` unset did the same.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../../bench/run.js';
import { TS_IMPORT } from '../support/ts.js';

const runTs = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

test('benchArgs: --quick and filters that name suites run; help, unknown options, empty or unmatched filters do not', () => {
  assert.deepEqual(benchArgs([]), { quick: false, filters: [] });
  assert.deepEqual(benchArgs(['--quick', 'asyncio/']), { quick: true, filters: ['asyncio/'] });
  const help = benchArgs(['--help']);
  assert.ok('exit' in help && help.exit === 0 && /usage: npm run bench/.test(help.message));
  assert.ok('exit' in benchArgs(['-h']));
  for (const [args, re] of [
    [['--quik'], /unknown option --quik/],
    [['asyncio/', '-x'], /unknown option -x/],
    [[''], /an empty filter names no benchmark suite/],
    [['  '], /an empty filter/],
    [['asyncio/', 'lokcs-no-such-suite'], /no benchmark suite matches "lokcs-no-such-suite"/],
  ] as const) {
    const r = benchArgs(args);
    assert.ok('exit' in r, `${JSON.stringify(args)} must not run`);
    assert.equal(r.exit, 2);
    assert.match(r.message, re);
  }
});

test('bench/run.ts --help prints the usage and exits 0; a filter naming no suite exits 2; neither runs a suite', () => {
  for (const [arg, code, stream, re] of [
    ['--help', 0, 'stdout', /usage: npm run bench/],
    ['no-such-suite-at-all', 2, 'stderr', /no benchmark suite matches "no-such-suite-at-all"/],
  ] as const) {
    // A bound in case the arguments were taken for a run again: a suite prints its [i/n] title.
    const r = spawnSync(process.execPath, ['--import', TS_IMPORT, runTs, arg], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, code, `${arg}: ${r.stdout}${r.stderr}`);
    assert.match(r[stream], re);
    assert.doesNotMatch(r.stdout, /\[1\//, `${arg} started a suite`);
  }
});
