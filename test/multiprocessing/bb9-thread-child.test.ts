/**
 * A Process started from a weft Thread that ends without joining it belongs to the process, not
 * the thread, as Python's does (checked with 3.11.2 and 3.13, `fork` and `spawn`): it runs its
 * target, its parent is MainProcess, and the program waits for it at exit when it is no daemon.
 * weft's child took the closing of the thread's IPC channel for its parent's end and ran nothing
 * ("its parent (pid …) ended before it started its target").
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';
import { runScript } from '../support/run-script.js';
import { settles } from '../support/settles.js';
import { until } from '../support/until.js';
import { startAndLeave, startEchoAndLeave } from './fixtures/bb9-targets.js';

checkLeaks({ graceMs: 3000 });

describe('a Process started by a Thread that then ends', () => {
  for (const daemon of [false, true]) {
    test(`runs its target (daemon: ${daemon}), its parent MainProcess`, async () => {
      const q = new Queue<unknown>();
      const t = new Thread({ target: startAndLeave, args: [q, daemon] });
      t.start();
      await t.join();
      assert.equal(t.isAlive(), false);
      const got = (await q.get({ timeout: 60_000 })) as [string, string, string];
      q.close();
      assert.equal(got[0], 'ran');
      assert.match(got[1], /^Process-\d+$/);
      assert.equal(got[2], 'MainProcess');
    });
  }

  test("the thread's join() returns while its child runs on (which waits for what comes after)", async () => {
    // Regression (helper-146): join() waited for the thread's worker, which lives on for the
    // child: a child waiting for something the joiner sends after join() never got it.
    // Python: join() returns at once, is_alive() is False, the child then gets 'stop'.
    const inbox = new Queue<unknown>();
    const out = new Queue<unknown>();
    const t = new Thread({ target: startEchoAndLeave, args: [inbox, out] });
    t.start();
    await settles(t.join(), "the thread's join()", 30_000);
    assert.equal(t.isAlive(), false);
    await inbox.put('stop');
    assert.deepEqual(await out.get({ timeout: 60_000 }), ['got', 'stop']);
    inbox.close();
    out.close();
  });

  test('a non-daemon one keeps the program alive until it ends; a daemon one does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-bb9-'));
    try {
      const script = fileURLToPath(new URL('./fixtures/bb9-thread-child-main.ts', import.meta.url));
      const plain = join(dir, 'plain');
      const r = await runScript(script, [plain, 'plain']);
      assert.equal(r.status, 0, `stderr: ${r.stderr}`);
      assert.equal(r.stdout, 'thread ended, alive false\n');
      assert.equal(r.stderr, '');
      assert.ok(existsSync(plain), 'the non-daemon child ran to its end before the program exited');
      const daemon = join(dir, 'daemon');
      const d = await runScript(script, [daemon, 'daemon']);
      assert.equal(d.status, 0, `stderr: ${d.stderr}`);
      assert.equal(d.stderr, '');
      // Ended with the program (SIGTERM at its exit), as Python terminates daemon children at
      // exit: once it is gone, it has not written (left running, it would write, then end).
      const pid = Number(readFileSync(`${daemon}.pid`, 'utf8'));
      await until(() => !alive(pid), 'the daemon child to end', 30_000);
      assert.ok(!existsSync(daemon), 'the daemon child was ended with the program');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
