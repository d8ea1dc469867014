/**
 * Edges of multiprocessing found by comparing with Python 3.11: Value/Array options and items,
 * Connection misuse and byte messages, Manager factories and proxies holding shared objects,
 * parentProcess(), joins of a daemon, a child that cannot be forked or whose target's module
 * fails to load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { decode, encode } from '../../src/internal/serialize.js';
import {
  Barrier,
  BoundedSemaphore,
  BufferTooShort,
  Condition,
  type DictProxy,
  EOFError,
  Event,
  IndexError,
  JoinableQueue,
  KeyError,
  Lock,
  Manager,
  OSError,
  Pipe,
  Process,
  ProcessError,
  Queue,
  RLock,
  Semaphore,
  Array as SharedArrayOf,
  Value,
} from '../../src/multiprocessing/index.js';
import { Lock as ThreadLock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';
import { putThroughStored } from './fixtures/manager-targets.js';
import { exitWith } from './fixtures/targets.js';

checkLeaks({ graceMs: 10_000 });

describe('Value and Array', () => {
  test('lock: a given Lock or RLock is the one getLock() returns, as Python lock=Lock()', () => {
    // A plain Lock was replaced by a fresh RLock: code that took the Lock did not exclude
    // code that took getLock().
    const lock = new Lock();
    assert.equal(Value('i', 0, { lock }).getLock(), lock);
    assert.equal(SharedArrayOf('i', 2, { lock }).getLock(), lock);
    const rlock = new RLock();
    assert.equal(Value('d', 0, { lock: rlock }).getLock(), rlock);
    assert.ok(Value('i', 0).getLock() instanceof RLock, "Value('i', 0).getLock() instanceof RLock");
    assert.ok(
      Value('i', 0, { lock: true }).getLock() instanceof RLock,
      "Value('i', 0, { lock: true }).getLock() instanceof RLock",
    );
  });

  test('lock: anything but a boolean or a multiprocessing lock is a TypeError', () => {
    for (const lock of ['x', 1, {}, new ThreadLock()]) {
      assert.throws(() => Value('i', 0, { lock: lock as never }), TypeError);
      assert.throws(() => SharedArrayOf('i', 1, { lock: lock as never }), TypeError);
    }
  });

  test('Array items and set values must be numbers, as ctypes refuses str and None', async () => {
    // '1' became 1, null 0, and a float code stored the string itself.
    for (const bad of ['1', null, undefined, 'x', true]) {
      assert.throws(() => SharedArrayOf('i', [bad as never]), TypeError);
      assert.throws(() => SharedArrayOf('d', [bad as never]), TypeError);
    }
    const a = SharedArrayOf('d', [1.5, 2.5]);
    assert.throws(() => a.setSync(0, 'x' as never), TypeError);
    await assert.rejects(a.set(1, 'y' as never), TypeError);
    assert.deepEqual(await a.toArray(), [1.5, 2.5]);
    assert.deepEqual(SharedArrayOf('f', new Float64Array([0.5, 2])).toArraySync(), [0.5, 2]);
  });
});

describe('Connection', () => {
  test('misuse is an OSError, as Python: read-only, write-only and closed handles', async () => {
    const [r, w] = Pipe(false);
    const is = (code: string) => (e: unknown) =>
      e instanceof OSError && (e as OSError).code === code;
    assert.throws(() => r.send(1), is('ERR_WEFT_CONNECTION_READONLY'));
    assert.throws(() => r.sendBytes(Buffer.from('x')), is('ERR_WEFT_CONNECTION_READONLY'));
    await assert.rejects(w.recv(), is('ERR_WEFT_CONNECTION_WRITEONLY'));
    await assert.rejects(w.poll(), is('ERR_WEFT_CONNECTION_WRITEONLY'));
    await assert.rejects(w.recvBytes(), is('ERR_WEFT_CONNECTION_WRITEONLY'));
    r.close();
    w.close();
    assert.throws(() => w.send(1), is('ERR_WEFT_CONNECTION_CLOSED'));
    await assert.rejects(r.recv(), is('ERR_WEFT_CONNECTION_CLOSED'));
    await assert.rejects(r.poll(), is('ERR_WEFT_CONNECTION_CLOSED'));
  });

  test('sendBytes/recvBytes: offset and size slice the bytes; recv() gets them too', async () => {
    const [a, b] = Pipe();
    b.sendBytes(Buffer.from('abcdef'), 1, 3);
    b.sendBytes(new Uint16Array([1, 2]));
    b.sendBytes(new TextEncoder().encode('xyz').buffer, 2);
    b.sendBytes(Buffer.from('tail'));
    b.send({ x: 1 });
    assert.equal((await a.recvBytes()).toString(), 'bcd');
    assert.deepEqual([...(await a.recvBytes(4))], [1, 0, 2, 0]);
    assert.equal((await a.recvBytes()).toString(), 'z');
    const t = await a.recv();
    assert.ok(Buffer.isBuffer(t), 'Buffer.isBuffer(t)');
    assert.equal((t as Buffer).toString(), 'tail');
    // An object's bytes, as Python's recv_bytes returns its pickle.
    assert.deepEqual(deserialize(await a.recvBytes()), { x: 1 });
    for (const [args, err] of [
      [['str'], TypeError],
      [[Buffer.alloc(3), -1], RangeError],
      [[Buffer.alloc(3), 4], RangeError],
      [[Buffer.alloc(3), 2, 2], RangeError],
      [[Buffer.alloc(3), 0, -1], RangeError],
      [[Buffer.alloc(3), 0.5], TypeError],
    ] as const) {
      assert.throws(() => b.sendBytes(...(args as unknown as [Buffer])), err);
    }
    await assert.rejects(a.recvBytes(-1), RangeError);
    assert.equal(await a.poll(), false);
    a.close();
    b.close();
  });

  test('recvBytes(maxlength): a longer message is an OSError and closes the handle, as Python', async () => {
    const [r, w] = Pipe(false);
    w.sendBytes(Buffer.from('hello world'));
    w.sendBytes(Buffer.from('hi'));
    await assert.rejects(r.recvBytes(5), { name: 'OSError', code: 'ERR_WEFT_BAD_MESSAGE_LENGTH' });
    assert.equal(r.closed, true);
    await assert.rejects(r.recv(), { code: 'ERR_WEFT_CONNECTION_CLOSED' });
    w.close();
    const [r2, w2] = Pipe(false);
    w2.sendBytes(Buffer.from('12345'));
    w2.close();
    assert.equal((await r2.recvBytes(5)).toString(), '12345');
    await assert.rejects(r2.recvBytes(5), EOFError);
    r2.close();
  });

  test("recvBytesInto: the message lands at offset and its length comes back; one that does not fit is BufferTooShort carrying it, the buffer untouched (Python's recv_bytes_into)", async () => {
    const [a, b] = Pipe();
    b.sendBytes(Buffer.from('hello'));
    b.sendBytes(Buffer.from('toolongmessage'));
    b.sendBytes(Buffer.from([1, 0, 0, 0]));
    b.send({ x: 1 });
    const buf = Buffer.alloc(10);
    // Python: 5 bytearray(b'\x00\x00hello\x00\x00\x00')
    assert.equal(await a.recvBytesInto(buf, 2), 5);
    assert.deepEqual([...buf], [0, 0, 104, 101, 108, 108, 111, 0, 0, 0]);
    await assert.rejects(a.recvBytesInto(buf, 2), (e: unknown) => {
      assert.ok(e instanceof BufferTooShort);
      assert.ok(e instanceof ProcessError, 'a ProcessError, as in Python');
      assert.equal(e.name, 'BufferTooShort');
      assert.equal(e.data.toString(), 'toolongmessage');
      return true;
    });
    assert.deepEqual([...buf], [0, 0, 104, 101, 108, 108, 111, 0, 0, 0], 'left as it was');
    // The offset counts bytes whatever the item size; an object sent with send() arrives as its
    // v8 serialization, as Python's as its pickle.
    const ints = new Int32Array(4);
    assert.equal(await a.recvBytesInto(ints, 4), 4);
    assert.deepEqual([...ints], [0, 1, 0, 0]);
    const room = new ArrayBuffer(64);
    const n = await a.recvBytesInto(room);
    assert.deepEqual(deserialize(Buffer.from(room, 0, n)), { x: 1 });
    // Python: a negative offset or one past the end is ValueError (RangeError), before receiving.
    await assert.rejects(a.recvBytesInto(buf, -1), RangeError);
    await assert.rejects(a.recvBytesInto(buf, 11), RangeError);
    await assert.rejects(a.recvBytesInto(buf, 1.5), TypeError);
    await assert.rejects(a.recvBytesInto('abc' as unknown as Buffer), TypeError);
    b.sendBytes(Buffer.from('z'));
    assert.equal(await a.recvBytesInto(buf, 10 - 1), 1, 'nothing was taken by the refused calls');
    assert.equal(buf[9], 122);
    a.close();
    b.close();
  });
});

describe('Manager', () => {
  test('makes the module objects Python managers make: m.Queue(), m.Lock(), m.Value()…', async () => {
    // Only dict, list and Namespace existed: m.Queue() was "m.Queue is not a function".
    await using m = Manager();
    const q = m.Queue<number>(1);
    assert.ok(q instanceof Queue, 'q instanceof Queue');
    await q.put(1);
    assert.equal(q.full(), true);
    assert.equal(await q.get(), 1);
    const jq = m.JoinableQueue<string>();
    assert.ok(jq instanceof JoinableQueue, 'jq instanceof JoinableQueue');
    assert.ok(m.Lock() instanceof Lock, 'm.Lock() instanceof Lock');
    const rl = m.RLock();
    assert.ok(rl instanceof RLock, 'rl instanceof RLock');
    const s = m.Semaphore(2);
    assert.ok(s instanceof Semaphore, 's instanceof Semaphore');
    assert.equal(await s.acquire({ blocking: false }), true);
    assert.equal(await s.acquire({ blocking: false }), true);
    assert.equal(await s.acquire({ blocking: false }), false);
    const bs = m.BoundedSemaphore(1);
    assert.ok(bs instanceof BoundedSemaphore, 'bs instanceof BoundedSemaphore');
    assert.throws(() => bs.release(), RangeError);
    const ev = m.Event();
    assert.ok(ev instanceof Event, 'ev instanceof Event');
    ev.set();
    assert.equal(await ev.wait({ timeout: 0 }), true);
    const lock = m.Lock();
    const cond = m.Condition(lock);
    assert.ok(cond instanceof Condition, 'cond instanceof Condition');
    assert.ok(m.Barrier(2) instanceof Barrier, 'm.Barrier(2) instanceof Barrier');
    const v = m.Value('b', 127);
    assert.equal(await v.add(1), -128);
    const a = m.Array('i', [1, 2, 3]);
    assert.deepEqual(await a.toArray(), [1, 2, 3]);
  });

  test('after shutdown it makes nothing (RuntimeError) and what it made still works', async () => {
    const m = Manager();
    const d = m.dict<string, number>({ a: 1 });
    m.shutdown();
    for (const make of [
      () => m.dict(),
      () => m.list(),
      () => m.Namespace(),
      () => m.Queue(),
      () => m.Lock(),
      () => m.Value('i', 0),
    ]) {
      assert.throws(make, { name: 'RuntimeError', code: 'ERR_WEFT_MANAGER_SHUTDOWN' });
    }
    assert.equal(await d.get('a'), 1);
  });
});

/** Runs a fixture script as a parent of its own; resolves once it and its children ended. */
async function runFixture(
  name: string,
): Promise<{ code: number | null; out: string; err: string }> {
  const here = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const parent = spawn(process.execPath, ['--import', TS_IMPORT, here], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  parent.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  parent.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  // Children inherit the pipes: they close once every child has ended as well.
  const closed = Promise.all([
    new Promise((r) => parent.stdout.once('close', r)),
    new Promise((r) => parent.stderr.once('close', r)),
  ]);
  const code = await new Promise<number | null>((r) => parent.once('exit', r));
  await closed;
  return { code, out, err };
}

describe('Process', () => {
  test('a child that cannot be forked: start() throws OSError (the host did not crash) and can be retried', async () => {
    // Node's 'error' event (spawn ENOENT, or EAGAIN under a process limit) had no listener: it
    // ended the parent. Python's start() raises OSError.
    const p = new Process({ target: exitWith, args: [0] });
    const real = process.execPath;
    process.execPath = '/nonexistent/weft-test/node';
    try {
      assert.throws(() => p.start(), { name: 'OSError', code: 'ERR_WEFT_PROCESS_SPAWN' });
    } finally {
      process.execPath = real;
    }
    assert.equal(p.pid, null);
    assert.equal(p.isAlive(), false);
    await assert.rejects(p.join(), { code: 'ERR_WEFT_PROCESS_NOT_STARTED' });
    // Node's report of the failure comes on a later tick: let it come.
    await new Promise((r) => setTimeout(r, 50));
    p.start();
    await p.join();
    assert.equal(p.exitcode, 0);
  });

  test("a join that times out leaves a daemon ref'd for another join still waiting", async () => {
    // The first join to leave unref'd the child: the parent exited (code 13) under the other.
    const { code, out, err } = await runFixture('daemon-joins.ts');
    assert.equal(code, 0, err);
    assert.equal(out, 'short join: alive true\nwhole join: exitcode 0\n');
  });

  test('parentProcess(): isAlive() turns false and join() returns once the parent has ended', async () => {
    // isAlive() stayed true for ever, and join() threw "Cannot join a process that was not
    // started"; Python's parent_process() answers both.
    const { code, out, err } = await runFixture('parent-watch.ts');
    assert.equal(code, 0, err);
    assert.equal(out, 'before true\nshort join true\nafter false true\n');
  });

  test("a target whose module fails to load in the child: exitcode 1 and the load error's reason on stderr", async () => {
    // The child printed only "Cannot load the module of task …", not why the module failed.
    const { code, out, err } = await runFixture('start-broken.ts');
    assert.equal(code, 0, err);
    assert.equal(out, 'exitcode 1\n');
    assert.match(
      err,
      /Process Process-1:\nTaskReferenceError: Cannot load the module of task neverRuns/,
    );
    assert.match(
      err,
      /RangeError: broken-module refuses to load in a child: missing configuration XYZZY/,
    );
  });
});

describe('Manager proxies', () => {
  test('dict(init) refuses what Python dict() refuses instead of making it empty; values() and items()', async () => {
    await using m = Manager();
    for (const bad of [5, true, 'ab']) assert.throws(() => m.dict(bad as never), TypeError);
    assert.throws(() => m.dict([[1]] as never), RangeError);
    assert.throws(() => m.dict([[1, 2, 3]] as never), RangeError);
    assert.throws(() => m.dict([1] as never), TypeError);
    assert.deepEqual(await m.dict(new Map([['a', 1]])).toMap(), new Map([['a', 1]]));
    assert.deepEqual(await m.dict([['b', 2]]).toMap(), new Map([['b', 2]]));
    assert.deepEqual(await m.dict({ c: 3 }).toMap(), new Map([['c', 3]]));
    assert.deepEqual(await m.dict().toMap(), new Map());
    const d = m.dict<string, unknown>({ a: 1, q: new Queue() });
    assert.deepEqual(await d.keys(), ['a', 'q']);
    const [one, q] = await d.values();
    assert.equal(one, 1);
    assert.equal((q as object).constructor.name, 'Queue');
    const items = await d.items();
    assert.deepEqual(items[0], ['a', 1]);
    const [, second] = items;
    assert.equal((second?.[1] as object | undefined)?.constructor.name, 'Queue');
  });

  test('Namespace(init) takes a plain object only', async () => {
    await using m = Manager();
    for (const bad of [5, [1, 2], new Map([['a', 1]])])
      assert.throws(() => m.Namespace(bad as never), TypeError);
    assert.deepEqual(await m.Namespace({ a: 1 }).toObject(), { a: 1 });
    assert.deepEqual(await m.Namespace(Object.create(null)).toObject(), {});
  });

  test("list pop(i), insert, extend, remove, index and count act as Python's, atomically in the manager", async () => {
    await using m = Manager();
    const l = m.list<unknown>([1, 2, 3]);
    // pop(0) used to pop the last item.
    assert.equal(await l.pop(0), 1);
    assert.deepEqual(await l.toArray(), [2, 3]);
    assert.equal(await l.pop(-1), 3);
    assert.equal(await l.pop(), 2);
    await assert.rejects(l.pop(), IndexError);
    await l.extend([{ a: 1 }, 'x', { a: 1 }]);
    await l.insert(-100, 'first');
    await l.insert(1, 'second');
    await l.insert(99, 'last');
    assert.deepEqual(await l.toArray(), ['first', 'second', { a: 1 }, 'x', { a: 1 }, 'last']);
    await assert.rejects(l.pop(6), IndexError);
    await assert.rejects(l.pop(1.5), TypeError);
    await assert.rejects(l.insert(0.5, 'no'), TypeError);
    assert.equal(await l.count({ a: 1 }), 2);
    assert.equal(await l.index({ a: 1 }), 2);
    await l.remove({ a: 1 });
    assert.deepEqual(await l.toArray(), ['first', 'second', 'x', { a: 1 }, 'last']);
    await assert.rejects(l.remove('absent'), RangeError);
    await assert.rejects(l.index('absent'), RangeError);
    assert.deepEqual(await l.toArray(), ['first', 'second', 'x', { a: 1 }, 'last']);
  });

  test("dict pop, setDefault and update act as Python's, atomically in the manager", async () => {
    await using m = Manager();
    const d = m.dict<string, number>({ a: 1, b: 2 });
    assert.equal(await d.pop('a'), 1);
    assert.equal(await d.has('a'), false);
    assert.equal(await d.pop('a', 9), 9);
    await assert.rejects(d.pop('a'), KeyError);
    assert.equal(await d.setDefault('b', 5), 2);
    assert.equal(await d.setDefault('c', 5), 5);
    await d.update({ b: 20, d: 4 });
    await d.update(new Map([['e', 6]]));
    assert.deepEqual(
      [...(await d.toMap())],
      [
        ['b', 20],
        ['c', 5],
        ['d', 4],
        ['e', 6],
      ],
    );
    await assert.rejects(d.update([['x', 1, 2]] as never), RangeError);
    assert.equal(await d.has('x'), false, 'a bad pair sets nothing');
  });
});

describe('Manager proxies holding shared objects', () => {
  test('a Queue, Lock or Value stored in a dict, list or Namespace comes back connected', async () => {
    // They were copied as their fields: a plain object came back (q.put is not a function).
    await using m = Manager();
    const q = new Queue<string>();
    const lock = new Lock();
    const d = m.dict<string, unknown>({ q });
    await d.set('lock', lock);
    await d.set('v', Value('i', 7));
    const l = m.list<unknown>([q]);
    await l.append({ nested: [lock] });
    const ns = m.Namespace({ q });
    const got = (await d.get('q')) as Queue<string>;
    assert.ok(got instanceof Queue, 'got instanceof Queue');
    await got.put('through the copy');
    assert.equal(await q.get(), 'through the copy');
    assert.ok((await d.get('lock')) instanceof Lock, "(await d.get('lock')) instanceof Lock");
    assert.equal(((await d.get('v')) as ReturnType<typeof Value>).value, 7);
    assert.ok((await l.get(0)) instanceof Queue, '(await l.get(0)) instanceof Queue');
    const [, nested] = await l.toArray();
    assert.ok(
      (nested as { nested: unknown[] }).nested[0] instanceof Lock,
      '(nested as { nested: unknown[] }).nested[0] instanceof Lock',
    );
    const popped = (await l.pop()) as { nested: unknown[] };
    assert.ok(popped.nested[0] instanceof Lock, 'popped.nested[0] instanceof Lock');
    assert.ok((await ns.get('q')) instanceof Queue, "(await ns.get('q')) instanceof Queue");
    assert.ok((await ns.toObject()).q instanceof Queue, '(await ns.toObject()).q instanceof Queue');
    assert.ok(
      (await d.toMap()).get('q') instanceof Queue,
      "(await d.toMap()).get('q') instanceof Queue",
    );
    // Plain data is stored as it is: add still works on a number.
    await d.set('n', 1);
    assert.equal(await d.add('n', 1), 2);
  });

  test('a revived proxy that reaches the broker before its creator stores the same objects', async () => {
    // A child's revival carries the creation too; its params were decoded (live objects) and
    // reached the broker as copies of their fields when the child's connection came first.
    await using m = Manager();
    const q = new Queue<string>();
    const d = m.dict<string, unknown>({ q });
    const wire = structuredClone(encode(d, 'message')) as { s: { id: string } };
    wire.s.id = `${wire.s.id}-revived-first`;
    const twin = decode(wire) as DictProxy<string, unknown>;
    const got = await twin.get('q');
    assert.equal((got as object).constructor.name, 'Queue');
  });

  test('a child uses the Queue it finds in a dict, a list and a Namespace', async () => {
    await using m = Manager();
    const q = new Queue<string>();
    const p = new Process({
      target: putThroughStored,
      args: [m.dict({ q }), m.list([q]), m.Namespace({ q })],
    });
    p.start();
    // A child that fails puts nothing: a timeout makes that a failure, not a hang.
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await q.get({ timeout: 20_000 }));
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.deepEqual(got, ['dict Queue', 'list Queue', 'namespace Queue']);
  });

  test('a Pipe end is refused, and the Pipe still knows its reader is closed', async () => {
    await using m = Manager();
    const d = m.dict<string, unknown>();
    const [a, b] = Pipe();
    await assert.rejects(d.set('c', b), TypeError);
    await assert.rejects(d.set('c', { deep: [b] }), TypeError);
    assert.throws(() => m.list([b]), TypeError);
    assert.throws(() => m.Namespace({ b }), TypeError);
    assert.equal(await d.size(), 0);
    b.close();
    assert.throws(() => a.send(1), { name: 'BrokenPipeError' });
    a.close();
  });
});
