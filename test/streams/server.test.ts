import assert from 'node:assert/strict';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CancelledError, createTask, sleep } from '../../src/asyncio/index.js';
import { RuntimeError, TimeoutError } from '../../src/internal/errors.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { Socket } from '../../src/socket/index.js';
import {
  ConnectionRefusedError,
  ConnectionResetError,
  IncompleteReadError,
  openConnection,
  openUnixConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

async function upperEcho(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (;;) {
      const data = await reader.read(1024);
      if (data.length === 0) break;
      writer.write(data.toString('latin1').toUpperCase());
      await writer.drain();
    }
  } catch (e) {
    if (!(e instanceof ConnectionResetError)) throw e;
  } finally {
    writer.close();
  }
}

describe('streams over TCP', () => {
  test('an echo round trip returns the upper-cased bytes and reports peer and sock names', async () => {
    await using server = await startServer(upperEcho, HOST, 0);
    const port = portOf(server);
    const [reader, writer] = await openConnection(HOST, port);
    writer.write('hello\n');
    await writer.drain();
    assert.equal((await reader.readline()).toString(), 'HELLO\n');
    assert.deepEqual(writer.getExtraInfo('peername'), [HOST, port]);
    const sockname = writer.getExtraInfo('sockname');
    assert.ok(Array.isArray(sockname) && sockname[0] === HOST);
    assert.equal(writer.getExtraInfo('nonsense', 'dflt'), 'dflt');
    writer.close();
    await writer.waitClosed();
    assert.ok(writer.isClosing());
  });

  test('bytes written in many small pieces are read back whole by readexactly', async () => {
    let got: Buffer | null = null;
    await using server = await startServer(
      async (reader, writer) => {
        got = await reader.readexactly(10_000);
        writer.write(got);
        await writer.drain();
        writer.close();
      },
      HOST,
      0,
    );
    const sock = netConnect({ host: HOST, port: portOf(server) });
    sock.setNoDelay(true);
    const payload = Buffer.alloc(10_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    for (let off = 0; off < payload.length; off += 997) {
      sock.write(payload.subarray(off, off + 997));
      await sleep(0);
    }
    const back: Buffer[] = [];
    for await (const chunk of sock) back.push(chunk as Buffer);
    assert.ok(Buffer.concat(back).equals(payload));
    assert.ok(got !== null && (got as Buffer).equals(payload));
  });

  test('half-close: writeEof lets the server read EOF and still answer', async () => {
    await using server = await startServer(
      async (reader, writer) => {
        const all = await reader.read();
        assert.ok(reader.atEof());
        writer.write(`got ${all.length} bytes`);
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    assert.ok(writer.canWriteEof());
    writer.write('abc');
    writer.write('defg');
    writer.writeEof();
    assert.throws(() => writer.write('more'), /after writeEof/);
    assert.equal((await reader.read()).toString(), 'got 7 bytes');
    assert.ok(reader.atEof());
    // Both sides sent EOF: asyncio's transport (and so weft's writer, helper-92) stays open
    // until close(); wait_closed() without it would wait for ever.
    assert.equal(writer.isClosing(), false);
    writer.close();
    await writer.waitClosed();
  });

  test('a peer reset makes the waiting read raise ConnectionResetError and drain too', async () => {
    const accepted: NetSocket[] = [];
    const { createServer } = await import('node:net');
    const raw = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => raw.listen(0, HOST, r));
    const port = (raw.address() as { port: number }).port;
    try {
      const [reader, writer] = await openConnection(HOST, port);
      while (accepted.length === 0) await sleep(1);
      const pending = reader.read(10);
      accepted[0]!.resetAndDestroy();
      await assert.rejects(pending, (e: unknown) => {
        assert.ok(e instanceof ConnectionResetError);
        assert.equal(e.errno > 0, true);
        return true;
      });
      await assert.rejects(writer.drain(), ConnectionResetError);
      writer.write('dropped after loss');
      // asyncio: the close waiter failed with the reset, so wait_closed() raises it.
      await assert.rejects(writer.waitClosed(), ConnectionResetError);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  test('bug-bash bb4: once a reset failed the read, the writer is closing (asyncio: is_closing() is True)', async () => {
    const accepted: NetSocket[] = [];
    const { createServer } = await import('node:net');
    const raw = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => raw.listen(0, HOST, r));
    const port = (raw.address() as { port: number }).port;
    try {
      const [reader, writer] = await openConnection(HOST, port);
      while (accepted.length === 0) await sleep(1);
      const pending = reader.read(10);
      accepted[0]!.resetAndDestroy();
      await assert.rejects(pending, ConnectionResetError);
      assert.equal(writer.isClosing(), true);
      await assert.rejects(writer.waitClosed(), ConnectionResetError);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  test('waitClosed raises the reset a connection ended with, every time and after close() too; a clean close resolves; await using does not raise it', async () => {
    const accepted: NetSocket[] = [];
    const { createServer } = await import('node:net');
    const raw = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => raw.listen(0, HOST, r));
    const port = (raw.address() as { port: number }).port;
    try {
      // A waitClosed already waiting when the reset comes fails with it.
      const [reader, writer] = await openConnection(HOST, port);
      while (accepted.length === 0) await sleep(1);
      const waiting = writer.waitClosed();
      accepted[0]!.resetAndDestroy();
      await assert.rejects(
        waiting,
        (e: unknown) => e instanceof ConnectionResetError && e.errno > 0,
      );
      await assert.rejects(reader.read(10), ConnectionResetError);
      writer.close();
      await assert.rejects(writer.waitClosed(), ConnectionResetError);
      await assert.rejects(writer.waitClosed(), ConnectionResetError);

      // The peer closing cleanly, then our close(): nothing to raise.
      const [reader2, writer2] = await openConnection(HOST, port);
      while (accepted.length < 2) await sleep(1);
      accepted[1]!.end();
      assert.equal((await reader2.read(10)).length, 0);
      writer2.close();
      await writer2.waitClosed();

      // `await using` over a reset connection ends without raising.
      {
        const [reader3, writer3] = await openConnection(HOST, port);
        await using _w = writer3;
        while (accepted.length < 3) await sleep(1);
        accepted[2]!.resetAndDestroy();
        await assert.rejects(reader3.read(10), ConnectionResetError);
      }
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  test('bug-bash bb4: writelines with an item that is not bytes raises TypeError and sends nothing', async () => {
    let got: Buffer | null = null;
    await using server = await startServer(
      async (reader, writer) => {
        got = await reader.read();
        writer.close();
      },
      HOST,
      0,
    );
    const [, writer] = await openConnection(HOST, portOf(server));
    assert.throws(() => writer.writelines(['a', 5 as never, 'b']), TypeError);
    assert.throws(() => writer.writelines(5 as never), TypeError);
    assert.throws(() => writer.writelines(null as never), TypeError);
    writer.writelines(
      (function* () {
        yield 'z';
        yield Buffer.from('!');
      })(),
    );
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    assert.equal(String(got), 'z!');
  });

  test('bug-bash bb4: a buffer refilled right after write() does not change the bytes sent', async () => {
    await using server = await startServer(
      async (_reader, writer) => {
        // More than the kernel's buffers hold: most of it is still queued when write returns.
        const big = Buffer.alloc(32 << 20, 1);
        writer.write(big);
        big.fill(2);
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    const got = await reader.read();
    assert.equal(got.length, 32 << 20);
    assert.equal(got.indexOf(2), -1);
    writer.close();
    await writer.waitClosed();
  });

  test("a client reset makes the server handler's waiting read raise ConnectionResetError", async () => {
    let seen: unknown = null;
    let waiting = false;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await using server = await startServer(
      async (reader, writer) => {
        try {
          waiting = true;
          await reader.read(10);
        } catch (e) {
          seen = e;
        } finally {
          writer.close();
          done();
        }
      },
      HOST,
      0,
    );
    const sock = netConnect({ host: HOST, port: portOf(server) });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    while (!waiting) await sleep(1);
    await sleep(5);
    sock.resetAndDestroy();
    await finished;
    assert.ok(seen instanceof ConnectionResetError, String(seen));
  });

  test('a handler that throws after writing is reported and its connection closes after sending the reply', async () => {
    const reported: unknown[] = [];
    setExceptionHandler((ctx) => reported.push(ctx.exception));
    try {
      for (const withDrain of [false, true]) {
        const boom = new Error(`handler boom (drain ${withDrain})`);
        await using server = await startServer(
          async (reader, writer) => {
            await reader.readline();
            writer.write('reply\n');
            if (withDrain) await writer.drain();
            throw boom;
          },
          HOST,
          0,
        );
        const [reader, writer] = await openConnection(HOST, portOf(server));
        writer.write('hi\n');
        // read() to EOF: a reset instead of a graceful close would raise here.
        assert.equal((await reader.read()).toString(), 'reply\n', `drain ${withDrain}`);
        assert.ok(reader.atEof());
        assert.equal(reported.at(-1), boom);
        writer.close();
        await writer.waitClosed();
      }
      assert.equal(reported.length, 2);
    } finally {
      setExceptionHandler(null);
    }
  });

  test('abort after a drained write still sends what drain reported written', async () => {
    await using server = await startServer(
      async (reader, writer) => {
        await reader.readline();
        writer.write('drained\n');
        await writer.drain();
        writer.abort();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('hi\n');
    assert.equal((await reader.read()).toString(), 'drained\n');
    assert.ok(reader.atEof());
    writer.close();
    await writer.waitClosed();
  });

  test('sendfile through a server-side StreamWriter sends the file after earlier writes', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { sendfile } = await import('../../src/sendfile/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'weft-streams-sf-'));
    const path = join(dir, 'f.bin');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    writeFileSync(path, data);
    try {
      await using server = await startServer(
        async (_reader, writer) => {
          writer.write('HEAD');
          const p = sendfile(writer, path, { offset: 1000 });
          writer.write('TAIL');
          await p;
          writer.close();
        },
        HOST,
        0,
      );
      const [reader, writer] = await openConnection(HOST, portOf(server));
      const got = await reader.read();
      assert.equal(got.length, 8 + data.length - 1000);
      assert.equal(got.subarray(0, 4).toString(), 'HEAD');
      assert.ok(got.subarray(4, got.length - 4).equals(data.subarray(1000)));
      assert.equal(got.subarray(got.length - 4).toString(), 'TAIL');
      writer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('small writes sent in batches arrive byte-exact and in order through partial sends to a slow reader', async () => {
    // Two small writes per turn (the first batched, the second queued behind it), far more in
    // total than the loopback buffers hold: batch sends come back partial or EAGAIN.
    const WORDS = 1024; // 4 KiB a write
    const TOTAL = 24 * 1024 * 1024;
    let written = 0;
    await using server = await startServer(
      async (_reader, writer) => {
        let word = 0;
        const next = (): Buffer => {
          const b = Buffer.allocUnsafe(WORDS * 4);
          for (let i = 0; i < WORDS; i++) b.writeUInt32LE(word++, i * 4);
          return b;
        };
        while (written < TOTAL) {
          writer.write(next());
          writer.write(next());
          written += WORDS * 8;
          await writer.drain();
        }
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    await sleep(50); // the reader lags: the kernel buffers fill
    let word = 0;
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const d = await reader.read(65536);
      if (d.length === 0) break;
      const all = carry.length > 0 ? Buffer.concat([carry, d]) : d;
      const whole = all.length - (all.length % 4);
      for (let i = 0; i < whole; i += 4) {
        if (all.readUInt32LE(i) !== word)
          assert.fail(`word ${word} arrived as ${all.readUInt32LE(i)}`);
        word++;
      }
      carry = all.subarray(whole);
    }
    assert.equal(word * 4, TOTAL);
    assert.equal(carry.length, 0);
    writer.close();
    await writer.waitClosed();
  });

  test('drain blocks while a slow reader leaves the send queue full, then resumes', async () => {
    let serverWriter: StreamWriter | null = null;
    let drained = false;
    const chunk = Buffer.alloc(64 * 1024, 120);
    // Far more than loopback socket buffers can hold (tcp_rmem may autotune to 32 MiB or more).
    const TOTAL = 64 * 1024 * 1024;
    let written = 0;
    await using server = await startServer(
      async (_reader, writer) => {
        serverWriter = writer;
        for (;;) {
          writer.write(chunk);
          written += chunk.length;
          await writer.drain();
          if (written >= TOTAL) break;
        }
        drained = true;
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server), { limit: 1024 });
    // The client does not read: the kernel buffers fill, then the server's drain must wait.
    let before = -1;
    for (let i = 0; i < 200; i++) {
      await sleep(5);
      if (written === before) break;
      before = written;
    }
    assert.ok(serverWriter !== null);
    assert.equal(drained, false, 'drain must block while nobody reads');
    assert.ok(written < TOTAL, `writer stalled after ${written} bytes`);
    let total = 0;
    for (;;) {
      const d = await reader.read(65536);
      if (d.length === 0) break;
      total += d.length;
    }
    assert.equal(total, TOTAL);
    assert.equal(drained, true);
    writer.close();
    await writer.waitClosed();
  });

  test('1000 concurrent connections each get their own answer', async () => {
    await using server = await startServer(upperEcho, HOST, 0, { backlog: 1024 });
    const port = portOf(server);
    const N = 1000;
    const clients = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const [reader, writer] = await openConnection(HOST, port);
        return { i, reader, writer };
      }),
    );
    const answers = await Promise.all(
      clients.map(async ({ i, reader, writer }) => {
        writer.write(`client-${i}\n`);
        const line = (await reader.readline()).toString();
        writer.close();
        await writer.waitClosed();
        return line;
      }),
    );
    for (let i = 0; i < N; i++) assert.equal(answers[i], `CLIENT-${i}\n`);
  });

  test('700 clients hanging up at once all get closed and the server keeps answering', async () => {
    const server = await startServer(upperEcho, HOST, 0, { backlog: 1024 });
    const port = portOf(server);
    const socks = await Promise.all(
      Array.from({ length: 700 }, async () => {
        const s = netConnect({ host: HOST, port });
        await new Promise<void>((r) => s.once('connect', () => r()));
        s.write('x');
        await new Promise<void>((r) => s.once('data', () => r()));
        return s;
      }),
    );
    // A request in flight as each client goes: the server's answer meets a closed socket (RST),
    // so epoll reports hang-ups/errors on hundreds of descriptors at once.
    for (const s of socks) {
      s.write('y');
      s.destroy();
    }
    const [reader, writer] = await openConnection(HOST, port);
    writer.write('still there\n');
    assert.equal((await reader.readline()).toString(), 'STILL THERE\n');
    writer.close();
    server.close();
    await server.waitClosed({ signal: AbortSignal.timeout(20_000) });
  });

  test('openConnection to a closed port raises ConnectionRefusedError', async () => {
    const server = await startServer(upperEcho, HOST, 0);
    const port = portOf(server);
    server.close();
    await server.waitClosed();
    await assert.rejects(openConnection(HOST, port), (e: unknown) => {
      assert.ok(e instanceof ConnectionRefusedError);
      assert.equal(e.code, 'ERR_WEFT_CONNECTION_REFUSED');
      return true;
    });
  });

  test('a handler cancelled mid-read stops and the server stays usable', async () => {
    const handlerTasks: string[] = [];
    let blocked: Promise<unknown> | null = null;
    await using server = await startServer(
      async (reader, writer) => {
        const t = createTask(() => reader.readexactly(100));
        blocked = t;
        await sleep(5);
        t.cancel();
        try {
          await t;
        } catch (e) {
          handlerTasks.push(e instanceof CancelledError ? 'cancelled' : String(e));
        }
        writer.write('after');
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('only a few bytes');
    assert.equal((await reader.read()).toString(), 'after');
    assert.ok(blocked !== null);
    assert.deepEqual(handlerTasks, ['cancelled']);
    writer.close();
  });

  test('readexactly on a connection closed early gives the partial bytes', async () => {
    await using server = await startServer(
      async (_r, writer) => {
        writer.write('12345');
        writer.close();
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    await assert.rejects(reader.readexactly(10), (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), '12345');
      return true;
    });
    writer.close();
  });

  test('idleTimeout closes a silent connection with TimeoutError on the server side', async () => {
    let seen: unknown = null;
    await using server = await startServer(
      async (reader, writer) => {
        try {
          await reader.read(10);
        } catch (e) {
          seen = e;
        }
        writer.close();
      },
      HOST,
      0,
      { idleTimeout: 30 },
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    assert.equal((await reader.read()).length, 0);
    assert.ok(seen instanceof TimeoutError);
    writer.close();
  });

  test('serveForever ends when cancelled and closes the server', async () => {
    const server = await startServer(upperEcho, HOST, 0);
    const t = createTask(() => server.serveForever());
    await sleep(5);
    assert.ok(server.isServing());
    t.cancel();
    await assert.rejects(t, CancelledError);
    assert.equal(server.isServing(), false);
    await server.waitClosed();
    await assert.rejects(server.serveForever(), /closed/);
  });

  test('closeClients closes open connections so waitClosed can finish', async () => {
    const server = await startServer(upperEcho, HOST, 0);
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('x');
    assert.equal((await reader.read(1)).toString(), 'X');
    server.close();
    server.closeClients();
    assert.equal((await reader.read()).length, 0);
    await server.waitClosed();
    writer.close();
  });

  test('openConnection rejects bad reader and idle options without connecting', async () => {
    const peers: unknown[] = [];
    await using server = await startServer(
      (_reader, writer) => {
        peers.push(writer.getExtraInfo('peername'));
        writer.close();
      },
      HOST,
      0,
    );
    const port = portOf(server);
    await assert.rejects(openConnection(HOST, port, { limit: 0 }), RangeError);
    await assert.rejects(openConnection(HOST, port, { readTimeout: -1 }), RangeError);
    await assert.rejects(openConnection(HOST, port, { idleTimeout: -1 }), RangeError);
    // The server serves connections in the order they were made: when the good one has been
    // served and closed, any connection made for the bad options would have been served before.
    const [reader, writer] = await openConnection(HOST, port);
    assert.equal((await reader.read(10, { timeout: 5000 })).length, 0);
    assert.deepEqual(peers, [writer.getExtraInfo('sockname')]);
    writer.close();
  });

  test('bad arguments reject with TypeError for a wrong type, RangeError for a bad value', async () => {
    // A verb that returns a promise rejects (docs/socket.md); bug-bash: a port of the wrong
    // type was a RangeError.
    await assert.rejects(startServer('nope' as never, HOST, 0), TypeError);
    await assert.rejects(startServer(upperEcho, HOST, 'abc' as never), TypeError);
    await assert.rejects(startServer(upperEcho, HOST, 1.5), TypeError);
    await assert.rejects(startServer(upperEcho, HOST, 70000), RangeError);
    await assert.rejects(startServer(upperEcho, HOST, 0, { backlog: '5' as never }), TypeError);
    await assert.rejects(startServer(upperEcho, HOST, 0, { backlog: -1 }), RangeError);
    // asyncio's OverflowError (listen(2) takes a C int), on both transports and on an adopted
    // socket; 2 ** 31 - 1 serves.
    for (const transport of ['net', 'auto'] as const) {
      await assert.rejects(
        startServer(upperEcho, HOST, 0, { backlog: 2 ** 31, transport }),
        /backlog must fit a C int/,
      );
      const big = await startServer(upperEcho, HOST, 0, { backlog: 2 ** 31 - 1, transport });
      big.close();
      await big.waitClosed();
    }
    const fresh = new Socket();
    await assert.rejects(
      startServer(upperEcho, null, null, { sock: fresh, backlog: 2 ** 32 }),
      RangeError,
    );
    fresh.close();
    await assert.rejects(startServer(upperEcho, HOST, 0, { transport: 'x' as never }), RangeError);
    await assert.rejects(openConnection(HOST, 0), RangeError);
    await assert.rejects(openConnection(HOST, 'abc' as never), TypeError);
    await assert.rejects(openConnection(42 as never, 80), TypeError);
    await assert.rejects(startUnixServer(upperEcho, ''), TypeError);
    await assert.rejects(openUnixConnection(''), TypeError);
  });

  test('bug-bash st7: waitClosed and serveForever honour their timeout with TimeoutError', async () => {
    const server = await startServer(
      async (r) => {
        await r.read(1); // until the client is aborted
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    // serveForever's timeout ends the serving as a cancel does: the server is closed.
    await assert.rejects(server.serveForever({ timeout: 20 }), TimeoutError);
    assert.equal(server.isServing(), false);
    // The client connection is still open: the server is not fully closed yet.
    await assert.rejects(server.waitClosed({ timeout: 20 }), TimeoutError);
    await assert.rejects(writer.waitClosed({ timeout: 20 }), TimeoutError);
    assert.equal(writer.isClosing(), false);
    await assert.rejects(server.waitClosed({ timeout: -1 }), RangeError);
    await assert.rejects(writer.waitClosed({ timeout: '1' as never }), TypeError);
    await assert.rejects(server.serveForever({ timeout: Number.NaN }), TypeError);
    // drain checks its options as the reads do (bug-bash st1), even with room to write.
    await assert.rejects(writer.drain({ timeout: -1 }), RangeError);
    await assert.rejects(writer.drain({ timeout: '100' as never }), TypeError);
    await writer.drain({ timeout: 100 });
    server.abortClients();
    writer.close();
    await writer.waitClosed({ timeout: 60_000 });
    assert.equal((await reader.read()).length, 0);
    await server.waitClosed({ timeout: 60_000 });
  });
  test('serveForever on a closed server, or while another serveForever waits, raises RuntimeError', async () => {
    const server = await startServer(async () => {}, HOST, 0);
    const first = createTask(() => server.serveForever());
    await sleep(0);
    await assert.rejects(server.serveForever(), (e: unknown) => {
      assert.ok(e instanceof RuntimeError, String(e));
      assert.equal((e as RuntimeError).code, 'ERR_WEFT_SERVE_FOREVER_BUSY');
      return true;
    });
    assert.equal(server.isServing(), true, 'the refused call closed nothing');
    first.cancel();
    await assert.rejects(first, CancelledError);
    assert.equal(server.isServing(), false);
    await assert.rejects(server.serveForever(), RuntimeError);
    await server.waitClosed({ timeout: 60_000 });
  });
});

describe('streams over Unix sockets', () => {
  test('a Unix server answers and names its path', async () => {
    const path = join(tmpdir(), `weft-streams-${process.pid}-${Date.now()}.sock`);
    await using server = await startUnixServer(upperEcho, path);
    assert.equal(server.sockets[0]?.getsockname(), path);
    const [reader, writer] = await openUnixConnection(path);
    assert.equal(writer.getExtraInfo('peername'), path);
    writer.write('unix\n');
    assert.equal((await reader.readline()).toString(), 'UNIX\n');
    writer.close();
    await writer.waitClosed();
  });
});
