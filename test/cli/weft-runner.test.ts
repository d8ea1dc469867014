/**
 * The helper the CLI tests run `weft` with (test/support/weft-cli.ts): a command its limit ends
 * fails the test as one that did not end, however it exits.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkLeaks } from '../support/leaks.js';
import { scriptRunner } from '../support/weft-cli.js';

checkLeaks();

const fixture = join(
  new URL('.', import.meta.url).pathname,
  'fixtures',
  'quiet-on-closed-pipe.mjs',
);

test('a command ended by its limit is reported as not ending, even when it then exits 0', async () => {
  // Regression: execFile closes the pipes of a command it ends, weft exits 0 at its next write,
  // and the run came back as a success with its output cut short. The 3 s let the fixture start
  // first (on a machine so starved that it has not, the limit ends it by the signal: a failure
  // all the same).
  await assert.rejects(
    scriptRunner(fixture, 'quiet-on-closed-pipe', 3000)(),
    /^Error: quiet-on-closed-pipe did not end by itself within 3 s/,
  );
});
