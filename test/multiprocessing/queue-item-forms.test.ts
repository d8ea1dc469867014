/**
 * Queue items travel through the broker in one of a few forms (src/internal/process/
 * broker-item.ts): a primitive as itself, a typed array or ArrayBuffer as its bytes in a one-byte
 * string (as itself past 64 KiB), anything else as its serialization in a one-byte string (both
 * start with U+00FF, so a string item starting so travels as bytes too), an item holding Pipe
 * ends as [bytes, tokens]. Every kind of item comes back as it
 * was put, on the streaming path (unbounded put, async get) and the blocking one (a bounded
 * queue's putNowait, getSync).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { Queue } from '../../src/multiprocessing/index.js';

/**
 * Node 24 on has it (scripts/test-node-versions.sh runs this file there); it came back a
 * Uint8Array of its bytes from an unbounded queue's put and a Pipe's send.
 */
const Float16 = (globalThis as { Float16Array?: new (items: number[]) => ArrayBufferView })
  .Float16Array;

function items(): Array<[string, unknown]> {
  const err = Object.assign(new RangeError('bad'), { code: 'E_X' });
  return [
    ...(Float16 === undefined
      ? []
      : [['a Float16Array', new Float16([1.5, -2])] as [string, unknown]]),
    ['a string starting with U+00FF', 'ÿ'],
    ['the bytes an item starts with', 'ÿ\x0f"'],
    ['a two-byte string starting with U+00FF', 'ÿ€'],
    ['an empty string', ''],
    ['a long string', 'x'.repeat(100_000)],
    ['an int', 42],
    ['a double', -1.5],
    ['NaN', Number.NaN],
    ['a bigint', 2n ** 70n],
    ['a boolean', false],
    ['null', null],
    ['undefined', undefined],
    ['a Uint8Array', new Uint8Array([1, 2, 3])],
    ['a Buffer', Buffer.from('hi')],
    ['a Float64Array', new Float64Array([0.5])],
    ['a DataView', new DataView(new Uint8Array([7, 8]).buffer)],
    ['an ArrayBuffer', new Uint8Array([5, 6]).buffer],
    ['a plain object', { a: 1, b: [true, null, 'ÿ'] }],
    ['a nested array', [1, [2, [3, [4]]]]],
    ['a Map', new Map<unknown, unknown>([[1, { x: 2 }]])],
    ['a Set', new Set(['a', 3])],
    ['a Date', new Date(0)],
    ['an object with a typed array', { data: new Uint8Array([9, 10]) }],
    ["an object shaped like weft's marker", { __weft$: 'mp:Queue', s: { id: 'x' } }],
    ['an object past the small-value writer', { big: 'y'.repeat(70_000), n: 1 }],
    ['an Error', err],
  ];
}

function check(what: string, got: unknown, put: unknown): void {
  if (put instanceof Error) {
    assert.ok(got instanceof RangeError, what);
    assert.equal((got as Error).message, put.message, what);
    assert.equal((got as { code?: string }).code, 'E_X', what);
    return;
  }
  if (typeof put === 'number' && Number.isNaN(put)) {
    assert.ok(Number.isNaN(got), what);
    return;
  }
  assert.deepStrictEqual(got, put, what);
}

test('every kind of item comes back as it was put: put and get', async () => {
  const q = new Queue<unknown>();
  try {
    const all = items();
    for (const [, v] of all) await q.put(v);
    for (const [what, v] of all) check(what, await q.get({ timeout: 60_000 }), v);
  } finally {
    q.close();
  }
});

test('every kind of item comes back as it was put: a bounded queue, putNowait and getSync', () => {
  const q = new Queue<unknown>(100);
  try {
    const all = items();
    for (const [, v] of all) q.putNowait(v);
    for (const [what, v] of all) {
      // A Buffer of up to 64 KiB travels as a string (it kept its class through the sync client
      // thread's postMessage, which makes a Buffer a Uint8Array).
      check(what, q.getSync({ timeout: 60_000 }), v);
    }
  } finally {
    q.close();
  }
});

test("an item's typed array is a view of memory of its own, not of its batch's frame", async () => {
  // Items over 64 KiB travel as Buffers the frame reader made over the frame they came in; read
  // there, an item's arrays were views of that frame, shared with the items after it in the batch.
  const q = new Queue<{ data: Uint8Array }>();
  try {
    await q.put({ data: new Uint8Array(100_000).fill(1) });
    await q.put({ data: new Uint8Array(100_000).fill(2) });
    const a = await q.get({ timeout: 60_000 });
    assert.ok(a.data.buffer.byteLength < 2 * 100_000, 'the first item holds no other item');
    // Transferring its memory (postMessage's transfer list) detaches it: nothing else.
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(a.data, [a.data.buffer as ArrayBuffer]);
    port1.close();
    port2.close();
    const b = await q.get({ timeout: 60_000 });
    assert.equal(b.data.length, 100_000);
    assert.equal(b.data[99_999], 2);
  } finally {
    q.close();
  }
});
