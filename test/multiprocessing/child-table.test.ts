/**
 * The process-wide child table (src/multiprocessing/child-table.ts) frees its slots. A thread's
 * children are joined (non-daemon) or terminated (daemon) at the process's exit, as Python's
 * are, through the table; a slot whose owner thread is gone (an orphan) must still be freed once
 * its child ends, or the table fills up and the exit stops seeing the children of threads.
 * Before 2026-12-06: a ThreadPoolExecutor worker ended by a forced cancellation (or out of
 * memory: Node runs no exit code in it) never marked its child's slot orphan, so the slot leaked
 * (Linux) or made the exit wait for ever (elsewhere); and orphans' slots were freed only at the
 * process's end, so 1024 of them turned the table off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import { WeftError } from '../../src/internal/errors.js';
import { awaitOthersNonDaemon, processEnded } from '../../src/multiprocessing/child-table.js';
import { tablePids } from '../support/child-table.js';
import { runScript } from '../support/run-script.js';
import { TS_IMPORT } from '../support/ts.js';
import { until } from '../support/until.js';
import { startSleeperAndHang } from './fixtures/thread-children-targets.js';

const script = fileURLToPath(new URL('./fixtures/child-table-main.ts', import.meta.url));

test("a force-cancelled worker's child gives its slot back once it ends (Linux)", {
  skip: process.platform !== 'linux' && 'reads /proc',
}, async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const before = new Set(tablePids());
    const f = ex.submit(startSleeperAndHang, 300);
    let pid = 0;
    await until(() => {
      pid = tablePids().find((p) => !before.has(p)) ?? 0;
      return pid !== 0;
    }, 'the child in the table');
    assert.equal(f.cancel({ force: true }), true);
    await until(() => processEnded(pid), 'the child to end');
    // The table is looked at (and orphans' ended children freed) when a thread starts a child
    // and at the process's end; this is what the end runs.
    await until(() => {
      void awaitOthersNonDaemon();
      return !tablePids().includes(pid);
    }, 'the slot to be freed');
  } finally {
    await ex.shutdown();
  }
});

test("where an orphan cannot be watched, the program's exit does not wait for it", async () => {
  // Killed after 40 s: before, it polled for the orphan for ever.
  const r = spawnSync(process.execPath, ['--import', TS_IMPORT, script, 'forced'], {
    encoding: 'utf8',
    timeout: 40_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, FAKE_PLATFORM: 'darwin' },
  });
  assert.equal(r.status, 0, `the program ended (stderr: ${r.stderr})`);
  assert.equal(r.stdout, 'main end\n');
});

test("a table full of ended orphans still takes a thread's child, which the exit waits for", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-child-table-'));
  try {
    const path = join(dir, 'out');
    const r = await runScript(script, ['full', path], 40_000);
    assert.equal(r.status, 0, `stderr: ${r.stderr}`);
    assert.equal(r.stdout, 'main end\n');
    assert.equal(existsSync(path) && readFileSync(path, 'utf8'), 'written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a world made by another build of weft is refused with a typed error', async () => {
  const key = Symbol.for('weft.world');
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const real = holder[key];
  const small = new SharedArrayBuffer(64);
  holder[key] = { sab: small, i32: new Int32Array(small), u16: new Uint16Array(small) };
  try {
    // Another instance of the module (a URL of its own), as a second build of weft would load.
    const other = new URL('../../src/internal/shm/world.ts?other-build', import.meta.url).href;
    await assert.rejects(import(other), (e: unknown) => {
      assert.ok(e instanceof WeftError);
      assert.equal(e.code, 'ERR_WEFT_WORLD_MISMATCH');
      assert.match(e.message, /another build of weft/);
      return true;
    });
  } finally {
    holder[key] = real;
  }
});
