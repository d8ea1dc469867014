/**
 * `weft tour 20 23 60 65` as a user starts it: with tsx, registered through its API (not the
 * test loader that WEFT_TS_LOADER names in the suite), from a directory outside the checkout.
 * Lessons whose threads and processes load TypeScript, and lesson 65's intermediate parent: two
 * tests check the one run, each the lessons of its own regression.
 *
 * A file of its own, apart from cli.test.ts: the run costs some 8 s of CPU (seven processes and
 * their worker threads, each loading weft's modules through tsx, which costs each some 0.35 s
 * more than the suite's loader), and that is what a loaded machine stretches: 14 s on a quiet
 * 2-core machine, 93 s with 10% of one core, over 100 s in each of three runs beside a load
 * average of 29-37. Nothing in it waits for long: the lessons' sleeps add up to under 2 s. Here
 * it has the runner's 300 s bound of a file to itself.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { checkLeaks } from '../support/leaks.js';
import { type WeftResult, weftRunner } from '../support/weft-cli.js';

checkLeaks();

/**
 * A bound against a hang, below the runner's 300 s for the file: the run needs its 8 CPU-s
 * however long the machine takes to give them (at a load average of 50 on 2 cores, where a
 * thread gets some 4% of a core, about 200 s).
 */
const userTourRunner = weftRunner(240_000, { WEFT_TS_LOADER: '' }, tmpdir());
let run: Promise<WeftResult> | undefined;
const userTour = () => (run ??= userTourRunner('tour', '20', '23', '60', '65'));

describe('weft tour as a user starts it', () => {
  test('tour runs the process lessons as a user starts it (tsx registered through its API)', async () => {
    // Regression: lesson 65 spawned its intermediate parent with process.execArgv, which carries
    // no loader under bin/weft.js, so the parent died on the .ts file and the lesson hung.
    const r = await userTour();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /greeter \(pid \d+\) greets the world/);
    assert.match(r.stdout, /Daemon child running = false/);
    assert.match(r.stdout, /4 of 4 lessons ran/);
  });

  test('the lessons whose threads and processes load TypeScript work from any directory', async () => {
    // Regression: a child's tsx looked for tsconfig.json from the working directory, so from
    // elsewhere `weft/threading` in a worker was the compiled dist/ copy, whose Thread subclass
    // the first copy could not run (lesson 20 lost its Counter, lesson 60 hung for 60 s), and
    // lesson 23's `--import tsx` found no tsx at all (it printed NaN ms and passed).
    const r = await userTour();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /Thread-\d+ \(a Counter\) counted 1 2 3/);
    assert.equal(r.stdout.match(/heartbeat \d/g)?.length, 3, r.stdout);
    assert.match(r.stdout, /\(a Squarer\) says 7² = 49/);
    assert.match(r.stdout, /4 of 4 lessons ran/);
  });
});
