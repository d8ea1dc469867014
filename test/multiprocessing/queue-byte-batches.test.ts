/**
 * Batches of KiB-sized items that the broker hands a getter straight from its bytes (src/
 * internal/process/broker-batch.ts). What that could break across processes: the items' order,
 * class and bytes among numbers and items it does not write so (a batch stops before them), a
 * deep backlog in the broker's off-heap log, a getter killed holding part of a lent batch (the
 * rest comes back, in order, nothing lost), and a JoinableQueue's count of items taken.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JoinableQueue, Pipe, Process, Queue } from '../../src/multiprocessing/index.js';
import { takeAndMarkDone, takeSomeThenHang } from './fixtures/byte-batch-targets.js';

/** Item `i` of a stream: mostly 1 KiB buffers, some other forms between them. */
function item(i: number): unknown {
  switch (i % 13) {
    case 5:
      return i;
    case 7:
      return { i, s: 'ÿ'.repeat(i % 5) };
    case 9:
      return new Float64Array([i, -0.5]);
    case 11:
      return new Uint8Array(70 * 1024).fill(i & 0xff); // past 64 KiB: its own copy, not bytes
    case 12:
      return `text ${i} \u0100`;
    default:
      return Buffer.alloc(i % 3 === 0 ? 0 : 1024 + (i % 7), i & 0xff);
  }
}

describe('queue batches written from the bytes the broker holds', () => {
  test('a deep backlog of mixed items comes back in order, each of its class', async () => {
    const q = new Queue<unknown>();
    try {
      const n = 3000;
      for (let i = 0; i < n; i++) q.putNowait(item(i));
      // Every item reached the broker before the first get: most wait in its log.
      await q.joinThread();
      for (let i = 0; i < n; i++) assert.deepStrictEqual(await q.get({ timeout: 60_000 }), item(i));
      assert.equal(q.qsize(), 0);
    } finally {
      q.close();
    }
  });

  test('a getter killed holding part of a lent batch: the rest comes back, in order', async () => {
    const q = new Queue<unknown>();
    const out = new Queue<unknown>();
    const [mine, theirs] = Pipe();
    try {
      const n = 200;
      const put = Array.from({ length: n }, (_, i) => Buffer.alloc(1024, i & 0xff));
      for (const x of put) q.putNowait(x);
      await q.joinThread();
      const k = 5;
      const p = new Process({ target: takeSomeThenHang, args: [q, out, k, theirs] });
      p.start();
      theirs.close();
      assert.equal(await mine.recv(), 'took');
      p.kill();
      await p.join({ timeout: 60_000 });
      const took: unknown[] = [];
      for (let i = 0; i < k; i++) took.push(await out.get({ timeout: 60_000 }));
      assert.deepStrictEqual(took, put.slice(0, k));
      // What comes back starts at most at the first item it did not take (one it took and had
      // not said so comes back too: a repeat, not a loss), and holds all the rest, in order.
      const first = (await q.get({ timeout: 60_000 })) as Buffer;
      const j = put.findIndex((x) => x.equals(first));
      assert.ok(j >= 0 && j <= k, `the first item back is item ${j}`);
      const rest: unknown[] = [first];
      for (let i = j + 1; i < n; i++) rest.push(await q.get({ timeout: 60_000 }));
      assert.deepStrictEqual(rest, put.slice(j));
      assert.equal(q.qsize(), 0);
    } finally {
      mine.close();
      q.close();
      out.close();
    }
  });

  test('a JoinableQueue with prefetch: every item is taken once and join() sees them done', async () => {
    const jq = new JoinableQueue<unknown>(0, { prefetch: 64 });
    const out = new Queue<unknown>();
    try {
      const n = 1000;
      for (let i = 0; i < n; i++) jq.putNowait(item(i));
      const cs = [0, 1].map(() => new Process({ target: takeAndMarkDone, args: [jq, out] }));
      for (const c of cs) c.start();
      const got: unknown[] = [];
      for (let i = 0; i < n; i++) got.push(await out.get({ timeout: 60_000 }));
      await jq.join();
      for (const _ of cs) jq.putNowait(null);
      for (const c of cs) await c.join({ timeout: 60_000 });
      // Two consumers interleave: compared as sets of items, each once.
      const key = (x: unknown): string =>
        JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}` : v));
      const want = Array.from({ length: n }, (_, i) => item(i));
      assert.deepStrictEqual(got.map(key).sort(), want.map(key).sort());
    } finally {
      jq.close();
      out.close();
    }
  });
});
