/**
 * A typed array, DataView or ArrayBuffer put on a queue (or sent through a Pipe) travelled as
 * itself and was read when its thread wrote the batch of messages to the broker, at the end of
 * the turn, not at the put. So a change made to it after `putNowait` returned showed in the item
 * got, and a buffer transferred (detached) meanwhile made the whole batch unwritable: the other
 * items of the batch were lost, with only a process warning. Every other item is serialized at
 * the put already; these are now copied there, so each put sends what the item held at the call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pipe, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

function bytes(v: unknown): number[] {
  if (v instanceof ArrayBuffer) return [...new Uint8Array(v)];
  const view = v as ArrayBufferView;
  return [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];
}

/** Detaches `buf` as a transfer to another thread would. */
function detach(buf: ArrayBuffer): void {
  structuredClone(buf, { transfer: [buf] });
  assert.equal(buf.byteLength, 0);
}

const kinds: Array<[string, () => { item: unknown; buffer: ArrayBuffer; type: string }]> = [
  [
    'a Uint8Array',
    () => {
      const item = new Uint8Array([1, 2, 3, 4]);
      return { item, buffer: item.buffer, type: 'Uint8Array' };
    },
  ],
  [
    'a Buffer of its own memory',
    () => {
      const item = Buffer.from(new Uint8Array([1, 2, 3, 4]).buffer);
      return { item, buffer: item.buffer as ArrayBuffer, type: 'Uint8Array' };
    },
  ],
  [
    'a Float64Array over part of a buffer',
    () => {
      const buffer = new ArrayBuffer(32);
      const item = new Float64Array(buffer, 8, 2);
      item.set([1.5, -2]);
      return { item, buffer, type: 'Float64Array' };
    },
  ],
  [
    'a DataView',
    () => {
      const item = new DataView(new Uint8Array([1, 2, 3, 4]).buffer);
      return { item, buffer: item.buffer as ArrayBuffer, type: 'DataView' };
    },
  ],
  [
    'an ArrayBuffer',
    () => {
      const item = new Uint8Array([1, 2, 3, 4]).buffer;
      return { item, buffer: item, type: 'ArrayBuffer' };
    },
  ],
];

describe('a binary item is what it held at the put', () => {
  for (const [what, make] of kinds) {
    test(`${what}: changed after putNowait, the item got holds the bytes of the put`, async () => {
      const q = new Queue<unknown>();
      try {
        // The first message of a turn goes at once; the next ones wait for the end of the turn.
        q.putNowait('first');
        const { item, buffer } = make();
        const before = bytes(item);
        q.putNowait(item);
        new Uint8Array(buffer).fill(0xee);
        assert.equal(await q.get({ timeout: 60_000 }), 'first');
        assert.deepEqual(bytes(await q.get({ timeout: 60_000 })), before);
      } finally {
        q.close();
      }
    });

    test(`${what}: its buffer transferred after putNowait, it and the items around it arrive`, async () => {
      const q = new Queue<unknown>();
      const warnings: Error[] = [];
      const onWarning = (w: Error): void => {
        warnings.push(w);
      };
      process.on('warning', onWarning);
      try {
        q.putNowait('first');
        const { item, buffer, type } = make();
        const before = bytes(item);
        q.putNowait('before it');
        q.putNowait(item);
        q.putNowait('after it');
        detach(buffer);
        // Old source: 'first', then nothing more (the batch of the three was dropped).
        assert.equal(await q.get({ timeout: 60_000 }), 'first');
        assert.equal(await q.get({ timeout: 60_000 }), 'before it');
        const got = await q.get({ timeout: 60_000 });
        assert.equal(Object.prototype.toString.call(got), `[object ${type}]`);
        assert.deepEqual(bytes(got), before);
        assert.equal(await q.get({ timeout: 60_000 }), 'after it');
        assert.deepEqual(warnings, []);
      } finally {
        process.off('warning', onWarning);
        q.close();
      }
    });
  }

  test('a binary item got: transferring its buffer leaves the items of its batch whole', async () => {
    for (const sync of [false, true]) {
      const q = new Queue<unknown>(sync ? 10 : 0);
      try {
        const put = [
          new Uint8Array([1, 2, 3]),
          Buffer.from([4, 5, 6]),
          new Float64Array([0.5, 1.5]),
          new DataView(new Uint8Array([7, 8]).buffer),
          new Uint8Array([9, 10, 11]),
        ];
        for (const v of put) q.putNowait(v);
        const got: ArrayBufferView[] = [];
        for (let i = 0; i < put.length; i++) {
          const v = (
            sync ? q.getSync({ timeout: 60_000 }) : await q.get({ timeout: 60_000 })
          ) as ArrayBufferView;
          assert.deepEqual(bytes(v), bytes(put[i]), `sync ${sync}, item ${i}`);
          got.push(v);
          // Old source: the buffer was the whole frame of the batch, and the items of the batch
          // not got yet were detached with it (they came back empty).
          if (i === 0) {
            const moved = structuredClone(v, { transfer: [v.buffer as ArrayBuffer] });
            assert.deepEqual(bytes(moved), bytes(put[0]));
          }
        }
        for (let i = 1; i < put.length; i++)
          assert.deepEqual(bytes(got[i]), bytes(put[i]), `sync ${sync}, item ${i}`);
      } finally {
        q.close();
      }
    }
  });

  test('Connection.send: a Uint8Array changed, another one transferred after the send', async () => {
    const [a, b] = Pipe();
    try {
      a.send('first');
      const changed = new Uint8Array([1, 2, 3]);
      const moved = new Uint8Array([4, 5, 6]);
      a.send(changed);
      a.send(moved);
      a.send('last');
      changed.fill(0);
      detach(moved.buffer as ArrayBuffer);
      assert.equal(await b.recv(), 'first');
      assert.deepEqual(bytes(await b.recv()), [1, 2, 3]);
      assert.deepEqual(bytes(await b.recv()), [4, 5, 6]);
      assert.equal(await b.recv(), 'last');
    } finally {
      a.close();
      b.close();
    }
  });

  test('an async put on a bounded queue sends the bytes of the call', async () => {
    const q = new Queue<unknown>(10);
    try {
      const first = q.put('first');
      const item = new Uint8Array([7, 8, 9]);
      const second = q.put(item);
      item.fill(0);
      await Promise.all([first, second]);
      assert.equal(q.getSync({ timeout: 60_000 }), 'first');
      assert.deepEqual(bytes(q.getSync({ timeout: 60_000 })), [7, 8, 9]);
    } finally {
      q.close();
    }
  });
});
