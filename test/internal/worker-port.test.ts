/**
 * weft's messages from a worker travel on weft's port (worker/protocol.ts), never on the worker's
 * parentPort, and the parent reads that port to the end at the worker's exit, before its 'exit'
 * listeners run.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { slabPathOf } from '../../src/internal/process/lock-slab.js';
import type { WorkerMessage } from '../../src/internal/worker/protocol.js';
import { spawnWorker } from '../../src/internal/worker/spawn.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test("the broker thread's 'listening' comes on weft's port, nothing on parentPort", async () => {
  const path = join(tmpdir(), `weft-port-${process.pid}.sock`);
  const role = new URL('../../src/internal/process/broker-thread.ts', import.meta.url).href;
  const onParentPort: unknown[] = [];
  let w: ReturnType<typeof spawnWorker> | undefined;
  try {
    const m = await new Promise<WorkerMessage>((resolve, reject) => {
      w = spawnWorker({ role, payload: { path }, name: 'weft-broker-test', onMessage: resolve });
      w.on('message', (x) => onParentPort.push(x));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`the broker thread exited (${code})`)));
    });
    assert.deepEqual(m, { type: 'result', value: 'listening' });
    assert.deepEqual(onParentPort, []);
  } finally {
    await w?.terminate();
    for (const f of [path, slabPathOf(path)]) rmSync(f, { force: true });
  }
});

test("a worker's start data it cannot read is told on weft's port before 'exit' is heard", async () => {
  // The bootstrap's 'startUnreadable' (a payload nested deeper than a 512 KiB stack can read),
  // while this thread is busy until the worker has surely exited: the port is read at 'exit'.
  let o: unknown = {};
  for (let i = 0; i < 2000; i++) o = { o };
  const order: string[] = [];
  const role = new URL('../../src/internal/process/broker-thread.ts', import.meta.url).href;
  const w = spawnWorker({
    role,
    payload: o,
    name: 'weft-unreadable-start',
    resourceLimits: { stackSizeMb: 0.5 },
    onMessage: (m) => order.push(m.type),
    onUnreadable: () => order.push('unreadable'),
  });
  const exited = new Promise<number>((resolve) => w.once('exit', resolve));
  w.once('exit', () => order.push('exit'));
  const until = Date.now() + 1500;
  while (Date.now() < until);
  assert.equal(await exited, 1);
  assert.deepEqual(order, ['startUnreadable', 'exit']);
});
