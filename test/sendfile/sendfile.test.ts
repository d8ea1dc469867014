import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import {
  type Socket as NetSocket,
  connect as netConnect,
  createServer as netCreateServer,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { Worker } from 'node:worker_threads';
import { createTask, sleep } from '../../src/asyncio/index.js';
import { _forceCopyLoop, sendfile } from '../../src/sendfile/sendfile.js';
import {
  BrokenPipeError,
  ConnectionError,
  ConnectionRefusedError,
  createConnection,
  OSError,
  type Socket,
  TimeoutError,
} from '../../src/socket/index.js';
import { openConnection, startServer } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';
import { settles } from '../support/settles.js';
import { TS_WORKER_LOADER } from '../support/ts.js';
import { until } from '../support/until.js';
import { TEST_CERT, TEST_KEY } from './tls-fixture.js';

checkLeaks();

const HOST = '127.0.0.1';
let dir = '';
let path = '';
let content: Buffer;
let bigPath = '';
let big: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-sendfile-'));
  path = join(dir, 'data.bin');
  content = Buffer.alloc(3 * 1024 * 1024 + 123);
  let x = 12345;
  for (let i = 0; i < content.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    content[i] = x >>> 16;
  }
  writeFileSync(path, content);
  // Larger than loopback's socket buffers, so a reader that waits makes the sender wait.
  bigPath = join(dir, 'big.bin');
  big = Buffer.alloc(48 * 1024 * 1024);
  for (let i = 0; i < big.length; i += content.length) content.copy(big, i);
  writeFileSync(bigPath, big);
});

after(() => {
  _forceCopyLoop(false);
  rmSync(dir, { recursive: true, force: true });
});

