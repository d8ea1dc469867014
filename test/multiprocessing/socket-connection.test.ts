/**
 * A Listener/Client Connection (src/multiprocessing/socket-connection.ts): how it sends (in the
 * call, as Python's send), what its recv raises for an object frame no weft peer would write,
 * and polls that wait together.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { share } from '../../src/internal/shm/sab-registry.js';
import {
  Client,
  type Connection,
  EOFError,
  Listener,
  Process,
} from '../../src/multiprocessing/index.js';
import { NotCloneableError } from '../../src/queue/index.js';
import {
  BrokenPipeError,
  ConnectionResetError,
  createConnection,
  type Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { connEcho } from './fixtures/listener-targets.js';
import { sendThenExit } from './fixtures/socket-connection-targets.js';

checkLeaks({ graceMs: 3000 });

/** weft's object frame: int32 −2, uint64 length, then `body` (meant to be V8's bytes). */
function objectFrame(body: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeInt32BE(-2, 0);
  h.writeUInt32BE(0, 4);
  h.writeUInt32BE(body.length, 8);
  return Buffer.concat([h, body]);
}

/** Python's bytes frame: int32 length, then the bytes. */
function bytesFrame(bytes: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeInt32BE(bytes.length);
  return Buffer.concat([h, bytes]);
}

/** A raw peer past an unkeyed Listener's greeting, with the Listener's end of it. */
async function rawPair(l: Listener): Promise<[Socket, Connection]> {
  const s = await createConnection(l.address as [string, number]);
  let got = Buffer.alloc(0);
  while (got.length < 4 + 13) got = Buffer.concat([got, await s.recv(64)]);
  await s.sendall(bytesFrame(Buffer.from('#WEFT-NOAUTH#')));
  return [s, await l.accept()];
}

describe('receiving', () => {
  for (const [what, body] of [
    ['not V8 bytes at all', Buffer.from([0xde, 0xad, 0xbe, 0xef])],
    ['V8 bytes cut short', Buffer.from([0xff, 0x0f, 0x6f, 0x22, 0x05])],
    ['V8 bytes with a tag V8 does not know', Buffer.from([0xff, 0x0f, 0x99])],
  ] as const) {
    test(`an object frame of ${what}: NotCloneableError naming the connection; the next message comes`, async () => {
      using l = new Listener(['127.0.0.1', 0]);
      const [s, conn] = await rawPair(l);
      const [host, port] = s.getsockname() as [string, number];
      await s.sendall(Buffer.concat([objectFrame(body), bytesFrame(Buffer.from('after'))]));
      const e = await conn.recv().then(
        () => assert.fail('recv resolved'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof NotCloneableError, String(e));
      assert.equal(e.code, 'ERR_WEFT_NOT_CLONEABLE');
      assert.match(e.message, new RegExp(`from ${host}:${port} to 127\\.0\\.0\\.1:\\d+`));
      assert.match(e.message, /could not be decoded \(Unable to deserialize cloned data/);
      assert.ok(e.cause instanceof Error && !(e.cause instanceof NotCloneableError));
      // Consumed, and the connection goes on, as Python's after an UnpicklingError.
      assert.deepEqual(await conn.recv(), Buffer.from('after'));
      assert.equal(conn.closed, false);
      conn.close();
      s.close();
    });
  }

  test('a bad frame for a recv that waits already: the same error, the recv behind it gets the next', async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const [s, conn] = await rawPair(l);
    const first = conn.recv();
    const second = conn.recv();
    await s.sendall(
      Buffer.concat([objectFrame(Buffer.from([1, 2, 3])), bytesFrame(Buffer.from('ok'))]),
    );
    await assert.rejects(first, (e: unknown) => e instanceof NotCloneableError);
    assert.deepEqual(await second, Buffer.from('ok'));
    conn.close();
    s.close();
  });

  test("a plain object with a descriptor's or a buffer id's key arrives as it was sent, not revived", async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const c = await Client(l.address);
    const s = await l.accept();
    // An id this process knows (a SharedArrayBuffer put in a queue item gets one): revived, the
    // peer's data would turn into this process's memory.
    const known = share(new SharedArrayBuffer(8));
    const sent = [
      { $sab: known },
      [{ deep: { $sab: known } }],
      { __weft$: 'threading.Lock', s: { note: 'user data' } },
      { $sab: 2 ** 30 },
    ];
    for (const m of sent) c.send(m);
    for (const m of sent) assert.deepStrictEqual(await s.recv(), m);
    // Errors still come back as errors.
    c.send(new RangeError('still revived'));
    const e = await s.recv();
    assert.ok(e instanceof RangeError && e.message === 'still revived');
    c.close();
    s.close();
  });
});

