/**
 * Pipe's BrokenPipeError: `send` raises once every handle of the receiving end is closed, in
 * every process and thread (Python's EPIPE) — and not while a copy of it is open anywhere.
 * EOFError (the other direction of the same bookkeeping) is tested in shared.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  BrokenPipeError,
  type Connection,
  EOFError,
  Pipe,
  Process,
  Queue,
} from '../../src/multiprocessing/index.js';
import { OSError } from '../../src/socket/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  pipeCloseThenSpin,
  pipeReadFor,
  pipeRecvInto,
  pipeSendOne,
  pipeSendUntilBroken,
  pipeTakeAndEnd,
} from './fixtures/pipe-targets.js';

checkLeaks({ graceMs: 3000 });

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends 0, 1, 2, … every 2 ms until `send` raises (returned with how many went through) or
 * `ms` pass (null).
 */
async function sendUntilBroken(
  w: Connection,
  ms: number,
): Promise<{ error: unknown; sent: number } | null> {
  const end = performance.now() + ms;
  let sent = 0;
  while (performance.now() < end) {
    try {
      w.send(sent);
    } catch (error) {
      return { error, sent };
    }
    sent++;
    await pause(2);
  }
  return null;
}

/** Sends until `send` raises, for up to 10 s; asserts it raised BrokenPipeError; closes `w`. */
async function assertBreaks(w: Connection, why: string): Promise<void> {
  const res = await sendUntilBroken(w, 10_000);
  assert.ok(
    res?.error instanceof BrokenPipeError,
    `${why}: ${res === null ? 'no error within 10 s' : String(res.error)}`,
  );
  w.close();
}