interface SinkOptions {
  /** Read nothing for 300 ms, so the sender's socket buffer fills (partial sends, EAGAIN). */
  slow?: boolean;
  /** Reset the connection after this many bytes. */
  reset?: number;
  /** Read nothing until this resolves. */
  pausedUntil?: Promise<void>;
  /** With `pausedUntil`: read this many bytes first, then nothing more until it resolves. */
  holdAfter?: number;
  /** A slow, steady reader: after every `bytes` received, stop reading for `ms`. */
  throttle?: { bytes: number; ms: number };
  /** Called with the running total after every read. */
  onBytes?: (total: number) => void;
  /** Keep only a SHA-256 of the bytes: `received` is the digest. */
  digest?: boolean;
}

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** A sink on loopback: collects everything one connection sends until EOF. */
async function sink(opts: SinkOptions = {}): Promise<{
  port: number;
  received: Promise<Buffer>;
  close: () => Promise<void>;
}> {
  let resolve!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolve = r));
  const timers = new Set<NodeJS.Timeout>();
  const server = netCreateServer((s: NetSocket) => {
    const parts: Buffer[] = [];
    const hash = opts.digest ? createHash('sha256') : null;
    let total = 0;
    let quota = opts.throttle?.bytes ?? 0;
    let released = false;
    /** Reading stops here until `pausedUntil` resolves. */
    const holding = (): boolean =>
      opts.pausedUntil !== undefined && !released && total >= (opts.holdAfter ?? 0);
    s.on('error', () => resolve(Buffer.concat(parts)));
    if (opts.slow) {
      s.pause();
      const t = setTimeout(() => s.resume(), 300);
      timers.add(t);
    }
    if (opts.pausedUntil) {
      if (holding()) s.pause();
      void opts.pausedUntil.then(() => {
        released = true;
        s.resume();
      });
    }
    s.on('data', (d: Buffer) => {
      if (hash) hash.update(d);
      else parts.push(d);
      total += d.length;
      if (holding()) s.pause();
      opts.onBytes?.(total);
      if (opts.reset !== undefined && total >= opts.reset) s.resetAndDestroy();
      if (opts.throttle && (quota -= d.length) <= 0) {
        quota = opts.throttle.bytes;
        s.pause();
        const t = setTimeout(() => {
          timers.delete(t);
          if (!holding()) s.resume();
        }, opts.throttle.ms);
        timers.add(t);
      }
    });
    s.on('end', () => {
      resolve(hash ? hash.digest() : Buffer.concat(parts));
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received,
    close: () => {
      for (const t of timers) clearTimeout(t);
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A connected net.Socket (its destroy() is the abrupt close). */
async function connectNet(port: number): Promise<NetSocket> {
  const ns = netConnect({ host: HOST, port });
  await new Promise<void>((resolve, reject) => {
    ns.once('connect', resolve);
    ns.once('error', reject);
  });
  return ns;
}

const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;

/**
 * How many transfers of the addon in this process have parked on their event loop: a transfer
 * parks with an epoll set of its own that watches its socket for EPOLLOUT alone
 * (native/sendfile.c, park()), and keeps it until it ends; libuv's sets watch for EPOLLIN.
 */
function parkedTransfers(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:[eventpoll]') continue;
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      const masks = [...info.matchAll(/^tfd:\s*\d+\s+events:\s*([0-9a-f]+)/gm)].map((m) =>
        Number.parseInt(m[1] as string, 16),
      );
      const [mask] = masks;
      if (masks.length === 1 && mask !== undefined && mask & EPOLLOUT && !(mask & EPOLLIN)) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** The descriptor under a connected net.Socket (to see whether a new socket reused it). */
function fdOf(ns: NetSocket): number {
  return (ns as unknown as { _handle: { fd: number } })._handle.fd;
}

for (const backend of ['kernel', 'copy'] as const) {
  describe(`sendfile (${backend})`, () => {
    before(() => _forceCopyLoop(backend === 'copy'));

    test('sends the whole file byte-exact and returns its size', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      assert.equal(await sendfile(sock, path), content.length);
      sock.close();
      assert.ok((await s.received).equals(content));
      await s.close();
    });

    test('offset and count select an exact slice, including odd boundaries', async () => {
      const cases: [number, number][] = [
        [0, 1],
        [1, 4095],
        [4097, 70_001],
        [content.length - 10, 10],
        [1_000_003, 1_500_000],
      ];
      for (const [offset, count] of cases) {
        const s = await sink();
        const sock = await createConnection([HOST, s.port]);
        assert.equal(await sendfile(sock, path, { offset, count }), count);
        sock.close();
        assert.ok(
          (await s.received).equals(content.subarray(offset, offset + count)),
          `${offset}+${count}`,
        );
        await s.close();
      }
    });

    test('offsets and counts on a large file are byte-exact across call and job boundaries', async () => {
      const M = 1024 * 1024;
      const cases: [number, number][] = [
        [16 * M - 3, 20 * M + 7],
        [1, big.length - 2],
      ];
      for (const [offset, count] of cases) {
        const s = await sink();
        const sock = await createConnection([HOST, s.port]);
        assert.equal(await sendfile(sock, bigPath, { offset, count }), count);
        sock.close();
        const got = await s.received;
        assert.equal(got.length, count, `${offset}+${count}`);
        assert.ok(got.equals(big.subarray(offset, offset + count)), `${offset}+${count}`);
        await s.close();
      }
    });

    test('a reader that stops and starts many times gets every byte in order', async () => {
      // Each pause outlasts the addon's wait in the pool thread, so the transfer parks on the
      // event loop and resumes many times.
      const s = await sink({ throttle: { bytes: 4 * 1024 * 1024, ms: 40 } });
      const sock = await createConnection([HOST, s.port]);
      assert.equal(await sendfile(sock, bigPath, { offset: 3 }), big.length - 3);
      sock.close();
      assert.ok((await s.received).equals(big.subarray(3)));
      await s.close();
    });

    test('a count larger than the file sends to its end, also past waits for a slow reader', async () => {
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      assert.equal(
        await sendfile(sock, bigPath, { offset: 5, count: big.length * 2 }),
        big.length - 5,
      );
      sock.close();
      assert.ok((await s.received).equals(big.subarray(5)));
      await s.close();
    });

    test('a slow reader forces partial sends; the bytes still arrive exact and the loop keeps running', async () => {
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      let ticks = 0;
      const iv = setInterval(() => ticks++, 5);
      try {
        assert.equal(await sendfile(sock, bigPath, { offset: 7 }), big.length - 7);
      } finally {
        clearInterval(iv);
      }
      assert.ok(ticks > 0, 'timers ran while the transfer waited for the reader');
      sock.close();
      assert.ok((await s.received).equals(big.subarray(7)));
      await s.close();
    });

    test('a file shorter than count sends what there is', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      assert.equal(
        await sendfile(sock, path, { offset: content.length - 100, count: 1_000_000 }),
        100,
      );
      assert.equal(await sendfile(sock, path, { offset: content.length + 5 }), 0);
      sock.close();
      assert.ok((await s.received).equals(content.subarray(content.length - 100)));
      await s.close();
    });

    test('writes before and during the transfer do not interleave with the file', async () => {
      const s = await sink({ slow: true });
      const [, writer] = await openConnection(HOST, s.port);
      writer.write('HEAD');
      const n = 20_000_000;
      const p = sendfile(writer, bigPath, { count: n });
      writer.write('TAIL');
      await sleep(5);
      writer.write('TAIL');
      assert.equal(await p, n);
      writer.close();
      const got = await s.received;
      assert.equal(got.length, 12 + n);
      assert.equal(got.subarray(0, 4).toString(), 'HEAD');
      assert.ok(got.subarray(4, 4 + n).equals(big.subarray(0, n)));
      assert.equal(got.subarray(got.length - 8).toString(), 'TAILTAIL');
      await writer.waitClosed();
      await s.close();
    });

    test('two transfers on one socket are serialized', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      const [a, b] = await Promise.all([
        sendfile(sock, path, { offset: 0, count: 500_000 }),
        sendfile(sock, path, { offset: 500_000, count: 500_000 }),
      ]);
      assert.equal(a + b, 1_000_000);
      sock.close();
      assert.ok((await s.received).equals(content.subarray(0, 1_000_000)));
      await s.close();
    });

    test('a write between two sendfile() calls goes out between their files', async () => {
      // The second call comes after 'B' was written: its file must follow 'B', as the first
      // file follows 'A' and 'C' follows the second file.
      const s = await sink({ slow: true });
      const [, writer] = await openConnection(HOST, s.port);
      writer.write('A');
      const first = sendfile(writer, path, { offset: 0, count: 500_000 });
      writer.write('B');
      const second = sendfile(writer, path, { offset: 500_000, count: 500_000 });
      writer.write('C');
      assert.deepEqual(await Promise.all([first, second]), [500_000, 500_000]);
      writer.close();
      const got = await s.received;
      const expected = Buffer.concat([
        Buffer.from('A'),
        content.subarray(0, 500_000),
        Buffer.from('B'),
        content.subarray(500_000, 1_000_000),
        Buffer.from('C'),
      ]);
      assert.equal(got.length, expected.length);
      assert.equal(
        got.subarray(500_001, 500_002).toString(),
        'B',
        "'B' right after the first file",
      );
      assert.ok(got.equals(expected));
      await writer.waitClosed();
      await s.close();
    });

    test('a transfer that fails before its turn lets the held writes and the next one through in order', async () => {
      const s = await sink({ slow: true });
      const [, writer] = await openConnection(HOST, s.port);
      const empty = join(dir, 'empty.bin');
      writeFileSync(empty, '');
      const first = sendfile(writer, path, { offset: 0, count: 300_000 });
      writer.write('B');
      const failing = sendfile(writer, join(dir, 'no-such-file'));
      const nothing = sendfile(writer, empty);
      writer.write('C');
      const third = sendfile(writer, path, { offset: 300_000, count: 300_000 });
      writer.write('D');
      await assert.rejects(failing, (e: unknown) => e instanceof OSError);
      assert.equal(await nothing, 0);
      assert.deepEqual(await Promise.all([first, third]), [300_000, 300_000]);
      writer.close();
      const expected = Buffer.concat([
        content.subarray(0, 300_000),
        Buffer.from('BC'),
        content.subarray(300_000, 600_000),
        Buffer.from('D'),
      ]);
      assert.ok((await s.received).equals(expected));
      await writer.waitClosed();
      await s.close();
    });

    for (const transport of ['auto', 'net'] as const) {
      for (const how of ['writeEof', 'close'] as const) {
        test(`a ${how}() between two sendfile() calls: the second sends nothing and raises BrokenPipeError (${transport} transport)`, async () => {
          let outcome!: (v: unknown[]) => void;
          const results = new Promise<unknown[]>((r) => (outcome = r));
          await using server = await startServer(
            async (_reader, writer) => {
              const first = sendfile(writer, path, { count: 500_000 });
              if (how === 'close') writer.close();
              else writer.writeEof();
              const second = sendfile(writer, path, { offset: 500_000 });
              const got = await Promise.allSettled([first, second]);
              writer.close();
              outcome([
                ...got,
                await writer.waitClosed().then(
                  () => 'closed',
                  (e) => e,
                ),
              ]);
            },
            HOST,
            0,
            { transport },
          );
          const [reader, writer] = await openConnection(HOST, portOf(server));
          await using _ = writer;
          // Nothing after the EOF: the second file must not follow the first.
          const received = await reader.read();
          assert.equal(received.length, 500_000);
          assert.ok(received.equals(content.subarray(0, 500_000)));
          const [first, second, closed] = await results;
          assert.deepEqual(first, { status: 'fulfilled', value: 500_000 });
          assert.equal((second as PromiseSettledResult<number>).status, 'rejected');
          const e = (second as PromiseRejectedResult).reason;
          assert.ok(e instanceof BrokenPipeError, String(e));
          assert.equal(closed, 'closed', 'the connection ends cleanly');
        });
      }

      test(`sendfile() after writeEof() with bytes still queued raises BrokenPipeError at the call, before it opens the file, while the peer reads nothing (${transport} transport)`, async () => {
        // writeEof() with bytes queued: the end is pending, yet nothing may be written after it,
        // and the socket says so at once (`writable` false, as net's end() makes it): sendfile()
        // refuses it at the call, before it opens the file (a missing one is no ENOENT), and
        // does not wait for the queue to flush, that is for the peer, who reads nothing here.
        let outcome!: (v: unknown[]) => void;
        const results = new Promise<unknown[]>((r) => (outcome = r));
        // Far more than loopback's socket buffers take from a peer that does not read.
        const queued = Buffer.alloc(16 * 1024 * 1024, 7);
        await using server = await startServer(
          async (_reader, writer) => {
            writer.write(queued);
            writer.writeEof();
            const writable = (writer.getExtraInfo('socket') as NetSocket).writable;
            const settle = (p: Promise<number>) =>
              p.then(
                (n) => n,
                (e: unknown) => e,
              );
            const missing = await settle(sendfile(writer, join(dir, 'no-such-file')));
            outcome([writable, missing, await settle(sendfile(writer, path))]);
            writer.close();
          },
          HOST,
          0,
          { transport },
        );
        const [reader, writer] = await openConnection(HOST, portOf(server));
        await using _ = writer;
        const [writable, missing, real] = await settles(
          results,
          'sendfile() after writeEof(), the peer not reading',
          20_000,
        );
        assert.equal(writable, false, 'not writable once writeEof() was called');
        assert.ok(missing instanceof BrokenPipeError, `a missing file: ${String(missing)}`);
        assert.ok(real instanceof BrokenPipeError, String(real));
        const received = await reader.read();
        assert.ok(received.equals(queued), 'the queued bytes, then EOF: no file after it');
      });
    }

    test("a write()/end() with a bad argument during a transfer throws in the call, as Node's, and holds nothing", async () => {
      const s = await sink();
      const ns = await connectNet(s.port);
      try {
        const bad = ns as unknown as {
          write: (...a: unknown[]) => boolean;
          end: (...a: unknown[]) => void;
        };
        const first = sendfile(ns, path, { count: 300_000 });
        // What Node's own write() and end() throw on this socket without a transfer.
        assert.throws(() => bad.write(123), { code: 'ERR_INVALID_ARG_TYPE' });
        assert.throws(() => bad.write(null), { code: 'ERR_STREAM_NULL_VALUES' });
        assert.throws(() => bad.write('x', 'no-such-encoding'), { code: 'ERR_UNKNOWN_ENCODING' });
        assert.throws(() => bad.end({}), { code: 'ERR_INVALID_ARG_TYPE' });
        // Any ArrayBufferView is bytes to Node: held and sent, in order.
        assert.equal(bad.write(new DataView(new Uint8Array([0x64, 0x76]).buffer)), true);
        const second = sendfile(ns, path, { offset: 300_000, count: 300_000 });
        ns.write('tail');
        ns.end();
        assert.deepEqual(
          await settles(Promise.all([first, second]), 'the two transfers', 20_000),
          [300_000, 300_000],
        );
        const got = await settles(s.received, 'the EOF at the peer', 20_000);
        const expected = Buffer.concat([
          content.subarray(0, 300_000),
          Buffer.from('dv'),
          content.subarray(300_000, 600_000),
          Buffer.from('tail'),
        ]);
        assert.ok(got.equals(expected), 'both files, the held writes in order, then EOF');
        // (Not `write`: net sets its own once the peer's FIN came, writeAfterFIN.)
        assert.equal(Object.hasOwn(ns, 'writableNeedDrain'), false, 'the shadow is off');
        assert.equal(Object.hasOwn(ns, 'end'), false);
      } finally {
        // On a failure, nothing must keep the test file open.
        ns.destroy();
        await s.close();
      }
    });

    test('a held write that throws when replayed fails the socket, not the transfer, and stops nothing', async () => {
      const s = await sink();
      const ns = await connectNet(s.port);
      try {
        // A socket class whose write() refuses one chunk only once it is replayed: it passed the
        // check at the call, as a well-formed chunk does.
        const netWrite = Object.getPrototypeOf(ns).write as (...a: unknown[]) => boolean;
        const picky = Object.create(Object.getPrototypeOf(ns), {
          write: {
            configurable: true,
            writable: true,
            value(this: NetSocket, ...a: unknown[]): boolean {
              if (a[0] === 'refused') throw new Error('refused by the socket class');
              return netWrite.apply(this, a);
            },
          },
        });
        Object.setPrototypeOf(ns, picky);
        const errors: unknown[] = [];
        ns.on('error', (e) => errors.push(e));
        const first = sendfile(ns, path, { count: 300_000 });
        let cbError: unknown = 'the callback was not called';
        ns.write('refused', (e) => {
          cbError = e;
        });
        const second = sendfile(ns, path, { offset: 300_000, count: 300_000 });
        ns.write('tail');
        ns.end();
        // The first transfer succeeded: the failure is not its own.
        assert.equal(await settles(first, 'the first transfer', 20_000), 300_000);
        // The second found the socket destroyed by the failed write: it ends, sending nothing.
        const e2 = await settles(
          second.then(
            () => 'resolved',
            (e: unknown) => e,
          ),
          'the second transfer',
          20_000,
        );
        assert.match(String(e2), /refused by the socket class/);
        await until(() => errors.length > 0, "the socket's 'error'");
        assert.match(String(errors[0]), /refused by the socket class/);
        assert.match(String(cbError), /refused by the socket class/, "the write's callback");
        assert.equal(ns.destroyed, true);
        // (Not `write`: net sets its own once the peer's FIN came, writeAfterFIN.)
        assert.equal(Object.hasOwn(ns, 'writableNeedDrain'), false, 'the shadow is off');
        assert.equal(Object.hasOwn(ns, 'end'), false);
        const got = await settles(s.received, 'the peer sees the connection end', 20_000);
        assert.ok(got.length <= 300_000 && got.equals(content.subarray(0, got.length)));
      } finally {
        // On a failure, nothing must keep the test file open.
        ns.destroy();
        await s.close();
      }
    });

    test('a peer that resets mid-transfer fails it with a ConnectionError', async () => {
      const s = await sink({ reset: 200_000 });
      const sock: Socket = await createConnection([HOST, s.port]);
      await assert.rejects(sendfile(sock, bigPath), (e: unknown) => {
        assert.ok(e instanceof ConnectionError, String(e));
        return true;
      });
      sock.close();
      await s.close();
    });

    test('destroying the socket during the transfer stops it with BrokenPipeError; the peer gets a prefix and EOF', async () => {
      let release!: () => void;
      const s = await sink({ pausedUntil: new Promise<void>((r) => (release = r)) });
      const ns = await connectNet(s.port);
      const failed = assert.rejects(sendfile(ns, bigPath), BrokenPipeError);
      await sleep(100); // the reader does not read: the transfer waits for room
      ns.destroy();
      await failed;
      release();
      const got = await s.received;
      assert.ok(got.length < big.length, `${got.length} bytes of ${big.length} arrived`);
      assert.ok(got.equals(big.subarray(0, got.length)), 'what arrived is a prefix of the file');
      await s.close();
    });

    test('destroying the socket stops the transfer even while the peer keeps reading', async () => {
      // The kernel path sends through a duplicate of the descriptor; if it went on after the
      // destroy, this steady reader would get the whole file before its EOF.
      let destroyNow!: () => void;
      const reached = new Promise<void>((r) => (destroyNow = r));
      const s = await sink({
        throttle: { bytes: 1024 * 1024, ms: 20 },
        onBytes: (n) => n >= 4 * 1024 * 1024 && destroyNow(),
      });
      const ns = await connectNet(s.port);
      const failed = assert.rejects(sendfile(ns, bigPath), BrokenPipeError);
      await reached;
      ns.destroy();
      await failed;
      const got = await s.received;
      assert.ok(got.length < big.length, `${got.length} bytes of ${big.length} arrived`);
      assert.ok(got.equals(big.subarray(0, got.length)), 'what arrived is a prefix of the file');
      await s.close();
    });

    test('a socket opened after a destroy mid-transfer (same descriptor number) gets none of the file', async () => {
      let release!: () => void;
      const a = await sink({ pausedUntil: new Promise<void>((r) => (release = r)) });
      const b = await sink();
      const nsA = await connectNet(a.port);
      const fdA = fdOf(nsA);
      const failed = assert.rejects(sendfile(nsA, bigPath), BrokenPipeError);
      await sleep(100);
      nsA.destroy();
      // The lowest free descriptor: usually the one nsA just gave back.
      const nsB = await connectNet(b.port);
      const reused = fdOf(nsB) === fdA;
      nsB.write('only this');
      await failed;
      await sleep(50);
      await new Promise<void>((r) => nsB.end(r));
      release();
      assert.equal((await b.received).toString(), 'only this', `descriptor reused: ${reused}`);
      const got = await a.received;
      assert.ok(got.equals(big.subarray(0, got.length)));
      nsB.destroy();
      await a.close();
      await b.close();
    });

    test("a weft socket's close() during the transfer closes it after the file", async () => {
      // close() is graceful (it ends the stream once queued writes went out), and the file
      // counts as queued: the peer gets all of it, then EOF.
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      const p = sendfile(sock, bigPath, { count: 10_000_000 });
      await sleep(20);
      sock.close();
      assert.equal(await p, 10_000_000);
      assert.ok((await s.received).equals(big.subarray(0, 10_000_000)));
      await s.close();
    });

    test('an aborted signal stops the transfer with its reason', async () => {
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      const ac = new AbortController();
      const p = sendfile(sock, bigPath, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop now')), 20);
      await assert.rejects(p, /stop now/);
      sock.close();
      await s.received;
      await s.close();
    });

    test('an abort while the peer reads nothing rejects at once and leaves the socket open', {
      timeout: 20_000,
    }, async () => {
      let release!: () => void;
      const s = await sink({ pausedUntil: new Promise<void>((r) => (release = r)) });
      const ns = await connectNet(s.port);
      const ac = new AbortController();
      const p = sendfile(ns, bigPath, { signal: ac.signal });
      ns.write('after the file');
      // The abort must find the transfer waiting for room, not between two chunks.
      await until(
        () =>
          backend === 'copy' || !sendfile.native ? ns.writableNeedDrain : parkedTransfers() === 1,
        'the transfer to wait for the peer',
      );
      ac.abort(new Error('stop now'));
      await assert.rejects(p, /stop now/);
      // Nothing was read yet: the rejection did not wait for the peer.
      assert.equal(ns.destroyed, false);
      ns.end();
      release();
      const got = await s.received;
      const tail = Buffer.from('after the file');
      const head = got.subarray(0, got.length - tail.length);
      assert.ok(got.subarray(head.length).equals(tail), 'the held write comes last');
      assert.ok(head.length > 0 && head.length < big.length, `${head.length} bytes of the file`);
      assert.ok(
        head.equals(big.subarray(0, head.length)),
        'what came first is a prefix of the file',
      );
      await s.close();
    });

    test('a transfer waiting for its turn behind one the peer never reads is cancelled at once, and sends nothing', {
      timeout: 20_000,
    }, async () => {
      let release!: () => void;
      const s = await sink({ pausedUntil: new Promise<void>((r) => (release = r)) });
      const ns = await connectNet(s.port);
      const first = new AbortController();
      const p1 = sendfile(ns, bigPath, { signal: first.signal });
      ns.write('between');
      const second = new AbortController();
      const p2 = sendfile(ns, path, { signal: second.signal });
      const third = createTask(() => sendfile(ns, path));
      ns.write('after');
      await until(
        () =>
          backend === 'copy' || !sendfile.native ? ns.writableNeedDrain : parkedTransfers() === 1,
        'the first transfer to wait for the peer',
      );
      // The first still waits for the peer: the two behind it must not wait for it to end.
      second.abort(new Error('stop the second'));
      await assert.rejects(settles(p2, 'the second transfer, aborted', 10_000), /stop the second/);
      third.cancel();
      await assert.rejects(
        settles(Promise.resolve(third), 'the third transfer, cancelled', 10_000),
      );
      assert.equal(third.cancelled(), true);
      first.abort(new Error('stop the first'));
      await assert.rejects(p1, /stop the first/);
      ns.end();
      release();
      const got = await s.received;
      // A prefix of the big file, then the writes held behind it: neither of the two cancelled
      // transfers sent a byte.
      const tail = Buffer.from('betweenafter');
      const head = got.subarray(0, got.length - tail.length);
      assert.ok(got.subarray(head.length).equals(tail), 'the held writes come last, in order');
      assert.ok(head.equals(big.subarray(0, head.length)), 'a prefix of the first file');
      await s.close();
    });

    test("bug-bash sf3: a write() during the transfer keeps Node's contract: false is followed by 'drain'", async () => {
      const s = await sink({ slow: true });
      const ns = await connectNet(s.port);
      const p = sendfile(ns, bigPath, { count: 4 * 1024 * 1024 });
      // Nothing of ours is queued in front of a small write on the kernel path: it is taken.
      const small = ns.write('H');
      if (backend === 'kernel') assert.equal(small, true);
      // Written until the held bytes reach the high-water mark: then false, and needDrain.
      const chunk = Buffer.alloc(4096, 0x41);
      let writes = 0;
      while (ns.write(chunk)) writes++;
      writes++;
      assert.equal(ns.writableNeedDrain, true);
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<string>((r) => ns.once('drain', () => r('drain'))),
        new Promise<string>((r) => {
          timer = setTimeout(() => r('no drain within 30 s'), 30_000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(drained, 'drain');
      assert.equal(await p, 4 * 1024 * 1024);
      ns.end();
      const got = await s.received;
      assert.equal(got.length, 4 * 1024 * 1024 + 1 + writes * chunk.length);
      assert.ok(got.subarray(0, 4 * 1024 * 1024).equals(big.subarray(0, 4 * 1024 * 1024)));
      assert.equal(got.subarray(4 * 1024 * 1024, 4 * 1024 * 1024 + 1).toString(), 'H');
      await s.close();
    });

    test('bug-bash sf7: file errors are OSErrors (ENOENT, EBADF, EISDIR/EINVAL), a closed FileHandle RangeError', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      const isOs = (name: string) => (e: unknown) =>
        e instanceof OSError && e.errnoName === name && !/\(sendfile\)/.test(e.message);
      await assert.rejects(sendfile(sock, join(dir, 'missing')), isOs('ENOENT'));
      await assert.rejects(sendfile(sock, 99_999), isOs('EBADF'));
      await assert.rejects(sendfile(sock, -1), isOs('EBADF'));
      await assert.rejects(sendfile(sock, dir), (e: unknown) => {
        // sendfile(2) of a directory says EINVAL; read(2) of one, EISDIR. Worded once.
        assert.ok(e instanceof OSError, String(e));
        assert.ok(['EINVAL', 'EISDIR'].includes(e.errnoName), e.errnoName);
        assert.equal(e.message.match(/sendfile/g)?.length, 1, e.message);
        return true;
      });
      const fh = await open(path, 'r');
      await fh.close();
      await assert.rejects(sendfile(sock, fh), {
        name: 'RangeError',
        message: /closed FileHandle/,
      });
      sock.close();
      await s.received;
      await s.close();
    });

    test('a descriptor and a FileHandle work as the file', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      const fh = await open(path, 'r');
      try {
        assert.equal(await sendfile(sock, fh, { offset: 10, count: 20 }), 20);
        assert.equal(await sendfile(sock, fh.fd, { offset: 30, count: 20 }), 20);
      } finally {
        await fh.close();
      }
      sock.close();
      assert.ok((await s.received).equals(content.subarray(10, 50)));
      await s.close();
    });

    // Python's socket.sendfile calls os.sendfile until it returns 0 (or count is reached): the
    // size at the call bounds nothing. helper-122 found weft stopping at the size fstat gave.
    for (const count of [undefined, 24 * 1024 * 1024 + 100] as const) {
      test(`bytes appended during the transfer are sent too (count ${count ?? 'left out'})`, async () => {
        const M = 1024 * 1024;
        const growing = join(dir, `growing-${backend}-${count ?? 'eof'}.bin`);
        // Larger than loopback's socket buffers: the transfer is still under way at the append.
        writeFileSync(growing, big.subarray(0, 24 * M));
        let release!: () => void;
        const s = await sink({
          pausedUntil: new Promise<void>((r) => (release = r)),
          digest: true,
        });
        const ns = await connectNet(s.port);
        const p = sendfile(ns, growing, count === undefined ? {} : { count });
        await until(
          () =>
            backend === 'copy' || !sendfile.native ? ns.writableNeedDrain : parkedTransfers() === 1,
          'the transfer to wait for the peer',
        );
        const tail = big.subarray(5 * M, 6 * M);
        appendFileSync(growing, tail);
        release();
        const whole = Buffer.concat([big.subarray(0, 24 * M), tail]);
        const want = count === undefined ? whole : whole.subarray(0, count);
        assert.equal(await p, want.length);
        ns.end();
        assert.ok((await s.received).equals(sha256(want)));
        await s.close();
        rmSync(growing);
      });
    }

    // Python's socket.sendfile waits at most the socket's timeout for room before each send.
    test("a weft Socket's timeout fails a transfer the peer stopped reading with TimeoutError", {
      timeout: 30_000,
    }, async () => {
      let release!: () => void;
      const s = await sink({ pausedUntil: new Promise<void>((r) => (release = r)), digest: true });
      const sock = await createConnection([HOST, s.port]);
      sock.settimeout(200);
      await assert.rejects(sendfile(sock, bigPath), (e: unknown) => {
        assert.ok(e instanceof TimeoutError, String(e));
        assert.equal((e as Error).message, 'timed out');
        return true;
      });
      // As Python's: the socket stays open.
      assert.ok(sock.fileno() >= 0);
      sock.close();
      release();
      await s.received;
      await s.close();
    });

    test("a weft Socket's timeout bounds each stall, not the transfer: a reader that keeps reading finishes", async () => {
      // 16 pauses of 100 ms: the transfer outlasts the 1.5 s timeout, no stall comes near it.
      const s = await sink({ throttle: { bytes: 512 * 1024, ms: 100 }, digest: true });
      const sock = await createConnection([HOST, s.port]);
      sock.settimeout(1500);
      const n = 8 * 1024 * 1024;
      assert.equal(await sendfile(sock, bigPath, { count: n }), n);
      sock.close();
      assert.ok((await s.received).equals(sha256(big.subarray(0, n))));
      await s.close();
    });
  });
}

describe('sendfile over TLS', () => {
  // The socket's descriptor carries TLS records: sendfile(2) there would put the file's bytes
  // on the wire in clear and break the session. Python's SSLSocket.sendfile sends through
  // send(); weft takes its copy loop, through the TLSSocket.
  test('a TLS socket gets the file through TLS, byte-exact', async () => {
    _forceCopyLoop(false);
    let resolve!: (b: Buffer | Error) => void;
    const received = new Promise<Buffer | Error>((r) => (resolve = r));
    const server = tlsCreateServer({ key: TEST_KEY, cert: TEST_CERT }, (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('error', (e) => resolve(e));
      s.on('end', () => {
        resolve(Buffer.concat(parts));
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    const port = (server.address() as { port: number }).port;
    const client = tlsConnect({ host: HOST, port, rejectUnauthorized: false });
    client.on('error', () => {}); // a broken session fails the server side, asserted below
    await new Promise<void>((r) => client.once('secureConnect', () => r()));
    try {
      assert.equal(await sendfile(client, path, { offset: 5, count: 300_000 }), 300_000);
      client.end();
      const got = await received;
      assert.ok(Buffer.isBuffer(got), `the server saw ${String(got)}`);
      assert.ok(got.equals(content.subarray(5, 300_005)));
    } finally {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('sendfile and the thread pool', () => {
  test('transfers waiting for stalled readers leave the pool free for file work', async () => {
    _forceCopyLoop(false);
    // More stalled transfers than libuv has pool threads (4 unless UV_THREADPOOL_SIZE says).
    const n = Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 2;
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    const sinks = await Promise.all(
      Array.from({ length: n }, () => sink({ pausedUntil: paused, digest: true })),
    );
    const socks = await Promise.all(sinks.map((s) => createConnection([HOST, s.port])));
    const transfers = socks.map((sock) => sendfile(sock, bigPath));
    // Every transfer waits on the loop for its reader, holding no pool thread (a fixed 200 ms
    // here left that to chance on a loaded machine). The copy loop never holds one.
    if (sendfile.native) await until(() => parkedTransfers() >= n, 'every transfer parked');
    const order: string[] = [];
    const read = readFile(path).then((b) => {
      order.push('readFile');
      return b;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(() => {
        order.push('10 s passed');
        r();
      }, 10_000);
    });
    await Promise.race([read, timeout]);
    clearTimeout(timer);
    assert.deepEqual(order, ['readFile'], 'file work ran while every reader was stalled');
    assert.ok((await read).equals(content));
    release();
    assert.deepEqual(
      await Promise.all(transfers),
      socks.map(() => big.length),
    );
    for (const sock of socks) sock.close();
    const want = sha256(big);
    for (const s of sinks) assert.ok((await s.received).equals(want));
    for (const s of sinks) await s.close();
  });
});

describe('sendfile in a worker thread', () => {
  // The worker registers the TypeScript loader itself (on Node 20 a Worker inherits no hooks).
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { connect } = require('node:net');
    (async () => {
      const loader = await import(workerData.tsx);
      loader.register?.();
      const { sendfile } = await import(workerData.mod);
      const s = connect({ host: workerData.host, port: workerData.port });
      await new Promise((r) => s.once('connect', r));
      sendfile(s, workerData.path).catch(() => {});
      parentPort.postMessage('started');
    })();`;

  for (const reader of ['stalled', 'reading'] as const) {
    test(`a worker ended during a transfer to a ${reader} reader closes cleanly`, async () => {
      _forceCopyLoop(false);
      const M = 1024 * 1024;
      // Both readers stop reading at some point until the worker has ended: the stalled one
      // after 2 MiB, the reading one (1 MiB per 5 ms) half-way, so the file cannot have arrived
      // in full whenever the terminate lands (after a fixed 200 ms sleep, a loaded machine could
      // let the reading one take all 48 MiB first).
      let release!: () => void;
      let received = 0;
      const s = await sink({
        pausedUntil: new Promise<void>((r) => (release = r)),
        holdAfter: reader === 'stalled' ? 2 * M : big.length / 2,
        throttle: reader === 'reading' ? { bytes: M, ms: 5 } : undefined,
        onBytes: (n) => (received = n),
      });
      const w = new Worker(code, {
        eval: true,
        workerData: {
          tsx: TS_WORKER_LOADER,
          mod: new URL('../../src/sendfile/index.ts', import.meta.url).href,
          host: HOST,
          port: s.port,
          path: bigPath,
        },
      });
      await new Promise((r) => w.once('message', r));
      await until(() => received >= 2 * M, 'the first 2 MiB arrived'); // under way
      // The stalled reader holds from 2 MiB on: the transfer fills the socket and parks.
      if (reader === 'stalled' && sendfile.native) {
        await until(() => parkedTransfers() >= 1, 'the transfer parked on the worker loop');
      }
      // Parked on the worker's loop (stalled) or in a pool job (reading): either way the
      // worker's loop must close without open handles, which would abort the process.
      assert.equal(await w.terminate(), 1);
      release();
      const got = await s.received;
      assert.ok(got.length < big.length, `${got.length} bytes of ${big.length}`);
      assert.ok(got.equals(big.subarray(0, got.length)), 'what arrived is a prefix of the file');
      await s.close();
    });
  }
});

describe('sendfile arguments', () => {
  test('a closed socket raises BrokenPipeError; bad arguments raise typed errors', async () => {
    const s = await sink();
    const sock = await createConnection([HOST, s.port]);
    await assert.rejects(sendfile(sock, path, { offset: -1 }), RangeError);
    await assert.rejects(sendfile(sock, path, { count: -1 }), RangeError);
    // A wrong type is a TypeError (bug-bash: offset '3' was a RangeError), as Python's
    // "'float' object cannot be interpreted as an integer".
    await assert.rejects(sendfile(sock, path, { offset: '3' as never }), TypeError);
    await assert.rejects(sendfile(sock, path, { count: 1.5 }), TypeError);
    await assert.rejects(sendfile(sock, path, { offset: Number.NaN }), TypeError);
    await assert.rejects(sendfile(sock, {} as never), TypeError);
    await assert.rejects(sendfile('nope' as never, path), TypeError);
    sock.close();
    await assert.rejects(sendfile(sock, path), BrokenPipeError);
    await s.received;
    await s.close();
  });

  test('options that are not an object, or a signal that is not an AbortSignal, raise TypeError and send nothing', async () => {
    const s = await sink();
    const sock = await createConnection([HOST, s.port]);
    // helper-122: a number as the options was ignored (the whole file went), a bad signal
    // sent the file before failing on Node's words.
    await assert.rejects(sendfile(sock, path, 5 as never), {
      name: 'TypeError',
      message: /options must be an object/,
    });
    await assert.rejects(sendfile(sock, path, { signal: {} as never }), {
      name: 'TypeError',
      message: /signal must be an AbortSignal/,
    });
    // null is no options, as for every weft call that takes them.
    assert.equal(await sendfile(sock, path, null), content.length);
    sock.close();
    assert.equal((await s.received).length, content.length);
    await s.close();
  });

  test("a non-blocking weft Socket raises RangeError (Python's ValueError); an empty file still sends 0", async () => {
    const s = await sink();
    const sock = await createConnection([HOST, s.port]);
    sock.setblocking(false);
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, '');
    // Python checks the size first: an empty file (a pipe, /dev/zero) sends 0 on any socket.
    assert.equal(await sendfile(sock, empty), 0);
    await assert.rejects(sendfile(sock, path), {
      name: 'RangeError',
      message: /non-blocking sockets are not supported/,
    });
    sock.close();
    assert.equal((await s.received).length, 0);
    await s.close();
    rmSync(empty);
  });

  test('a socket whose connect failed raises its error (ConnectionRefusedError), also behind another transfer', async () => {
    // A port nobody listens on (a server closed at once).
    const srv = netCreateServer();
    await new Promise<void>((r) => srv.listen(0, HOST, r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const ns = netConnect({ host: HOST, port });
    ns.on('error', () => {});
    // The second call finds the socket destroyed by the refusal (it waited for the first).
    const results = await Promise.allSettled([sendfile(ns, path), sendfile(ns, path)]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof ConnectionRefusedError, String(r.reason));
    }
  });

  test('sendfile.native says whether the kernel path is in use', () => {
    assert.equal(typeof sendfile.native, 'boolean');
    const built = existsSync(
      new URL('../../native/build/Release/weft_sendfile.node', import.meta.url),
    );
    if (process.platform === 'linux' && process.env.WEFT_NO_NATIVE !== '1') {
      assert.equal(
        sendfile.native,
        built,
        'an addon built but not loaded is out of date: rebuild it with `node native/build.mjs`',
      );
    }
  });
});
