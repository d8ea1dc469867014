/**
 * The sync mailbox on its own, against small eval'd threads that play the client thread: a
 * reply wakes the parked caller, a stale reply is skipped, a crash is reported instead of a hang.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, Worker } from 'node:worker_threads';
import {
  CRASHED,
  call,
  crashed,
  LAYOUT,
  MAILBOX_BYTES,
  MailboxCrashed,
  RUNNING,
} from '../../../src/internal/process/sync-mailbox.js';
import { checkLeaks } from '../../support/leaks.js';

checkLeaks();

/** Starts a thread running `body` with `port`, `a` (the mailbox) and `L` (its layout) in scope. */
function playClient(body: string): { a: Int32Array; port: MessageChannel['port1']; w: Worker } {
  const sab = new SharedArrayBuffer(MAILBOX_BYTES);
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(
    `const { workerData: d } = require('node:worker_threads');
     const a = new Int32Array(d.sab), L = d.layout, port = d.port;
     const wake = () => { Atomics.add(a, L.SEQ, 1); Atomics.notify(a, L.SEQ); };
     Atomics.store(a, L.STATE, L.RUNNING);
     ${body}`,
    { eval: true, workerData: { sab, layout: LAYOUT, port: port2 }, transferList: [port2] },
  );
  return { a: new Int32Array(sab), port: port1, w };
}

test('call parks until the reply is posted, skipping a stale one', async () => {
  const { a, port, w } = playClient(`
    port.on('message', (m) => {
      port.postMessage({ r: m.r - 1, v: 'stale' });
      wake();
      setTimeout(() => { port.postMessage({ r: m.r, v: m.v * 2 }); wake(); }, 50);
    });`);
  const got = call(a, port, { r: 7, v: 21 }, (m) => (m as { r: number }).r === 7);
  assert.deepEqual(got, { r: 7, v: 42 });
  assert.equal(Atomics.load(a, LAYOUT.STATE), RUNNING);
  port.close();
  await w.terminate();
});

test('a client thread that crashes wakes the caller with MailboxCrashed', async () => {
  const { a, port, w } = playClient(`
    port.on('message', () => { Atomics.store(a, L.STATE, L.CRASHED); wake(); });`);
  assert.throws(() => call(a, port, { r: 1 }, () => true), MailboxCrashed);
  assert.equal(crashed(a), true);
  assert.equal(Atomics.load(a, LAYOUT.STATE), CRASHED);
  port.close();
  await w.terminate();
});
