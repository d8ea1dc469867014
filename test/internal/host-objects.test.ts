/**
 * Node's host objects that a thread receives whole but a child process would receive as an empty
 * object (Node's channel serializer copies a host object's own fields; on Node 22 v8.serialize
 * does the same for a Blob): refused where they are sent, never delivered as `{}`.
 */
import assert from 'node:assert/strict';
import { generateKeySync } from 'node:crypto';
import { SocketAddress } from 'node:net';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import { NotCloneableError } from '../../src/internal/serialize.js';
import { Pipe, Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { describeArg, makeBlob, reportArg } from './fixtures/host-targets.js';

checkLeaks({ graceMs: 3000 });

describe('host objects sent to another process', () => {
  test('a Blob in a Process argument is refused at start(), and no child is started', async () => {
    const q = new Queue<string>();
    try {
      const p = new Process({ target: reportArg, args: [new Blob(['hello']), q] });
      assert.throws(
        () => p.start(),
        (e: unknown) =>
          e instanceof TypeError &&
          e.cause instanceof NotCloneableError &&
          /a Blob cannot be sent .* empty object.*arrayBuffer/.test(e.message),
      );
      assert.equal(p.pid, null);
      // The bytes of the Blob, sent instead, arrive.
      const bytes = new Uint8Array(await new Blob(['hello']).arrayBuffer());
      const ok = new Process({ target: reportArg, args: [bytes, q] });
      ok.start();
      assert.match(await q.get({ timeout: 30_000 }), /^Uint8Array /);
      await ok.join();
      assert.equal(ok.exitcode, 0);
    } finally {
      q.close();
    }
  });

  test('a Blob, a KeyObject or a SocketAddress put on a multiprocessing Queue or sent on a Pipe is refused', async () => {
    const q = new Queue<unknown>();
    const [a, b] = Pipe();
    try {
      for (const v of [
        new Blob(['x']),
        new File(['x'], 'f.txt'),
        generateKeySync('hmac', { length: 64 }),
        new SocketAddress({ address: '127.0.0.1', port: 80 }),
      ]) {
        await assert.rejects(q.put({ nested: [v] }), NotCloneableError, String(v));
        assert.throws(() => a.send(v), NotCloneableError, String(v));
      }
      // Nothing was half-sent: what follows arrives, first.
      await q.put('after');
      assert.equal(await q.get({ timeout: 30_000 }), 'after');
      a.send('after');
      assert.equal(await b.recv(), 'after');
    } finally {
      a.close();
      b.close();
      q.close();
    }
  });

  test('a process pool refuses a Blob argument and a Blob result; a thread pool carries both whole', async () => {
    const px = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      await assert.rejects(px.submit(describeArg, new Blob(['hi'])).result(), NotCloneableError);
      await assert.rejects(px.submit(makeBlob).result(), NotCloneableError);
      // The worker lives on, and the call after them runs.
      assert.equal(await px.submit(describeArg, 7).result(), 'number');
    } finally {
      await px.shutdown();
    }
    const tx = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      assert.equal(await tx.submit(describeArg, new Blob(['hi'])).result(), 'Blob 2 hi');
      const made = await tx.submit(makeBlob).result();
      assert.ok(made instanceof Blob);
      assert.equal(await made.text(), 'made');
    } finally {
      await tx.shutdown();
    }
  });

  test('ProcessPoolExecutor refuses a Blob in initargs at construction', () => {
    assert.throws(
      () =>
        new ProcessPoolExecutor({
          maxWorkers: 1,
          initializer: describeArg,
          initargs: [new Blob(['x'])],
        }),
      NotCloneableError,
    );
  });
});
