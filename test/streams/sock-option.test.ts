import assert from 'node:assert/strict';
import {
  type Server as NetServer,
  type Socket as NetSocket,
  connect as netConnect,
  createServer as netCreateServer,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import {
  AF_INET,
  AF_UNIX,
  createConnection,
  createServer,
  OSError,
  Socket,
} from '../../src/socket/index.js';
import {
  ConnectionResetError,
  openConnection,
  openUnixConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { connected, errnoIs, onTransport, portOf, TRANSPORTS } from '../support/net.js';
import { until } from '../support/until.js';
import { peerServer } from './fixtures/peer.js';
import { selfSigned } from './fixtures/self-signed.js';

checkLeaks();

const HOST = '127.0.0.1';

/** The weft socket has read its peer's EOF (into its own reader, which nobody reads). */
function eofRead(sock: Socket): boolean {
  return (sock as unknown as { reader: { eof: boolean } | null }).reader?.eof === true;
}

/** The weft socket's own reader has the connection's failure (nobody read it). */
function failureRead(sock: Socket): boolean {
  const reader = (sock as unknown as { reader: { exception(): unknown } | null }).reader;
  return reader !== null && reader.exception() !== null;
}

/** Sends `line` on a stream made by `openConnection(...args)`, reads its echo, closes it. */
async function lineEchoed(line: string, ...args: Parameters<typeof openConnection>): Promise<void> {
  const [reader, writer] = await openConnection(...args);
  writer.write(line);
  assert.equal((await reader.readline()).toString(), line);
  writer.close();
  await writer.waitClosed();
}

async function echoLines(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for await (const line of reader) writer.write(line);
  } catch (e) {
    if (!(e instanceof ConnectionResetError)) throw e;
  } finally {
    writer.close();
  }
}

/** A peer whose side stays open after our FIN (asyncio's transports are half-open too). */
const halfOpenPeer = (onConn: (s: NetSocket) => void) =>
  peerServer(onConn, { allowHalfOpen: true });

describe('openConnection({ sock })', () => {
  for (const transport of TRANSPORTS) {
    test(`a connected weft socket becomes the stream, its unread bytes first (${transport})`, async () => {
      await onTransport(transport, async () => {
        let peer: NetSocket | null = null;
        const p = await halfOpenPeer((s) => {
          peer = s;
          s.write('early\n');
          s.on('data', (d) => s.write(d));
        });
        try {
          const sock = await createConnection([HOST, p.port]);
          // The bytes reach the socket's own buffer before it is adopted; nobody reads them.
          await until(() => sock._readable(), 'the early bytes');
          const [reader, writer] = await openConnection(null, null, { sock });
          assert.equal((await reader.readline()).toString(), 'early\n');
          writer.write('echo\n');
          assert.equal((await reader.readline()).toString(), 'echo\n');
          assert.deepEqual(writer.getExtraInfo('peername'), [HOST, p.port]);
          // The socket is the stream's now: the weft Socket is closed.
          assert.equal(sock.fileno(), -1);
          await assert.rejects(sock.recv(10), errnoIs('EBADF'));
          assert.ok(peer !== null);
          writer.close();
          await writer.waitClosed();
        } finally {
          await p.close();
        }
      });
    });
  }

  for (const transport of TRANSPORTS) {
    test(`a weft socket that had read the peer's bytes and its EOF: the reader gets both (${transport})`, async () => {
      await onTransport(transport, async () => {
        const p = await halfOpenPeer((s) => s.end('bye\n'));
        try {
          const sock = await createConnection([HOST, p.port]);
          await until(() => eofRead(sock), "the peer's EOF read by the socket");
          const [reader, writer] = await openConnection(null, null, { sock });
          // A bound against a hang (the raw transport's EOF was lost): not a speed check.
          assert.equal((await reader.read(-1, { timeout: 20_000 })).toString(), 'bye\n');
          assert.equal(reader.atEof(), true);
          writer.close();
          await writer.waitClosed();
        } finally {
          await p.close();
        }
      });
    });

    test(`TLS on a weft socket whose peer had closed fails at once with ConnectionResetError (${transport})`, async () => {
      await onTransport(transport, async () => {
        const p = await halfOpenPeer((s) => s.end());
        try {
          const sock = await createConnection([HOST, p.port]);
          await until(() => eofRead(sock), "the peer's EOF read by the socket");
          // Not the handshake timeout's ConnectionAbortedError: the TLS socket used to wait for
          // an answer the closed peer would never send.
          await assert.rejects(
            openConnection(null, null, {
              sock,
              ssl: { ca: selfSigned().cert },
              serverHostname: 'localhost',
              sslHandshakeTimeout: 30_000,
            }),
            ConnectionResetError,
          );
          // Refused before it was taken: the caller's socket still reads the EOF.
          assert.notEqual(sock.fileno(), -1);
          assert.equal((await sock.recv(10)).length, 0);
          sock.close();
        } finally {
          await p.close();
        }
      });
    });

    test(`TLS on a weft socket with unread bytes is refused before the socket is taken: it stays open, its bytes readable (${transport})`, async () => {
      await onTransport(transport, async () => {
        const p = await halfOpenPeer((s) => {
          s.write('plain\n');
          s.on('data', (d) => s.write(d));
        });
        try {
          const sock = await createConnection([HOST, p.port]);
          await until(() => sock._readable(), 'the plain bytes');
          const got = await openConnection(null, null, {
            sock,
            ssl: { ca: selfSigned().cert },
            serverHostname: 'localhost',
          }).then(
            ([, w]) => {
              w.abort();
              return 'adopted';
            },
            (e: unknown) => e,
          );
          assert.ok(got instanceof RangeError, String(got));
          assert.match(got.message, /6 bytes received and not read/);
          assert.notEqual(sock.fileno(), -1);
          assert.equal((await sock.recv(100)).toString(), 'plain\n');
          await sock.sendall('still\n');
          assert.equal((await sock.recv(100)).toString(), 'still\n');
          sock.close();
        } finally {
          await p.close();
        }
      });
    });
  }

  test('TLS on a net.Socket with unread bytes is refused and the socket left as it was', async () => {
    const p = await halfOpenPeer((s) => s.write('plain\n'));
    try {
      const ns = await connected(p.port);
      ns.pause();
      await until(() => ns.readableLength > 0, 'the plain bytes');
      await assert.rejects(
        openConnection(null, null, {
          sock: ns,
          ssl: { ca: selfSigned().cert },
          serverHostname: 'localhost',
        }),
        /6 bytes received and not read/,
      );
      assert.equal(ns.destroyed, false);
      assert.equal(ns.read()?.toString(), 'plain\n');
      ns.destroy();
    } finally {
      await p.close();
    }
  });

  test('a peer that reset the adopted socket: the reader raises ConnectionResetError', async () => {
    const p = await halfOpenPeer((s) => {
      s.write('x');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    try {
      const sock = await createConnection([HOST, p.port]);
      await until(() => failureRead(sock), 'the reset read by the socket');
      const [reader, writer] = await openConnection(null, null, { sock });
      await assert.rejects(reader.read(10), ConnectionResetError);
      await assert.rejects(writer.waitClosed(), ConnectionResetError);
    } finally {
      await p.close();
    }
  });

  test('a Node net.Socket, connected or still connecting, becomes the stream', async () => {
    await using server = await startServer(echoLines, HOST, 0);
    const port = portOf(server);
    const done = await connected(port);
    await lineEchoed('one\n', null, null, { sock: done });
    const connecting = netConnect(port, HOST);
    const [r2, w2] = await openConnection(null, null, { sock: connecting });
    w2.write('two\n');
    assert.equal((await r2.readline()).toString(), 'two\n');
    // asyncio's stream is half-open: after our EOF the peer's reply still arrives.
    w2.writeEof();
    assert.equal((await r2.read()).length, 0);
    w2.close();
    await w2.waitClosed();
  });

  test('TLS on an adopted socket: the handshake runs over it', async () => {
    const { cert, key } = selfSigned();
    await using server = await startServer(echoLines, HOST, 0, { ssl: { key, cert } });
    const sock = await createConnection([HOST, portOf(server)]);
    const [reader, writer] = await openConnection(null, null, {
      sock,
      ssl: { ca: cert },
      serverHostname: 'localhost',
    });
    writer.write('tls\n');
    assert.equal((await reader.readline()).toString(), 'tls\n');
    writer.close();
    await writer.waitClosed();
  });

  test('bad sock arguments: RangeError with an address or none at all, TypeError for a foreign object', async () => {
    const sock = new Socket();
    try {
      await assert.rejects(
        openConnection(HOST, 1, { sock }),
        /host\/port and sock can not be specified at the same time/,
      );
      await assert.rejects(openConnection(null, 1, { sock }), RangeError);
      await assert.rejects(openConnection(), RangeError);
      await assert.rejects(openConnection(null, null, { sock: {} as never }), TypeError);
      await assert.rejects(
        openConnection(null, null, { sock, localAddress: HOST }),
        /localAddress and sock/,
      );
      await assert.rejects(
        openConnection(null, null, { sock, ssl: true }),
        /serverHostname when using ssl without a host/,
      );
      await assert.rejects(openUnixConnection('/x', { sock }), RangeError);
    } finally {
      sock.close();
    }
  });

  test('family, flags or happyEyeballsDelay with sock are RangeErrors; the socket is left as it was', async () => {
    await using server = await startServer(echoLines, HOST, 0);
    const sock = await createConnection([HOST, portOf(server)]);
    for (const opt of [{ family: AF_INET }, { flags: 0 }, { happyEyeballsDelay: 250 }]) {
      const got = await openConnection(null, null, { sock, ...opt }).then(
        ([, w]) => {
          w.abort(); // taken, the option unapplied: the server must not wait for it
          return 'adopted';
        },
        (e: unknown) => e,
      );
      assert.ok(got instanceof RangeError, String(got));
      assert.match(got.message, /and sock can not be specified/);
    }
    const [reader, writer] = await openConnection(null, null, { sock });
    writer.write('kept\n');
    assert.equal((await reader.readline()).toString(), 'kept\n');
    writer.close();
    await writer.waitClosed();
  });

  test('a weft socket that is not connected is refused and left as it was', async () => {
    const fresh = new Socket();
    await assert.rejects(openConnection(null, null, { sock: fresh }), errnoIs('ENOTCONN'));
    fresh.bind([HOST, 0]);
    await fresh.listen();
    await assert.rejects(openConnection(null, null, { sock: fresh }), errnoIs('ENOTCONN'));
    // Still listening: a connection is accepted.
    const c = netConnect((fresh.getsockname() as [string, number])[1], HOST);
    c.on('error', () => {});
    const [conn] = await fresh.accept();
    conn.close();
    c.destroy();
    fresh.close();
    await assert.rejects(openConnection(null, null, { sock: fresh }), errnoIs('EBADF'));
    const gone = netConnect(1, HOST);
    gone.on('error', () => {});
    gone.destroy();
    await assert.rejects(openConnection(null, null, { sock: gone }), errnoIs('EBADF'));
  });

  test('a Unix connection on an adopted socket', async () => {
    const path = join(tmpdir(), `weft-sock-${process.pid}-${Date.now()}.sock`);
    await using _server = await startUnixServer(echoLines, path);
    const sock = new Socket(AF_UNIX);
    await sock.connect(path);
    const [reader, writer] = await openUnixConnection(null, { sock });
    writer.write('unix\n');
    assert.equal((await reader.readline()).toString(), 'unix\n');
    assert.equal(writer.getExtraInfo('peername'), path);
    writer.close();
    await writer.waitClosed();
  });

  test('TLS on an adopted Unix socket with unread bytes is refused; the socket is left as it was', async () => {
    const path = join(tmpdir(), `weft-sock-tls-${process.pid}-${Date.now()}.sock`);
    await using _server = await startUnixServer(async (reader, writer) => {
      writer.write('plain\n');
      await echoLines(reader, writer);
    }, path);
    const sock = new Socket(AF_UNIX);
    await sock.connect(path);
    await until(() => sock._readable(), 'the plain bytes');
    await assert.rejects(
      openUnixConnection(null, { sock, ssl: { ca: selfSigned().cert }, serverHostname: 'x' }),
      /6 bytes received and not read/,
    );
    assert.equal((await sock.recv(100)).toString(), 'plain\n');
    sock.close();
  });
});

describe('startServer({ sock })', () => {
  for (const transport of TRANSPORTS) {
    test(`a listening weft socket is served, the connections it had queued first (${transport})`, async () => {
      await onTransport(transport, async () => {
        const ls = await createServer([HOST, 0]);
        const port = (ls.getsockname() as [string, number])[1];
        // Queued in the socket before the server exists: its bytes must not be lost.
        const early = await connected(port);
        early.write('queued\n');
        await sleep(50);
        await using server = await startServer(echoLines, null, null, { sock: ls });
        assert.equal(portOf(server), port);
        assert.equal(ls.fileno(), -1);
        const got: Buffer[] = [];
        early.on('data', (d: Buffer) => got.push(d));
        await until(() => Buffer.concat(got).toString() === 'queued\n', 'the queued reply');
        early.destroy();
        await lineEchoed('later\n', HOST, port);
      });
    });
  }

  test('a bound weft socket that does not listen yet is made to listen there', async () => {
    const s = new Socket(AF_INET);
    s.bind([HOST, 0]);
    await using server = await startServer(echoLines, null, null, { sock: s, backlog: 5 });
    const port = portOf(server);
    assert.ok(port > 0);
    await lineEchoed('bound\n', HOST, port);
  });

  test('startServing: false holds the queued connections until serving begins', async () => {
    const ls = await createServer([HOST, 0]);
    const port = (ls.getsockname() as [string, number])[1];
    let served = 0;
    await using server = await startServer(
      async (r, w) => {
        served++;
        await echoLines(r, w);
      },
      null,
      null,
      { sock: ls, startServing: false },
    );
    const c = await connected(port);
    c.write('wait\n');
    await sleep(50);
    assert.equal(served, 0);
    await server.startServing();
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    await until(() => Buffer.concat(got).toString() === 'wait\n', 'the reply');
    c.destroy();
  });

  for (const transport of TRANSPORTS) {
    test(`a queued connection reset before serving begins is no uncaught 'error' (${transport})`, async () => {
      await onTransport(transport, async () => {
        const ls = await createServer([HOST, 0]);
        const port = (ls.getsockname() as [string, number])[1];
        const early = await connected(port);
        early.on('error', () => {});
        await until(() => ls._readable(), 'the connection queued in the socket');
        let served = 0;
        await using server = await startServer(
          async (r, w) => {
            served++;
            await echoLines(r, w);
          },
          null,
          null,
          { sock: ls, startServing: false },
        );
        early.resetAndDestroy();
        // The weft socket accepted it reading (net): the reset reaches its socket while held.
        await sleep(100);
        await server.startServing();
        await lineEchoed('next\n', HOST, port);
        assert.ok(served >= 1);
      });
    });
  }

  test('a listening Node net.Server is served; TLS on it too', async () => {
    const { cert, key } = selfSigned();
    const ns = netCreateServer();
    await new Promise<void>((r) => ns.listen(0, HOST, r));
    await using server = await startServer(echoLines, null, null, {
      sock: ns,
      ssl: { key, cert },
    });
    await lineEchoed('node\n', HOST, portOf(server), { ssl: { ca: cert } });
  });

  test('bad sock arguments reject; a connected socket is refused and left connected', async () => {
    const ns = netCreateServer();
    await assert.rejects(startServer(echoLines, null, null, { sock: ns }), errnoIs('EINVAL'));
    await assert.rejects(startServer(echoLines, HOST, 0, { sock: ns }), RangeError);
    await assert.rejects(startServer(echoLines, null, 0, { sock: ns }), RangeError);
    await assert.rejects(startServer(echoLines), RangeError);
    await assert.rejects(startServer(echoLines, null, null, { sock: 'x' as never }), TypeError);
    const ls = await createServer([HOST, 0]);
    try {
      for (const opt of [{ family: AF_INET }, { flags: 0 }, { reusePort: false }, { workers: 2 }]) {
        await assert.rejects(startServer(echoLines, null, null, { sock: ls, ...opt }), RangeError);
      }
      const port = (ls.getsockname() as [string, number])[1];
      const c = await createConnection([HOST, port]);
      await assert.rejects(startServer(echoLines, null, null, { sock: c }), errnoIs('EINVAL'));
      // Still connected: it talks to the peer it had.
      const [peer] = await ls.accept();
      await c.sendall('still\n');
      assert.equal((await peer.recv(100)).toString(), 'still\n');
      peer.close();
      c.close();
    } finally {
      ls.close();
    }
    await assert.rejects(
      startUnixServer(echoLines, '/x', { sock: new Socket(AF_UNIX) }),
      RangeError,
    );
  });

  test("a failed accept on a net listener is reported, not an uncaught 'error'; the server keeps serving", async () => {
    const reported: unknown[] = [];
    setExceptionHandler((ctx) => reported.push(ctx.exception));
    try {
      let ls: Socket | null = null;
      await onTransport('net', async () => {
        ls = await createServer([HOST, 0]);
      });
      const servers = [
        await startServer(echoLines, HOST, 0, { transport: 'net' }),
        // A weft socket's listener: its own 'error' handler went with the socket.
        await startServer(echoLines, null, null, { sock: ls as unknown as Socket }),
      ];
      for (const server of servers) {
        // As libuv reports an accept(2) that failed: the listener's 'error'.
        const listener = (server as unknown as { net: NetServer }).net;
        const err = Object.assign(new Error('accept ENOBUFS'), {
          code: 'ENOBUFS',
          errno: -105,
          syscall: 'accept',
        });
        listener.emit('error', err);
        await lineEchoed('on\n', HOST, portOf(server));
        server.close();
        await server.waitClosed();
      }
      assert.equal(reported.length, 2);
      assert.ok(reported.every((e) => e instanceof OSError && e.errnoName === 'ENOBUFS'));
    } finally {
      setExceptionHandler(null);
    }
  });

  test('a Unix server on an adopted listening socket', async () => {
    const path = join(tmpdir(), `weft-sock-srv-${process.pid}-${Date.now()}.sock`);
    const ls = new Socket(AF_UNIX);
    ls.bind(path);
    await ls.listen();
    await using _server = await startUnixServer(echoLines, null, { sock: ls });
    const [reader, writer] = await openUnixConnection(path);
    writer.write('u\n');
    assert.equal((await reader.readline()).toString(), 'u\n');
    writer.close();
    await writer.waitClosed();
  });
});
