/**
 * SimpleQueue handles: a closed one cannot be sent to another process, as Python's (checked with
 * 3.11.2 and 3.13: `Process.start()` raises OSError "handle is closed" under `spawn`); and two
 * handles of one queue in one process are independent, closing one leaving the other working, as
 * Python's handles each have pipe ends of their own (Python cannot send a SimpleQueue, so it
 * cannot hold two in one process: weft's extension). weft sent a closed handle, which arrived open, and closing one
 * handle closed every handle of the queue in the thread (RuntimeError "Queue is closed").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OSError, Pipe, Process, Queue, SimpleQueue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { ignore } from './fixtures/bb9-targets.js';

checkLeaks({ graceMs: 3000 });

const closedQueue = (e: unknown): boolean =>
  e instanceof OSError && (e as OSError).code === 'ERR_WEFT_QUEUE_CLOSED';

describe('SimpleQueue handles', () => {
  test('a second handle in the same thread stays open when the first is closed', async () => {
    const q = new SimpleQueue<number>();
    const carrier = new Queue<unknown>();
    await carrier.put(q);
    const q2 = (await carrier.get({ timeout: 30_000 })) as SimpleQueue<number>;
    carrier.close();
    assert.notEqual(q2, q);
    await q.put(1);
    q.close();
    await assert.rejects(q.put(2), closedQueue);
    await q2.put(3);
    assert.equal(await q2.get(), 1);
    assert.equal(await q2.get(), 3);
    assert.equal(q2.empty(), true);
    q2.close();
    await assert.rejects(q2.get(), closedQueue);
  });

  test('a closed handle cannot be sent: Process.start() and Queue.put() raise OSError', async () => {
    const q = new SimpleQueue<unknown>();
    q.close();
    const p = new Process({ target: ignore, args: [q] });
    assert.throws(() => p.start(), closedQueue);
    assert.equal(p.pid, null, 'nothing was started');
    const carrier = new Queue<unknown>();
    await assert.rejects(carrier.put(q), closedQueue);
    carrier.close();
  });

  test('a closed Pipe end in the args: start() raises its OSError too', () => {
    const [a, b] = Pipe();
    a.close();
    const p = new Process({ target: ignore, args: [a] });
    assert.throws(() => p.start(), { name: 'OSError', code: 'ERR_WEFT_CONNECTION_CLOSED' });
    b.close();
  });
});
