/**
 * A child's set over WAITERS before its connection to the broker is made (it never
 * yielded), then synchronous work: FLAG is in the slab at once (isSet sees it), and the
 * waiters parked at the broker must be told at once too, not when the child first yields.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Event, Process } from '../../src/multiprocessing/index.js';
import { setThenCompute, yieldSetThenCompute } from './fixtures/event-race-targets.js';

/**
 * The child spins until the parent has seen its waiter woken (a file written then), for at most
 * 60 s; the waiter's own limit is 30 s. A set that waited for the child's first yield would
 * leave the waiter to time out (false) while the child spins.
 */
async function wakesWhileChildComputes(
  target: typeof setThenCompute | typeof yieldSetThenCompute,
): Promise<void> {
  const ev = new Event();
  const w = ev.wait({ timeout: 30_000 });
  await new Event().wait({ timeout: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'weft-event-'));
  const stop = join(dir, 'stop');
  const p = new Process({ target: target as typeof setThenCompute, args: [ev, stop, 60_000] });
  p.start();
  const got = await w;
  writeFileSync(stop, '');
  await p.join();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(got, true, 'the parked waiter was woken while the child was still computing');
  assert.equal(p.exitcode, 0);
}

test("a child's set before it ever yielded, then synchronous work: the parked waiter wakes during it", () =>
  wakesWhileChildComputes(setThenCompute));
test("a child's set after a yield, then synchronous work: the parked waiter wakes during it", () =>
  wakesWhileChildComputes(yieldSetThenCompute));
