/**
 * The broker's frames (src/internal/process/broker-wire.ts, `frame` and FrameReader): small
 * plain messages — most requests and replies — are written and read in JavaScript
 * (v8-format.ts) without a call into `v8.serialize` or `v8.deserialize`, in V8's own format;
 * anything else goes through V8 as before. Either way a frame reads back as V8 would read it:
 * the same values, prototypes, holes, shared references and cycles.
 * And the broker's replies to what one batch of ready sockets brought go out when that batch is
 * done (`atBatchEnd`), not at the end of the turn: one write per connection, in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import v8 from 'node:v8';
import {
  atBatchEnd,
  FrameReader,
  frame,
  RawServer,
  RawSocket,
  rawBrokerSockets,
} from '../../src/internal/process/broker-wire.js';
import { until } from '../support/until.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-frames-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const noRaw = rawBrokerSockets ? false : 'raw sockets unavailable (no addon, or WEFT_NO_NATIVE=1)';

/** Calls `fn` with v8.serialize and v8.deserialize counted; returns the counts. */
function countingV8(fn: () => void): { serialize: number; deserialize: number } {
  const counts = { serialize: 0, deserialize: 0 };
  const { serialize, deserialize } = v8;
  v8.serialize = (value: unknown): ReturnType<typeof serialize> => {
    counts.serialize++;
    return serialize(value);
  };
  v8.deserialize = (bytes: Parameters<typeof deserialize>[0]): unknown => {
    counts.deserialize++;
    return deserialize(bytes);
  };
  try {
    fn();
  } finally {
    v8.serialize = serialize;
    v8.deserialize = deserialize;
  }
  return counts;
}

/** The messages of every frame `bytes` holds, read by a FrameReader fed `bytes` in `pieces`. */
function readAll(bytes: Buffer, pieces = 1): unknown[][] {
  const got: unknown[][] = [];
  const reader = new FrameReader(
    (ms) => got.push(ms),
    (e) => {
      throw e;
    },
  );
  const step = Math.ceil(bytes.length / pieces);
  for (let at = 0; at < bytes.length; at += step) reader.push(bytes.subarray(at, at + step));
  return got;
}

const plain: unknown[][] = [
  [{ r: 7, o: 'dataOp', id: 'd1', a: ['setItem', 'k', 42] }],
  [{ r: 7, v: undefined }],
  [{ r: 8, v: [1.5, 'é', null, true, { x: [] }] }],
  [
    { r: -1, o: 'set', id: 'e1', a: [] },
    { r: 9, o: 'wait', id: 'e2', a: [null] },
  ],
];

test('small plain frames are written and read without v8.serialize or v8.deserialize', () => {
  // The first use of v8-format.ts checks itself against V8: not counted.
  readAll(frame([{ r: 1, v: 'warm' }]));
  let read: unknown[][] = [];
  const counts = countingV8(() => {
    read = readAll(Buffer.concat(plain.map((ms) => frame(ms))));
  });
  assert.deepEqual(counts, { serialize: 0, deserialize: 0 });
  assert.deepStrictEqual(read, plain);
});

test('a plain frame is in V8 format: v8.deserialize reads it as written', () => {
  for (const ms of plain) {
    const f = frame(ms);
    assert.equal(f.readUInt32LE(0), f.length - 4);
    assert.deepStrictEqual(v8.deserialize(f.subarray(4)), ms);
  }
});

/** `n` strings of `size` characters as binary queue items are (U+00FF, a kind, bytes 0–255). */
function itemStrings(n: number, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.alloc(size, i);
    bytes[0] = 0xff;
    bytes[1] = 0x84;
    for (let j = 2; j < size; j += 7) bytes[j] = (i + j) & 0xff;
    out.push(bytes.toString('latin1'));
  }
  return out;
}

