/**
 * What a call starts in a ProcessPoolExecutor's worker, as Python 3.11 has it (checked with
 * 3.11.2, `spawn` and `fork`):
 * - the worker is not daemonic, so a Process started there defaults to `daemon` false (Python's
 *   default is current_process().daemon), in a Thread of the worker too; a Thread started there
 *   defaults to false. weft's Process defaulted to true there, and a Thread of the worker said
 *   currentProcess().daemon true;
 * - the worker leaves through its process's exit (util._exit_function, then
 *   threading._shutdown): its daemon children are terminated, its non-daemon children and
 *   threads waited for, so shutdown({ wait: true }) returns after them. weft's worker exited at
 *   once: its non-daemon threads were cut off, its children orphaned (and, daemons by default,
 *   killed). A child's own exit waits for its non-daemon threads too (weft's did not);
 * - a worker replaced after maxTasksPerChild leaves the same way, and the executor counts it
 *   until it has (Python's manager thread even waits for it before handling other results; weft
 *   starts the replacement at once). A worker killed while it waits is gone: shutdown returns;
 * - a Pool's worker is daemonic (its Process default is true) and leaves the same way at close();
 *   it may start no child, as Python's (daemon-children.test.ts). terminate() ends a worker
 *   waiting for its threads.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { activeChildren, Pool, Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';
import { pendingAfter, settles } from '../support/settles.js';
import { until } from '../support/until.js';
import {
  defaults,
  leavesThreadThatStartsChild,
  poolWorkerStarts,
  startAll,
  startChild,
  workerPid,
} from './fixtures/executor-worker-children-targets.js';

checkLeaks({ graceMs: 3000 });

const dir = mkdtempSync(join(tmpdir(), 'weft-executor-children-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = (): string => join(dir, String(files++));
const lines = (path: string): string[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).sort() : [];

/**
 * Whether `p` is still unsettled after `ms`: a wait that releases nothing (what it waits for is
 * held until the test releases it), so it tells a shutdown that waits from one that does not.
 */
function stillWaits(p: Promise<unknown>, ms = 1500): Promise<boolean> {
  return pendingAfter(p, ms);
}

describe("what a call starts in a ProcessPoolExecutor's worker", () => {
  test('defaults to daemon false, and the shutdown waits for it (the daemon children terminated)', async () => {
    // Three releases, in turn: the child's note, the child's thread, the worker's thread.
    const releases = [fresh(), fresh(), fresh()];
    const releaseAll = (): void => {
      for (const r of releases) writeFileSync(r, '');
    };
    const out = fresh();
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    let shut: Promise<void> | null = null;
    try {
      assert.deepEqual(await ex.submit(defaults).result(), {
        current: false,
        process: false,
        thread: false,
      });
      const described = fresh();
      const r = await ex.submit(startAll, releases, out, described).result();
      assert.deepEqual(r.daemon, [false, true, false]);
      // A thread of the worker says the same (it took the process's flag from its start).
      await until(
        () => existsSync(described) && readFileSync(described, 'utf8').endsWith('}'),
        'the thread describing the process',
      );
      assert.deepEqual(JSON.parse(readFileSync(described, 'utf8')), {
        current: false,
        process: false,
      });
      const [child, daemon] = r.pids as [number, number];
      shut = ex.shutdown();
      assert.ok(await stillWaits(shut), 'shutdown waits for the non-daemon child and thread');
      // Python's order: the daemon child is terminated first, while the others are waited for.
      await until(() => !alive(daemon), 'the daemon grandchild terminated');
      assert.equal(alive(child), true);
      writeFileSync(releases[0] as string, '');
      await until(() => lines(out).includes('child'), "the child's note");
      // The child crashed; its own exit waits for its thread, as Python's.
      assert.ok(await stillWaits(shut), 'shutdown waits for the child');
      assert.equal(alive(child), true, "the child's exit waits for its thread");
      writeFileSync(releases[1] as string, '');
      await until(() => !alive(child), 'the end of the child');
      assert.ok(await stillWaits(shut), "shutdown waits for the worker's thread");
      writeFileSync(releases[2] as string, '');
      await settles(shut, 'shutdown once released');
      assert.deepEqual(lines(out), ['child', 'child-thread', 'thread']);
    } finally {
      releaseAll();
      await (shut ?? ex.shutdown());
    }
  });

  test('a worker replaced after maxTasksPerChild is counted until its child ends; killed, it is gone', async () => {
    const release = fresh();
    const out = fresh();
    const ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 1 });
    let shut: Promise<void> | null = null;
    try {
      const first = await ex.submit(startChild, release, out, 'replaced').result();
      assert.equal(first.daemon, false);
      // The replacement serves calls meanwhile (Python's executor would wait for the old one).
      const second = await ex.submit(workerPid).result();
      assert.notEqual(second, first.worker);
      assert.equal(alive(first.worker), true, 'the replaced worker waits for its child');
      shut = ex.shutdown();
      assert.ok(await stillWaits(shut), 'shutdown waits for the replaced worker');
      // Killing it (its Process object, as activeChildren() gives it) ends the wait.
      const w = activeChildren().find((p) => p.pid === first.worker);
      assert.ok(w !== undefined, 'the replaced worker is listed');
      w.kill();
      await settles(shut, 'shutdown once the waiting worker is killed');
      // Its child is an orphan now, no daemon: it runs on, as Python's.
      assert.equal(alive(first.child as number), true);
      writeFileSync(release, '');
      await until(() => lines(out).length === 1, "the orphan's note");
      assert.deepEqual(lines(out), ['replaced']);
    } finally {
      writeFileSync(release, '');
      await (shut ?? ex.shutdown());
    }
  });
});

describe("what a call starts in a Pool's worker", () => {
  test("defaults to daemon true; close() waits for the worker's threads, terminate() does not", async () => {
    const release = fresh();
    const out = fresh();
    const pool = new Pool(1);
    let joined: Promise<void> | null = null;
    try {
      assert.deepEqual(await pool.apply(poolWorkerStarts, [release, out]), {
        current: true,
        process: true,
      });
      const [pid] = pool.pids();
      pool.close();
      joined = pool.join();
      assert.ok(await stillWaits(joined), "join() waits for the worker's non-daemon thread");
      pool.terminate();
      await settles(joined, 'join() after terminate()');
      // The thread ended with its worker: the worker process is gone.
      assert.equal(alive(pid as number), false, 'the worker outlived terminate() and join()');
    } finally {
      writeFileSync(release, '');
      if (joined === null) {
        pool.terminate();
        await pool.join();
      }
    }
  });
});

describe("a child process's exit", () => {
  test('waits for a child that a non-daemon thread starts after the target returned (weft, not Python)', async () => {
    // Python's child joins its children (util._exit_function) before its threads
    // (threading._shutdown), and leaves a child started in between an orphan; weft's looks again
    // after the threads, since an orphan that has not booted yet would never run its target.
    const release = fresh();
    const out = fresh();
    const p = new Process({ target: leavesThreadThatStartsChild, args: [release, out, 'late'] });
    p.start();
    try {
      const joined = p.join();
      assert.ok(await stillWaits(joined, 3000), 'the exit waits for the late child');
      writeFileSync(release, '');
      await settles(joined, 'the exit once the late child has ended');
      assert.equal(p.exitcode, 0);
      assert.deepEqual(lines(out), ['late']);
    } finally {
      writeFileSync(release, '');
      if (p.isAlive()) p.kill();
    }
  });
});
