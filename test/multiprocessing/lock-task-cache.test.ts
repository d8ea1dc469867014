/**
 * lock.ts numbers the asyncio task that takes a Lock, with a one-entry cache of the
 * last task: an ended task (and its result) must not stay reachable from that cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, Worker } from 'node:worker_threads';
import { createTask, run } from '../../src/asyncio/index.js';
import { Event, Lock } from '../../src/multiprocessing/index.js';
import { collected, gc } from '../support/gc.js';

test('an ended task that took a Lock is collected, its result with it', async () => {
  const lock = new Lock();
  // A round trip: this thread's hello is with the broker, so the lock is taken in the slab.
  assert.equal(await new Event().wait({ timeout: 0 }), false);
  let taskRef: WeakRef<object> | null = null;
  let resultRef: WeakRef<object> | null = null;
  await run(async () => {
    const t = createTask(async () => {
      await lock.acquire();
      lock.release();
      const big = new Uint8Array(16 << 20);
      resultRef = new WeakRef(big);
      return big;
    });
    taskRef = new WeakRef(t);
    await t;
  });
  await collected(resultRef as unknown as WeakRef<object>, "the ended task's result");
  await collected(taskRef as unknown as WeakRef<object>, 'the ended task');
});

test('an ended task that took a Lock is not kept while the thread then sits idle', async () => {
  const lock = new Lock();
  assert.equal(await new Event().wait({ timeout: 0 }), false);
  // Another thread answers each ping 300 ms later. Its message comes in the poll phase of a turn,
  // before that turn's immediates: what it sees is what the idle time left.
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(
    `const { workerData: { port } } = require('node:worker_threads');
     port.on('message', () => setTimeout(() => port.postMessage(0), 300));`,
    { eval: true, workerData: { port: port2 }, transferList: [port2] },
  );
  let resultRef: WeakRef<object> | null = null;
  let collectedWhenWoken: boolean | null = null;
  let wake: (() => void) | null = null;
  port1.on('message', () => {
    if (resultRef !== null) {
      gc();
      collectedWhenWoken = resultRef.deref() === undefined;
    }
    wake?.();
  });
  const pong = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      port1.postMessage(0);
    });
  /** A task nobody awaits takes the lock and ends; its result is referenced from nowhere. */
  const startOne = (): void => {
    createTask(async () => {
      await lock.acquire();
      lock.release();
      const big = new Uint8Array(16 << 20);
      resultRef = new WeakRef(big);
      return big;
    });
  };
  try {
    await run(async () => {
      // Woken by a message, as a server by a request: this step runs where the loop runs tasks.
      await pong();
      startOne();
      await pong();
    });
  } finally {
    port1.close();
    await w.terminate();
  }
  assert.equal(collectedWhenWoken, true, "the ended task's result was still reachable");
});