test('a batch of KiB strings (queue items) is read without v8.deserialize', () => {
  readAll(frame([{ r: 1, v: 'warm' }]));
  const items = itemStrings(1024, 1026);
  // Two-byte strings too (a user's string item), and a short one after the first.
  const mixedStrings = ['€'.repeat(300), 'short', ...itemStrings(300, 300)];
  const frames: unknown[][] = [
    [{ r: -1, o: 'putMany', id: 'q1', a: items }],
    [{ r: 12, v: mixedStrings }],
  ];
  const bytes = Buffer.concat(frames.map((ms) => frame(ms)));
  // Written as V8 writes them, so that a reader of either kind reads them.
  let at = 0;
  for (const ms of frames) {
    const n = bytes.readUInt32LE(at);
    assert.ok(bytes.subarray(at + 4, at + 4 + n).equals(v8.serialize(ms)));
    at += 4 + n;
  }
  for (const pieces of [1, 13]) {
    let read: unknown[][] = [];
    const counts = countingV8(() => {
      read = readAll(bytes, pieces);
    });
    assert.equal(counts.deserialize, 0);
    assert.deepStrictEqual(read, frames);
  }
});

test('long arrays of anything else, and batches past the bound, still go through V8', () => {
  readAll(frame([{ r: 1, v: 'warm' }]));
  const ints = Array.from({ length: 1024 }, (_, i) => i);
  const withBuffer: unknown[] = itemStrings(400, 1026);
  withBuffer.push(Buffer.alloc(70 * 1024, 9), 'after');
  const frames: unknown[][] = [
    [{ r: -1, o: 'putMany', id: 'q1', a: ints }],
    [{ r: -1, o: 'putMany', id: 'q1', a: withBuffer }],
    // More than the 2 MiB a frame of strings is written here up to.
    [{ r: 13, v: itemStrings(2100, 1026) }],
  ];
  for (const ms of frames) {
    let read: unknown[][] = [];
    const counts = countingV8(() => {
      read = readAll(frame(ms), 5);
    });
    assert.equal(counts.deserialize, 1);
    assert.deepStrictEqual(read, [v8.deserialize(v8.serialize(ms))]);
  }
});

test('a Buffer that V8 read out of a joined frame keeps its bytes as later frames are joined', () => {
  const big = Buffer.alloc(70 * 1024, 1);
  const first = frame([{ r: 14, v: [big] }]);
  const later = frame([{ r: -1, o: 'putMany', id: 'q1', a: itemStrings(1024, 1026) }]);
  const got: unknown[][] = [];
  const reader = new FrameReader(
    (ms) => got.push(ms),
    (e) => {
      throw e;
    },
  );
  // In pieces, so that each frame is joined before it is read.
  for (const f of [first, later, later]) {
    for (let at = 0; at < f.length; at += 50_000) reader.push(f.subarray(at, at + 50_000));
  }
  assert.equal(got.length, 3);
  const read = ((got[0] as unknown[])[0] as { v: Buffer[] }).v[0] as Buffer;
  assert.ok(read.equals(big));
  assert.deepStrictEqual(got[2], got[1]);
});

test('a Buffer that V8 read out of a joined frame holds no more memory than its frame', () => {
  // A batch of KiB strings first: the join buffer grows to its size (about 2 MiB).
  const batch = frame([{ r: -1, o: 'putMany', id: 'q1', a: itemStrings(1900, 1026) }]);
  const large = frame([
    { r: -1, o: 'put', id: 'q1', a: [Buffer.alloc(100 * 1024, 7), true, null] },
  ]);
  const got: unknown[][] = [];
  const reader = new FrameReader(
    (ms) => got.push(ms),
    (e) => {
      throw e;
    },
  );
  for (const f of [batch, large, batch, large]) {
    for (let at = 0; at < f.length; at += 50_000) reader.push(f.subarray(at, at + 50_000));
  }
  assert.equal(got.length, 4);
  for (const i of [1, 3]) {
    const item = ((got[i] as unknown[])[0] as { a: Buffer[] }).a[0] as Buffer;
    assert.ok(item.equals(Buffer.alloc(100 * 1024, 7)));
    // Not a view of the join buffer: a backlog of such items would each keep megabytes.
    assert.ok(item.buffer.byteLength <= large.length, `item ${i}: ${item.buffer.byteLength} bytes`);
  }
});

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

