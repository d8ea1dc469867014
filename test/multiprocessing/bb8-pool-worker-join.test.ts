/**
 * A Pool's worker listed by activeChildren(), killed or terminated and then joined, keeps the
 * program alive until it has exited, as Python's `a.kill(); a.join()` does (`joined -9`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript, type ScriptRun } from '../support/run-script.js';

function runMain(how: string, sizes: number[]): Promise<ScriptRun> {
  const script = fileURLToPath(new URL('./fixtures/pool-worker-join-main.ts', import.meta.url));
  return runScript(script, [how, sizes.join(',')]);
}

describe('join() of a pool worker taken from activeChildren()', () => {
  for (const [how, code] of [
    ['kill', -9],
    ['terminate', -15],
  ] as const) {
    test(`${how}() then a top-level await join(): the program waits for the worker's exit`, async () => {
      // Rounds in one program, each with a pool of its own: with two workers the bug showed in
      // about half the runs, with one in every run (it ends the program at the round it shows
      // in, with exit code 13). Three runs of two workers each were the test before.
      const r = await runMain(how, [1, 2]);
      assert.equal(r.status, 0, `exit code ${r.status}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
      assert.equal(r.stdout, `joined ${code}\n`.repeat(2));
    });
  }
});