describe('polling', () => {
  test('12 polls waiting at once on one Connection warn of no listener leak; each answers', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      using l = new Listener(['127.0.0.1', 0]);
      const c = await Client(l.address);
      const s = await l.accept();
      // Time out, with nothing sent.
      assert.deepEqual(
        await Promise.all(Array.from({ length: 12 }, () => s.poll(30))),
        Array(12).fill(false),
      );
      // Woken by a message.
      const polls = Array.from({ length: 12 }, () => s.poll(60_000));
      c.send('hi');
      assert.deepEqual(await Promise.all(polls), Array(12).fill(true));
      assert.equal(await s.recv(), 'hi');
      // Woken by close().
      const closing = Array.from({ length: 12 }, () => s.poll(null));
      s.close();
      assert.deepEqual(await Promise.all(closing), Array(12).fill(true));
      c.close();
      // Node reports the warning on the next tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  test('a signal aborted while the poll goes back to wait (half a message came) rejects it at once', async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const [s, conn] = await rawPair(l);
    const ac = new AbortController();
    // The recv is answered in the same readiness callback that wakes the poll, and before it:
    // its reaction aborts the signal before the poll sees that the message behind is half here.
    const recvd = conn.recv().then((m) => {
      ac.abort(new Error('given up'));
      return m;
    });
    const polled = conn.poll(60_000, { signal: ac.signal }).then(
      (v) => v,
      (e: unknown) => e,
    );
    const second = bytesFrame(Buffer.from('second'));
    await s.sendall(Buffer.concat([bytesFrame(Buffer.from('first')), second.subarray(0, 6)]));
    assert.deepEqual(await recvd, Buffer.from('first'));
    const started = performance.now();
    const e = await polled;
    assert.ok(e instanceof Error && e.message === 'given up', String(e));
    assert.ok(performance.now() - started < 30_000);
    // The half message stays for the next recv.
    await s.sendall(second.subarray(6));
    assert.deepEqual(await conn.recv(), Buffer.from('second'));
    conn.close();
    s.close();
  });
});

describe('sending', () => {
  test('a message sent right before process.exit() arrives: send gave it to the kernel', async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const p = new Process({ target: sendThenExit, args: [l.address, { last: 'words' }] });
    p.start();
    const s = await l.accept();
    assert.deepEqual(await s.recv(), { last: 'words' });
    await p.join();
    assert.equal(p.exitcode, 3);
    s.close();
  });

  test('a Connection that sent in the same step goes to a child: its message has left already', async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const c = await Client(l.address);
    const s = await l.accept();
    s.send('from the parent');
    // Nothing waits in this process to be written, so the socket may go (a queued byte would
    // refuse the hand-off with BlockingIOError).
    const p = new Process({ target: connEcho, args: [s] });
    p.start();
    assert.equal(s.closed, true);
    assert.equal(await c.recv(), 'from the parent');
    c.send('to the child');
    assert.deepEqual(await c.recv(), { pid: p.pid, m: 'to the child' });
    c.send('stop');
    await p.join();
    assert.equal(p.exitcode, 0);
    c.close();
  });

  test("a send the kernel refuses (the peer is gone) is raised by the next send with the kernel's error", async () => {
    using l = new Listener(['127.0.0.1', 0]);
    const c = await Client(l.address);
    const s = await l.accept();
    s.close();
    await assert.rejects(c.recv(), EOFError);
    // The first send goes out (the peer's kernel answers it with a reset); a later one meets the
    // reset or EPIPE in the kernel; the sends after it raise that, in the same step.
    const raised: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        c.send({ i });
      } catch (e) {
        raised.push(e);
      }
    }
    assert.ok(raised.length > 0);
    for (const e of raised) {
      assert.ok(e instanceof BrokenPipeError, String(e));
      assert.ok(
        (e.cause instanceof BrokenPipeError || e.cause instanceof ConnectionResetError) &&
          /EPIPE|ECONNRESET/.test(e.cause.message),
        `cause: ${String(e.cause)}`,
      );
    }
    c.close();
  });
});
