import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/queue/index.js';
import { Barrier, Lock, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';
import { cycleLink } from './fixtures/tasks.js';

checkLeaks();

test('a pending async wait keeps the process alive until it is woken', () => {
  const script = fileURLToPath(new URL('./fixtures/keepalive-main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', TS_IMPORT, script], {
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /woken=true/);
});

test('a wait-for cycle through three threads is reported, and the others then proceed', async () => {
  const locks = [new Lock(), new Lock(), new Lock()];
  const ready = new Barrier(3);
  const out = new Queue<string>();
  // Thread k holds lock k and wants lock k+1; the last to wait (largest pause) closes the cycle.
  const ts = [0, 1, 2].map(
    (k) =>
      new Thread({
        target: cycleLink,
        args: [locks[k]!, locks[(k + 1) % 3]!, ready, out, k * 100],
        name: `link-${k}`,
      }),
  );
  for (const t of ts) t.start();
  const results = [await out.get(), await out.get(), await out.get()];
  for (const t of ts) await t.join();
  assert.ok(results.includes('DeadlockError'), results.join(', '));
  assert.ok(results.includes('acquired'), results.join(', '));
  for (const l of locks) assert.equal(l.locked(), false);
});
