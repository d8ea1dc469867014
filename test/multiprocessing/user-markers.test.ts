/**
 * A caller's value shaped like weft's own encoding — `{ $sab: 3 }`, `{ __weft$: 'x', … }`,
 * nested anywhere — was read back as weft's marker on the other side of a multiprocessing
 * carrier: a 5 s wait for a buffer nobody registered then an error, a TypeError for an unknown
 * kind, an Error for a plain object. Every value must come back as structured clone gives it:
 * through a Queue, SimpleQueue, JoinableQueue, a Pipe, Manager proxies (an attribute may be
 * named `$sab`), a Pool's and a ProcessPoolExecutor's arguments and results, a Listener/Client
 * connection, and a Process's arguments.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import {
  Client,
  JoinableQueue,
  Listener,
  Manager,
  Pipe,
  Pool,
  Process,
  Queue,
  SimpleQueue,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { markerSample, markerValue } from '../support/marker-values.js';
import { identity, relayAll } from './fixtures/user-markers-targets.js';

checkLeaks({ graceMs: 3000 });

const sample = markerSample(60);

describe('values shaped like weft markers cross processes as they were sent', () => {
  test('property: any JSON-like value with markers at any depth, through a multiprocessing Queue', async () => {
    const q = new Queue<unknown>();
    try {
      await fc.assert(
        fc.asyncProperty(markerValue, async (v) => {
          await q.put(v);
          assert.deepStrictEqual(await q.get({ timeout: 30_000 }), structuredClone(v));
        }),
        // A misread `$sab` waits 5 s for its buffer: no shrinking on the old source's failure.
        { numRuns: 200, endOnFailure: true },
      );
    } finally {
      q.close();
    }
  });

  test('a child: Process args, Queue, SimpleQueue, JoinableQueue, Pipe, Manager dict and Namespace', async () => {
    using m = Manager();
    const inbox = new Queue<unknown>();
    const simple = new SimpleQueue<unknown>();
    const out = new Queue<unknown>();
    const joinable = new JoinableQueue<unknown>();
    const [here, there] = Pipe();
    const dict = m.dict<string, unknown>();
    await dict.set('v', sample);
    const ns = m.Namespace({ $sab: 1, __weft$: 'x' });
    await ns.set('deep', { __weft$: 'Error', name: 'TypeError', message: 'm', stack: '' });
    const n = sample.length;
    const p = new Process({
      target: relayAll,
      args: [sample, inbox, simple, joinable, there, dict, ns, out, n],
    });
    p.start();
    try {
      const expected = structuredClone(sample);
      assert.deepStrictEqual(await out.get({ timeout: 60_000 }), ['ok', expected]);
      for (const v of sample) await inbox.put(v);
      for (const v of expected)
        assert.deepStrictEqual(await out.get({ timeout: 60_000 }), ['ok', v]);
      for (const v of sample) await simple.put(v);
      for (const v of expected)
        assert.deepStrictEqual(await out.get({ timeout: 60_000 }), ['ok', v]);
      for (const v of sample) await joinable.put(v);
      for (const v of expected)
        assert.deepStrictEqual(await out.get({ timeout: 60_000 }), ['ok', v]);
      await joinable.join();
      for (const v of sample) {
        here.send(v);
        assert.deepStrictEqual(await here.recv(), ['ok', structuredClone(v)]);
      }
      assert.deepStrictEqual(await out.get({ timeout: 60_000 }), ['ok', expected]);
      assert.deepStrictEqual(await out.get({ timeout: 60_000 }), [
        'ok',
        {
          $sab: 1,
          __weft$: 'x',
          deep: { __weft$: 'Error', name: 'TypeError', message: 'm', stack: '' },
        },
      ]);
      await p.join();
      assert.equal(p.exitcode, 0);
      // Here too, by the proxies' own reads.
      assert.deepStrictEqual(await dict.get('v'), expected);
      assert.equal(await ns.get('$sab'), 1);
    } finally {
      if (p.exitcode === null) p.terminate();
      await p.join();
      here.close();
      there.close();
      inbox.close();
      out.close();
    }
  });

  test('a Pool and a ProcessPoolExecutor: arguments and results', async () => {
    const pool = new Pool(1);
    try {
      assert.deepStrictEqual(await pool.map(identity, sample), structuredClone(sample));
      assert.deepStrictEqual(await pool.apply(identity, [sample]), structuredClone(sample));
    } finally {
      pool.close();
      await pool.join();
    }
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    for (const v of sample.slice(0, 20))
      assert.deepStrictEqual(await ex.submit(identity, v), structuredClone(v));
  });

  test('a Listener/Client connection', async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const c = await Client(l.address);
    const s = await l.accept();
    try {
      for (const v of sample) {
        c.send(v);
        assert.deepStrictEqual(await s.recv(), structuredClone(v));
      }
    } finally {
      c.close();
      s.close();
    }
  });
});
