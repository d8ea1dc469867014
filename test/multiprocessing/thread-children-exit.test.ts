/**
 * The process's exit waits for every non-daemon child and terminates every daemon one, whichever
 * thread started it, as Python's does (checked with 3.11.2, `spawn` and `fork`, the first three with
 * 3.13 too; the same programs, each child writing a file): a daemon Thread's child, a ThreadPoolExecutor
 * worker's, a thread's child in a child process. weft's exit saw only the main thread's own: such a
 * non-daemon child was left behind (it ran nothing when it had not started yet: "its parent
 * … ended before it started its target"), and a daemon one was SIGKILLed by its watchdog after
 * the program's end instead of getting SIGTERM at it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

const script = fileURLToPath(new URL('./fixtures/thread-children-exit-main.ts', import.meta.url));

/**
 * Two programs for the five cases (each program, thread and child boots weft: one program per
 * case cost the file a minute on a loaded machine), started at once; each test waits for its
 * own, which is killed after PER_RUN_MS, so a hang fails those tests, not the file.
 */
const PER_RUN_MS = 45_000;
interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  written: (name: string) => string | null;
}
const dirs: string[] = [];
function start(where: string): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-thread-children-'));
  dirs.push(dir);
  const run = runScript(script, [dir, where], PER_RUN_MS).then((r) => ({
    ...r,
    written: (name: string) => {
      const path = join(dir, name);
      return existsSync(path) ? readFileSync(path, 'utf8') : null;
    },
  }));
  // Awaited by the tests; a spawn failure must not be an unhandled rejection meanwhile.
  run.catch(() => {});
  return run;
}
const here = start('here');
const inChild = start('in-child');
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function settled(run: Promise<Outcome>, stdout: string): Promise<Outcome> {
  const r = await run;
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, stdout);
  return r;
}

test('a non-daemon child of a daemon Thread is waited for at exit', async () => {
  const r = await settled(here, 'main end\n');
  assert.equal(r.written('daemon-thread'), 'written', 'the child ran to its end before the exit');
});

test("a non-daemon child of a ThreadPoolExecutor's worker is waited for at exit", async () => {
  const r = await settled(here, 'main end\n');
  assert.equal(r.written('executor'), 'written', 'the child ran to its end before the exit');
});

test("a Thread's daemon child gets SIGTERM at exit, and its handler runs", async () => {
  const r = await settled(here, 'main end\n');
  assert.equal(r.written('daemon-child'), 'term', 'the daemon child heard SIGTERM before the end');
});

for (const kind of ['child-thread', 'child-executor']) {
  test(`a child process waits for its threads' non-daemon children (${kind})`, async () => {
    const r = await settled(inChild, 'child exitcode 0\nmain end\n');
    assert.equal(
      r.written(kind),
      'written',
      "the grandchild ran to its end before the child's exit",
    );
  });
}
