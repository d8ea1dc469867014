/**
 * A ThreadPoolExecutor's threads as Python 3.9+'s (checked with 3.11.2, `spawn`): not daemonic,
 * and waited for at the exit.
 * - Inside a call `currentThread().daemon` is false, and a Thread started there defaults to
 *   `daemon` false; enumerate() says the worker is not a daemon. weft's workers were daemons.
 * - Python's exit runs concurrent.futures.thread._python_exit before it joins the non-daemon
 *   threads (threading._shutdown): every executor not shut down is, its calls — the queued ones
 *   too — run to the end, and then the non-daemon threads they started are joined. So a root
 *   program, a child process whose run() returns and a ProcessPoolExecutor's worker ended by
 *   shutdown() all wait for the calls left running (also those of an executor shut down with
 *   `wait: false`) and for the Threads those started. weft's root program waited for the calls
 *   but cut the Threads off; a child and a pool's worker cut both off. An idle executor of a
 *   daemon Thread that never ends keeps nothing waiting (Python's idle workers are woken and end).
 * - The root's end (its loop running dry) neither shuts an executor down under asyncio's run()
 *   or gevent's LoopExit, which resume the program there, nor lets an endless lazy map submit
 *   for ever (helper-189's review: the three failed or hung).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import { enumerate } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runScript } from '../support/run-script.js';
import { flags, leaveNested } from './fixtures/thread-pool-exit-targets.js';

checkLeaks({ graceMs: 3000 });

const dir = mkdtempSync(join(tmpdir(), 'weft-thread-pool-exit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("a ThreadPoolExecutor's threads", () => {
  test('are not daemons: in a call, and for a Thread started there', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: 'undaemonic' });
    assert.deepEqual(await ex.submit(flags).result(), { current: false, thread: false });
    const worker = enumerate().find((t) => t.name === 'undaemonic_0');
    assert.ok(worker, 'the worker listed');
    assert.equal(worker.daemon, false);
  });

  test('the exits wait for the calls left running and the Threads they started', async () => {
    const log = join(dir, 'exit.log');
    writeFileSync(log, '');
    const script = fileURLToPath(new URL('./fixtures/thread-pool-exit-main.ts', import.meta.url));
    const r = await runScript(script, [log], 90_000);
    assert.equal(r.status, 0, `stderr: ${r.stderr}`);
    assert.equal(r.stderr, '');
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const at = (tag: string): number => {
      const k = lines.indexOf(tag);
      assert.ok(k >= 0, `${tag} in the log: ${lines.join(', ')}`);
      return k;
    };
    const left = ['thread', 'queued-0', 'queued-1', 'nowait'];
    // A ProcessPoolExecutor's worker ended by shutdown(): shutdown returns after them.
    for (const t of left) assert.ok(at(`ppe-${t}`) < at('ppe-shutdown'), `ppe-${t}: ${lines}`);
    // A child whose run() returns; its daemon Thread's idle executor holds nothing.
    for (const t of left)
      assert.ok(at(`child-${t}`) < at('child-joined 0'), `child-${t}: ${lines}`);
    assert.ok(at('daemon-call') < at('child-returned'));
    // The root program, whose main module returns.
    for (const t of left) assert.ok(at(`root-${t}`) > at('root-returned'), `root-${t}: ${lines}`);
    // A queued call that starts a child once the worker's end has begun: waited for too.
    for (const t of ['late-busy', 'late-child'])
      assert.ok(at(t) < at('late-shutdown'), `${t}: ${lines}`);
    assert.equal(lines.length, 3 * (left.length + 1) + 3 + 3, lines.join(', '));
  });

  test("a call's own executor: its worker's end waits for that executor's calls", async () => {
    const log = join(dir, 'nested.log');
    writeFileSync(log, '');
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    await ex.submit(leaveNested, log, 'nested-call').result();
    await ex.shutdown({ wait: true });
    assert.equal(readFileSync(log, 'utf8'), 'nested-call\n');
  });

  // The root's end shuts the executors down: not while asyncio's run() or gevent's LoopExit
  // resumes the program there, and without making an endless map submit for ever.
  const resume = fileURLToPath(new URL('./fixtures/thread-pool-exit-resume.ts', import.meta.url));
  const expected: Record<string, string[]> = {
    map: ['first 0'],
    asyncio: ['before 2', 'caught DeadlockError', 'after 4'],
    gevent: ['before 2', 'caught LoopExit', 'after 4'],
  };
  for (const [mode, out] of Object.entries(expected)) {
    test(`the root's end, ${mode}`, async () => {
      const r = await runScript(resume, [mode], 60_000);
      assert.equal(r.status, 0, `status ${r.status}, stderr: ${r.stderr}`);
      assert.deepEqual(r.stdout.split('\n').filter(Boolean), out);
    });
  }
});
