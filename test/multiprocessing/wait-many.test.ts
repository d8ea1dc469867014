/**
 * `wait()` on many objects at once. It gave every object a listener on one internal signal, so
 * from the eleventh Node printed a MaxListenersExceededWarning (Python's `wait` takes any number
 * of objects). It must also leave no listener behind on the caller's signal, however it ends:
 * an object ready, a timeout, or the signal (a task's cancellation) aborted.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { createTask, sleep } from '../../src/asyncio/index.js';
import { currentTaskSignal } from '../../src/internal/context.js';
import { type Connection, Pipe, Process, wait } from '../../src/multiprocessing/index.js';
import { AF_INET, SOCK_STREAM, Socket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { sleepMs } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

const N = 50;
/**
 * Processes are few: past the ten listeners at which Node warns, and no more, as each is a
 * Node start (fifty took minutes on a loaded machine and once ran out the test's time).
 */
const PROCS = 12;

/** The warnings Node emits while `body` runs (and the turns after it, where Node emits them). */
async function warningsDuring(body: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error): void => void seen.push(w);
  process.on('warning', onWarning);
  try {
    await body();
    // Node emits a warning on a later tick than the listener's addition.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

const listeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length;

describe('wait() on 50 Connections', () => {
  let pipes: Array<[Connection, Connection]> = [];
  before(() => {
    pipes = Array.from({ length: N }, () => Pipe());
  });
  after(() => {
    for (const [a, b] of pipes) {
      a.close();
      b.close();
    }
  });

  test('no warning: a timeout, then one ready among 50, then an aborted signal', async () => {
    const readers = pipes.map(([r]) => r);
    const ac = new AbortController();
    const before = listeners(ac.signal);
    const warnings = await warningsDuring(async () => {
      assert.deepEqual(await wait(readers, { timeout: 50, signal: ac.signal }), []);
      assert.equal(listeners(ac.signal), before);

      const waiting = wait(readers, { signal: ac.signal });
      pipes[37]![1].send('hello');
      assert.deepEqual(await waiting, [readers[37]]);
      assert.equal(listeners(ac.signal), before);
      assert.equal(await readers[37]!.recv(), 'hello');

      const aborted = wait(readers, { signal: ac.signal });
      const reason = new Error('stop');
      setTimeout(() => ac.abort(reason), 20);
      await assert.rejects(aborted, (e) => e === reason);
      assert.equal(listeners(ac.signal), before);
    });
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
    );
  });

  test("with 50 listening sockets: no warning, no listener left on the task's signal when the task is cancelled", async () => {
    const sockets = Array.from({ length: N }, () => new Socket(AF_INET, SOCK_STREAM));
    for (const s of sockets) {
      s.bind(['127.0.0.1', 0]);
      await s.listen();
    }
    // Closed here, not in an after() hook: the leak check runs after each test, and on Node's
    // net (WEFT_SOCKET_TRANSPORT=net, or no weft_io addon) a listening socket is a Node handle it
    // counts.
    try {
      const readers = [...pipes.map(([r]) => r), ...sockets];
      let taskSignal: AbortSignal | null = null;
      let count = -1;
      let waited = false;
      const warnings = await warningsDuring(async () => {
        const t = createTask(async () => {
          taskSignal = currentTaskSignal();
          count = taskSignal === null ? -1 : listeners(taskSignal);
          // A whole wait first, so that the warning is looked for whatever the load: the cancel
          // below may come before the second wait has watched every socket.
          assert.deepEqual(await wait(readers, { timeout: 30 }), []);
          waited = true;
          await wait(readers);
        });
        while (!waited && !t.done()) await sleep(10);
        await sleep(50);
        t.cancel();
        await assert.rejects(t, (e: Error) => e.name === 'CancelledError');
      });
      assert.deepEqual(
        warnings.map((w) => `${w.name}: ${w.message}`),
        [],
      );
      assert.ok(taskSignal !== null, "wait ran inside the task, with the task's signal");
      assert.equal(listeners(taskSignal), count);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

describe(`wait() on ${PROCS} Processes`, () => {
  test('no warning while they run (timeout) and once one has ended; no listener left', async () => {
    const procs = Array.from(
      { length: PROCS },
      () => new Process({ target: sleepMs, args: [120_000] }),
    );
    for (const p of procs) p.start();
    try {
      const ac = new AbortController();
      const before = listeners(ac.signal);
      const warnings = await warningsDuring(async () => {
        // Each sleeps two minutes: none has ended.
        assert.deepEqual(await wait(procs, { timeout: 50, signal: ac.signal }), []);
        assert.equal(listeners(ac.signal), before);
        const waiting = wait(procs, { signal: ac.signal });
        // Ended by a signal, so the wait does not hang on how long 50 children take to boot.
        procs[7]!.terminate();
        assert.deepEqual(await waiting, [procs[7]]);
        assert.equal(listeners(ac.signal), before);
      });
      assert.deepEqual(
        warnings.map((w) => `${w.name}: ${w.message}`),
        [],
      );
    } finally {
      for (const p of procs) if (p.exitcode === null) p.terminate();
      for (const p of procs) await p.join();
    }
  });
});
