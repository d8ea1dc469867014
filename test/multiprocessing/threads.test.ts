/**
 * multiprocessing's objects used from threads of one process (and from a process pool's worker): every thread must reach the one
 * broker of the process, whichever thread used it first and whenever each thread was started.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  EOFError,
  JoinableQueue,
  Pipe,
  ProcessError,
  Queue,
} from '../../src/multiprocessing/index.js';
import { Queue as ThreadQueue } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  getInThread,
  getInto,
  makeQueueInThread,
  pipeSend,
  putFromThread,
  ready,
  recvAll,
  takeWithoutDone,
} from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('multiprocessing from threads', () => {
  // A worker started before anything in this process used the broker: its copy of the
  // environment will never name the broker.
  let early: ThreadPoolExecutor;
  before(async () => {
    assert.equal(process.env.WEFT_BROKER, undefined, 'this file must start with no broker');
    early = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.equal(await early.submit(ready).result(), true);
  });
  after(() => early.shutdown());

  test('a queue first made in a pool worker is the one the main thread sees, after the pool ends', async () => {
    // The worker claims the broker; the main thread starts it (a worker's would end with it).
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const q = (await ex.submit(makeQueueInThread).result()) as Queue<string>;
    await ex.shutdown();
    assert.equal(await q.get({ timeout: 10_000 }), 'made in a thread');
  });

  test('a worker started before the main thread used the broker shares its queues', async () => {
    const q = new Queue<string>();
    q.putNowait('from main');
    assert.equal(await early.submit(getInThread, q).result(), 'from main');
    await early.submit(putFromThread, q, 'from the early worker').result();
    assert.equal(await q.get({ timeout: 10_000 }), 'from the early worker');
  });

  test('what a process pool task put arrives though the pool shuts down right after', async () => {
    const q = new Queue<string>();
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    await ex.submit(putFromThread, q, 'from a pool process').result();
    await ex.shutdown();
    assert.equal(await q.get({ timeout: 10_000 }), 'from a pool process');
  });

  // The main thread parks (joinSync) right after its sends: they must leave before it parks.
  test('Pipe to a Thread: send, close, joinSync — the reader gets the item, then EOFError', async () => {
    const [r, w] = Pipe(false);
    const out = new ThreadQueue<unknown>();
    const t = new Thread({ target: recvAll, args: [r, out] });
    t.start();
    r.close();
    w.send('x');
    w.close();
    t.joinSync();
    assert.deepEqual(out.getSync({ timeout: 1000 }), ['x', 'EOF']);
  });

  test('Pipe from a Thread: our copy closed, joinSync — everything it sent, then EOFError', async () => {
    const [r, w] = Pipe(false);
    const t = new Thread({ target: pipeSend, args: [w, ['x', 'y']] });
    t.start();
    w.close();
    t.joinSync();
    assert.equal(await r.recv(), 'x');
    assert.equal(await r.recv(), 'y');
    assert.equal(await r.poll(5000), true, 'EOF within 5 s');
    await assert.rejects(r.recv(), EOFError);
    r.close();
  });

  test('a Queue put just before joinSync reaches the Thread waiting for it', async () => {
    const q = new Queue<string>();
    const out = new ThreadQueue<unknown>();
    const t = new Thread({ target: getInto, args: [q, out] });
    t.start();
    await q.put('x');
    t.joinSync();
    assert.equal(out.getSync({ timeout: 1000 }), 'x');
  });

  test('a Thread that took an item without taskDone is named by the failed join', async () => {
    const q = new JoinableQueue<number>();
    q.putNowait(1);
    const t = new Thread({ target: takeWithoutDone, args: [q] });
    t.start();
    await t.join();
    await assert.rejects(
      q.join({ timeout: 10_000 }),
      (e: Error) =>
        e instanceof ProcessError &&
        e.message.includes(`MainProcess, thread ${t.name}`) &&
        e.message.includes(`pid ${process.pid}`),
    );
  });

  test('pool tasks handed one queue share what the worker fetched of it (one handle a thread)', async () => {
    // Each task gets its own copy of its arguments: a second handle in the same worker would not
    // see the first one's prefetched items (they would wait, stranded, until the worker ended).
    const q = new Queue<number>();
    for (let i = 0; i < 5; i++) q.putNowait(i);
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const got: unknown[] = [];
      for (let i = 0; i < 3; i++) got.push(await ex.submit(getInThread, q).result());
      assert.deepEqual(got, [0, 1, 2]);
    } finally {
      await ex.shutdown();
    }
    assert.deepEqual([await q.get({ timeout: 5000 }), await q.get({ timeout: 5000 })], [3, 4]);
  });
});