describe('Pipe: BrokenPipeError', () => {
  test('send after the other end of a duplex Pipe is closed raises BrokenPipeError at once', async () => {
    const [a, b] = Pipe();
    b.close();
    let e: unknown;
    try {
      a.send(1);
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof BrokenPipeError, `BrokenPipeError: received ${String(e)}`);
    assert.ok(e instanceof OSError, 'an OSError, as in Python');
    assert.equal(e.errno, 32, 'errno EPIPE');
    assert.equal(e.errnoName, 'EPIPE');
    assert.equal(e.code, 'ERR_WEFT_BROKEN_PIPE');
    assert.match(e.message, /^Broken pipe: every handle of the receiving end .* is closed/);
    assert.throws(() => a.send(2), BrokenPipeError, 'and every send after');
    await assert.rejects(a.recv(), EOFError, 'the other direction is at EOF');
    a.close();
  });

  test('send after the reading end of a one-way Pipe is closed raises BrokenPipeError at once', () => {
    const [r, w] = Pipe(false);
    w.send('unread');
    r.close();
    assert.throws(() => w.send(1), BrokenPipeError);
    w.close();
  });

  test('send raises BrokenPipeError once a child that held the reading end has ended', async () => {
    // Python's idiom: the parent closes its copy right after start(); the child's copy is the
    // last one, and it ends with the child.
    const [r, w] = Pipe(false);
    const p = new Process({ target: pipeTakeAndEnd, args: [r] });
    p.start();
    r.close();
    w.send('before the child ended: kept while its copy is open');
    await p.join();
    assert.equal(p.exitcode, 0);
    await assertBreaks(w, 'send raises within 10 s of the end of the child');
  });

  test('a copy of the reading end still open here means no BrokenPipeError, as in Python', async () => {
    const [r, w] = Pipe(false);
    const p = new Process({ target: pipeTakeAndEnd, args: [r] });
    p.start();
    await p.join();
    // The child's copy is gone; ours is open: sends go through and are received, in order.
    assert.equal(await sendUntilBroken(w, 300), null, 'no error while our copy is open');
    const first = [await r.recv(), await r.recv(), await r.recv()];
    assert.deepEqual(first, [0, 1, 2]);
    r.close();
    await assertBreaks(w, 'then our close breaks it');
  });

  test('a reading end open in a child means no BrokenPipeError, and the child receives all', async () => {
    const [r, w] = Pipe(false);
    const out = new Queue<unknown>();
    const n = 50;
    const p = new Process({ target: pipeRecvInto, args: [r, n, out] });
    p.start();
    r.close();
    assert.equal(await out.get({ timeout: 30_000 }), 'ready');
    for (let i = 0; i < n; i++) {
      w.send(i);
      if (i % 10 === 9) await pause(20);
    }
    assert.deepEqual(await out.get({ timeout: 30_000 }), [...Array(n).keys()]);
    await p.join();
    assert.equal(p.exitcode, 0);
    await assertBreaks(w, 'broken once the child has ended');
  });

  test('a writer in a child raises BrokenPipeError once the parent closes the reading end', async () => {
    const [r, w] = Pipe(false);
    const ready = new Queue<unknown>();
    const out = new Queue<unknown>();
    const p = new Process({ target: pipeSendUntilBroken, args: [w, ready, out] });
    p.start();
    w.close();
    assert.equal(await ready.get({ timeout: 30_000 }), 'ready');
    assert.equal(await r.recv(), 0, 'the child sends while we read');
    r.close();
    const [name, sent] = (await out.get({ timeout: 30_000 })) as [string, number];
    assert.equal(name, 'BrokenPipeError');
    assert.ok(sent >= 1);
    await p.join();
    assert.equal(p.exitcode, 0);
  });

  test('send raises BrokenPipeError once a Thread that held the reading end has ended', async () => {
    const [r, w] = Pipe(false);
    const t = new Thread({ target: pipeTakeAndEnd, args: [r] });
    t.start();
    r.close();
    await t.join();
    await assertBreaks(w, 'broken once the Thread has ended');
  });

  test('a recv waiting when its handle is closed rejects instead of waiting for ever', async () => {
    const [r, w] = Pipe(false);
    const waiting = r.recv();
    await pause(50);
    r.close();
    await assert.rejects(waiting, EOFError);
    assert.throws(() => w.send(1), BrokenPipeError);
    w.close();
  });

  test('a reading end given to a thread-pool task cancelled before it ran does not stay open in the worker', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      await ex.submit(pipeCloseThenSpin, null, 1);
      const [r, w] = Pipe(false);
      // One batch of 16 tasks reaches the worker, which spends 1.5 s in the first.
      const fs = [ex.submit(pipeCloseThenSpin, null, 1500)];
      for (let i = 1; i < 16; i++) fs.push(ex.submit(pipeCloseThenSpin, i === 15 ? r : null, 1));
      await pause(300);
      assert.equal(fs[15]?.cancel(), true, 'cancelled before it ran');
      r.close();
      await assertBreaks(w, 'nobody can read: send raises');
      await Promise.allSettled(fs);
    } finally {
      await ex.shutdown();
    }
  });

  test("a recv waiting when its handle is closed does not take what the end's other handles get", async () => {
    const [r, w] = Pipe(false);
    const out = new Queue<unknown>();
    const p = new Process({ target: pipeReadFor, args: [r, 2000, out] });
    p.start();
    assert.equal(await out.get({ timeout: 30_000 }), 'ready');
    const pending = r.recv();
    await pause(100);
    r.close();
    await assert.rejects(pending, EOFError);
    for (let i = 0; i < 10; i++) w.send(i);
    assert.deepEqual(await out.get({ timeout: 30_000 }), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.join();
    w.close();
  });

  test('both ends of one Pipe in one queue item arrive connected', async () => {
    const [r, w] = Pipe(false);
    const q = new Queue<[Connection, Connection]>();
    q.putNowait([r, w]);
    const [r2, w2] = await q.get();
    w2.send('x');
    assert.equal(await r2.recv(), 'x');
    for (const c of [r, w, r2, w2]) c.close();
    q.close();
  });

  test('one end given to two pool tasks of one batch is two handles: one closing leaves the other', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      await ex.submit(pipeCloseThenSpin, null, 1); // the worker is up: calls go out at once
      const [r, w] = Pipe(false);
      // The worker is busy; the 15 calls queued behind it go out as one batch.
      const fs: PromiseLike<unknown>[] = [ex.submit(pipeCloseThenSpin, null, 300)];
      await pause(50);
      for (let i = 1; i < 16; i++) {
        if (i === 5) fs.push(ex.submit(pipeCloseThenSpin, w, 1));
        else if (i === 6) fs.push(ex.submit(pipeSendOne, w, 'hello'));
        else fs.push(ex.submit(pipeCloseThenSpin, null, 1));
      }
      await pause(50); // sent (encoded) before our own handle closes
      w.close();
      assert.equal(await r.recv(), 'hello', 'the second task sent on its own handle');
      assert.equal(await fs[6], 'sent');
      await assert.rejects(r.recv(), EOFError);
      r.close();
      await Promise.all(fs);
    } finally {
      await ex.shutdown();
    }
  });
});
