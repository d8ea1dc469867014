/**
 * A ProcessPoolExecutor's workers are not daemonic in Python 3.11 (checked with 3.11.2, `fork`
 * and `spawn`: `active_children()` lists `ForkProcess-1`/`SpawnProcess-1` with `daemon` False),
 * while a Pool's are. weft's said `daemon` true for both. To the parent's exit the flag changes
 * nothing: the executor still ends its workers (shutdown, or the process's end when it was never
 * shut down), and the exit neither waits for them nor terminates them as it does Processes.
 * Inside the worker, currentProcess().daemon says the same in every thread, and so does the
 * default `daemon` of a Process started there (Python 3.11: False in an executor's worker, True
 * in a Pool's; weft's said true in both); what a worker's end waits for is
 * executor-worker-children.test.ts's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { activeChildren, Pool, type Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runScript } from '../support/run-script.js';
import { ownDaemon, same } from './fixtures/executor-targets.js';

checkLeaks({ graceMs: 3000 });

const script = fileURLToPath(new URL('./fixtures/executor-exit-main.ts', import.meta.url));
const PER_RUN_MS = 50_000;
// Started at once, side by side (each boots weft in several processes).
const runs = new Map(
  ['main', 'in-child'].map((w) => {
    const r = runScript(script, [w], PER_RUN_MS);
    r.catch(() => {});
    return [w, r] as const;
  }),
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a ProcessPoolExecutor's workers", () => {
  test("are listed with daemon false, as Python 3.11 lists them; a Pool's with daemon true", async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const pool = new Pool(1);
    try {
      assert.equal(await ex.submit(same, 1).result(), 1);
      assert.equal(await pool.apply(same, [2]), 2);
      const [exPid] = ex._pids();
      const listed = activeChildren();
      const w = listed.find((p) => p.pid === exPid) as Process;
      assert.ok(w !== undefined, 'the executor worker is listed');
      assert.equal(w.daemon, false);
      assert.doesNotMatch(String(w), / daemon>$/);
      const poolWorkers = listed.filter((p) => p.pid !== exPid);
      assert.equal(poolWorkers.length, 1, "the Pool's worker is listed");
      assert.equal((poolWorkers[0] as Process).daemon, true);
    } finally {
      await ex.shutdown();
      pool.terminate();
      await pool.join();
    }
    assert.deepEqual(activeChildren(), [], 'shutdown still ends the workers');
  });

  test("say daemon false of themselves, as Python 3.11's; a Pool's say true", async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const pool = new Pool(1);
    try {
      assert.equal(await ex.submit(ownDaemon).result(), false);
      assert.equal(await pool.apply(ownDaemon), true);
    } finally {
      await ex.shutdown();
      pool.terminate();
      await pool.join();
    }
  });

  for (const where of ['main', 'in-child']) {
    test(`one never shut down still ends with the process (${where})`, async () => {
      const r = await (runs.get(where) as Promise<Awaited<ReturnType<typeof runScript>>>);
      assert.equal(r.status, 0, `stderr: ${r.stderr}`);
      assert.equal(r.stderr, '');
      const lines = r.stdout.split('\n');
      const m = /^(\d+) (true|false)$/.exec(lines[0] ?? '');
      assert.ok(m, `stdout: ${r.stdout}`);
      assert.equal(m[2], 'false');
      assert.deepEqual(lines.slice(1), [
        ...(where === 'in-child' ? ['child exitcode 0'] : []),
        'end',
        '',
      ]);
      // The worker ends with its process (its watchdog, at most a poll later).
      const pid = Number(m[1]);
      const deadline = Date.now() + 20_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(pid), false, 'the worker has ended');
    });
  }
});
