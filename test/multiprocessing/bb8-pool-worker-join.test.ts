/**
 * A Pool's worker listed by activeChildren(), killed or terminated and then joined, keeps the
 * program alive until it has exited, as Python's `a.kill(); a.join()` does (`joined -9`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript, type ScriptRun } from '../support/run-script.js';

function runMain(arg: string): Promise<ScriptRun> {
  const script = fileURLToPath(new URL('./fixtures/pool-worker-join-main.ts', import.meta.url));
  return runScript(script, [arg]);
}

describe('join() of a pool worker taken from activeChildren()', () => {
  for (const [how, code] of [
    ['kill', -9],
    ['terminate', -15],
  ] as const) {
    test(`${how}() then a top-level await join(): the program waits for the worker's exit`, async () => {
      // Three runs: the bug showed in about half of them.
      for (let i = 0; i < 3; i++) {
        const r = await runMain(how);
        assert.equal(
          r.status,
          0,
          `exit code ${r.status}; stdout: ${r.stdout}; stderr: ${r.stderr}`,
        );
        assert.equal(r.stdout, `joined ${code}\n`);
      }
    });
  }
});
