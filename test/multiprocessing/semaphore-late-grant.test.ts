/**
 * A Semaphore acquire withdrawn (its signal aborted) after the broker granted it and before the
 * grant reached the process: the permit goes back at the broker, as the withdrawal arrives
 * (broker.ts, 'cancel'), so a process killed before it could read the grant does not take that
 * permit with it. It held none: in Python an acquire that gives up did not get the permit.
 * The runner runs this file again with WEFT_LOCK_SLAB=0, where every call is the broker's.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Process, Semaphore } from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { until } from '../support/until.js';
import { withdrawLateAndDie } from './fixtures/semaphore-death-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

test('a process killed after withdrawing an acquire the broker had granted does not keep the permit', async () => {
  const sem = new Semaphore(0);
  // The child and this process signal each other with files in it (no addon needed).
  const dir = mkdtempSync(join(tmpdir(), 'weft-late-grant-'));
  const p = new Process({ target: withdrawLateAndDie, args: [sem, dir] });
  try {
    p.start();
    // Its acquire is parked, and it no longer reads.
    await until(
      () => existsSync(join(dir, 'parked')),
      'the child to park and stop reading',
      PATIENCE,
    );
    // Granted to the child: the grant waits in its socket.
    sem.release();
    await roundTrip();
    writeFileSync(join(dir, 'granted'), '');
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, -9);
    // The withdrawal left before the kill; the broker reads it in its own time.
    await until(() => sem.getValue() === 1, 'the permit to come back', PATIENCE);
    assert.equal(sem.getValue(), 1, 'the permit granted to the withdrawn acquire is back');
    assert.equal(await sem.acquire({ blocking: false }), true);
    if (slabExpected) assert.equal(slabWord(sem), 0, 'no WAITERS left');
  } finally {
    if (p.isAlive()) p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