test('frames of values V8 must write read back as V8 reads them, in order, however split', () => {
  const shared = { n: 1 };
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  // biome-ignore lint/suspicious/noSparseArray: a hole must stay a hole
  const holey = [1, , 3];
  let deep: unknown = 'bottom';
  for (let i = 0; i < 300; i++) deep = [deep];
  const frames: unknown[][] = [
    [{ r: 1, v: new Map([['k', new Set([1n])]]) }],
    [
      { r: 2, v: Buffer.from('bytes') },
      { r: 3, v: new Float64Array([-0, Number.NaN]) },
    ],
    [{ r: 4, v: [-0, Number.NaN, Number.POSITIVE_INFINITY, undefined] }],
    [{ r: 5, v: holey }],
    [{ r: 6, v: { a: shared, b: shared } }],
    [{ r: 7, v: cyclic }],
    [{ r: 8, v: new Point(1, 2) }],
    [{ r: 9, v: deep }],
    [{ r: 10, v: 'x'.repeat(200_000) }],
    [{ r: 11, v: new Date(0) }],
  ];
  const bytes = Buffer.concat(frames.map((ms) => frame(ms)));
  const expected = frames.map((ms) => v8.deserialize(v8.serialize(ms)));
  for (const pieces of [1, 7, 1000]) {
    const got = readAll(bytes, pieces);
    assert.deepStrictEqual(got, expected);
    const replyValue = (k: number): unknown => ((got[k] as unknown[])[0] as { v: unknown }).v;
    const sharedRead = replyValue(4) as { a: unknown; b: unknown };
    const cyclicRead = replyValue(5) as { self: unknown };
    const holeyRead = replyValue(3) as unknown[];
    assert.equal(sharedRead.a, sharedRead.b);
    assert.equal(cyclicRead.self, cyclicRead);
    assert.equal(1 in holeyRead, false);
  }
});

test('work deferred to the end of a batch of ready sockets runs before the turn ends', {
  skip: noRaw,
}, async () => {
  assert.equal(
    atBatchEnd(() => assert.fail('outside a batch: never run')),
    false,
  );
  const path = join(dir, 'batch.sock');
  let onPeer: (s: RawSocket) => void = () => {};
  const peerP = new Promise<RawSocket>((r) => {
    onPeer = r;
  });
  const server = RawServer.listen(path, (s) => onPeer(s)) as RawServer;
  const client = RawSocket.connect(path) as RawSocket;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const peer = await peerP;
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      peer.onBytes = () => {
        setImmediate(() => {
          order.push('end of turn');
          resolve();
        });
        const deferred = atBatchEnd(() => order.push('batch end'));
        order.push(`read (deferred: ${deferred})`);
      };
    });
    client.write(frame([{ r: 1, o: 'ping-never-fails', a: [] }]));
    await done;
    assert.deepEqual(order, ['read (deferred: true)', 'batch end', 'end of turn']);
    assert.equal(
      atBatchEnd(() => assert.fail('outside a batch: never run')),
      false,
    );
    peer.destroy();
  } finally {
    client.destroy();
    server.close();
  }
});

test('work at the end of a batch that throws is reported, and the rest runs, once each', {
  skip: noRaw,
}, async () => {
  const path = join(dir, 'batch-throws.sock');
  let onPeer: (s: RawSocket) => void = () => {};
  const peerP = new Promise<RawSocket>((r) => {
    onPeer = r;
  });
  const server = RawServer.listen(path, (s) => onPeer(s)) as RawServer;
  const client = RawSocket.connect(path) as RawSocket;
  // The test runner treats an uncaught exception as a failure: it is expected here.
  const runners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const uncaught: unknown[] = [];
  process.on('uncaughtException', (e) => uncaught.push(e));
  const boom = new Error('a flush failed');
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const peer = await peerP;
    const ran: string[] = [];
    let batches = 0;
    peer.onBytes = () => {
      const b = ++batches;
      if (b === 1) {
        atBatchEnd(() => {
          ran.push('1: throws');
          throw boom;
        });
        atBatchEnd(() => ran.push('1: after it'));
      } else atBatchEnd(() => ran.push(`${b}`));
    };
    client.write(Buffer.from('a'));
    await until(() => uncaught.length === 1, 'the report');
    client.write(Buffer.from('b'));
    await until(() => ran.includes('2'), 'the next batch');
    assert.deepEqual(ran, ['1: throws', '1: after it', '2']);
    assert.deepEqual(uncaught, [boom]);
    peer.destroy();
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of runners) process.on('uncaughtException', l);
    client.destroy();
    server.close();
  }
});
