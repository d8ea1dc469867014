import assert from 'node:assert/strict';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createSecureContext, TLSSocket } from 'node:tls';
import { createTask, sleep } from '../../src/asyncio/index.js';
import { RuntimeError, TimeoutError } from '../../src/internal/errors.js';
import { io } from '../../src/socket/native-io.js';
import {
  ConnectionAbortedError,
  ConnectionResetError,
  openConnection,
  openUnixConnection,
  SSLCertVerificationError,
  SSLError,
  type StreamReader,
  type StreamWriter,
  startServer,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';
import { until } from '../support/until.js';
import { peerServer } from './fixtures/peer.js';
import { selfSigned } from './fixtures/self-signed.js';

checkLeaks();

const HOST = '127.0.0.1';
const { cert, key } = selfSigned();
const TRUST = { ca: cert };

/** Reads lines and writes them back upper-cased until EOF, then closes. */
async function upperLines(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for await (const line of reader) {
      writer.write(line.toString().toUpperCase());
      await writer.drain();
    }
  } catch (e) {
    if (!(e instanceof ConnectionResetError)) throw e;
  } finally {
    writer.close();
  }
}

describe('TLS streams (ssl=)', () => {
  test('a TLS round trip verifies the server and reports cipher, peercert and the TLS objects', async () => {
    let serverInfo: unknown[] = [];
    await using server = await startServer(
      async (reader, writer) => {
        serverInfo = [
          writer.getExtraInfo('cipher'),
          writer.getExtraInfo('peercert', 'dflt'),
          writer.getExtraInfo('ssl_object'),
          writer.canWriteEof(),
        ];
        await upperLines(reader, writer);
      },
      HOST,
      0,
      { ssl: { key, cert } },
    );
    const [reader, writer] = await openConnection(HOST, portOf(server), { ssl: TRUST });
    writer.write('hello tls\n');
    assert.equal((await reader.readline()).toString(), 'HELLO TLS\n');
    const cipher = writer.getExtraInfo('cipher');
    assert.ok(
      Array.isArray(cipher) && typeof cipher[0] === 'string' && /^TLSv1\.[23]$/.test(cipher[1]),
    );
    assert.ok(cipher[2] === 128 || cipher[2] === 256, String(cipher[2]));
    const peer = writer.getExtraInfo('peercert') as { subject?: { CN?: string } } | null;
    assert.equal(peer?.subject?.CN, 'localhost');
    assert.ok(writer.getExtraInfo('ssl_object') instanceof TLSSocket);
    assert.ok(writer.getExtraInfo('sslcontext') !== null);
    // asyncio's TLS transport has 'compression' (None): the default is not used for it.
    assert.equal(writer.getExtraInfo('compression', 'dflt'), null);
    assert.deepEqual(writer.getExtraInfo('peername'), [HOST, portOf(server)]);
    assert.equal(writer.canWriteEof(), false);
    // The server's side: a client that sent no certificate has peercert None (not the default).
    assert.ok(Array.isArray(serverInfo[0]));
    assert.equal(serverInfo[1], null);
    assert.ok(serverInfo[2] instanceof TLSSocket);
    assert.equal(serverInfo[3], false);
    writer.close();
    await writer.waitClosed();
    // A plain connection has none of these names: the default is given, as asyncio's.
    await using plain = await startServer(upperLines, HOST, 0);
    const [, w2] = await openConnection(HOST, portOf(plain));
    assert.equal(w2.getExtraInfo('cipher', 'none'), 'none');
    assert.equal(w2.getExtraInfo('ssl_object'), null);
    assert.equal(w2.getExtraInfo('peercert'), null);
    assert.equal(w2.canWriteEof(), true);
    w2.close();
    await w2.waitClosed();
  });

  test('writeEof on a TLS connection raises RuntimeError (asyncio: NotImplementedError)', async () => {
    await using server = await startServer(upperLines, HOST, 0, { ssl: { key, cert } });
    const [, writer] = await openConnection(HOST, portOf(server), { ssl: TRUST });
    assert.throws(
      () => writer.writeEof(),
      (e: unknown) => e instanceof RuntimeError && /half-closed/.test(e.message),
    );
    writer.close();
    await writer.waitClosed();
  });

  test("the peer's close ends a TLS connection: the writer is closed too, as asyncio's TLS transport", async () => {
    await using server = await startServer(
      async (_reader, writer) => {
        writer.write('bye');
        writer.close();
      },
      HOST,
      0,
      { ssl: { key, cert } },
    );
    const [reader, writer] = await openConnection(HOST, portOf(server), { ssl: TRUST });
    assert.equal((await reader.read()).toString(), 'bye');
    assert.ok(reader.atEof());
    await writer.waitClosed({ timeout: 30_000 });
    assert.equal(writer.isClosing(), true);
    await assert.rejects(writer.drain(), ConnectionResetError);
  });

  test('a server certificate nobody trusted fails with SSLCertVerificationError (verifyCode 18)', async () => {
    await using server = await startServer(upperLines, HOST, 0, { ssl: { key, cert } });
    await assert.rejects(openConnection(HOST, portOf(server), { ssl: true }), (e: unknown) => {
      assert.ok(e instanceof SSLCertVerificationError, String(e));
      assert.ok(e instanceof SSLError);
      assert.equal(e.verifyCode, 18);
      assert.equal(e.verifyMessage, 'self-signed certificate');
      assert.equal(e.reason, 'CERTIFICATE_VERIFY_FAILED');
      assert.equal(e.errno, 1);
      assert.match(e.message, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed/);
      return true;
    });
  });

  test("a certificate for another name fails with verifyCode 62; serverHostname '' checks no name", async () => {
    await using server = await startServer(upperLines, HOST, 0, { ssl: { key, cert } });
    const port = portOf(server);
    await assert.rejects(
      openConnection(HOST, port, { ssl: TRUST, serverHostname: 'example.com' }),
      (e: unknown) =>
        e instanceof SSLCertVerificationError &&
        e.verifyCode === 62 &&
        e.verifyMessage === "Hostname mismatch, certificate is not valid for 'example.com'.",
    );
    await assert.rejects(
      openConnection(HOST, port, { ssl: TRUST, serverHostname: '127.0.0.2' }),
      (e: unknown) => e instanceof SSLCertVerificationError && e.verifyCode === 64,
    );
    // The name the certificate carries, given for an IP host, is checked and passes.
    const [r1, w1] = await openConnection(HOST, port, { ssl: TRUST, serverHostname: 'localhost' });
    w1.write('a\n');
    assert.equal((await r1.readline()).toString(), 'A\n');
    w1.close();
    await w1.waitClosed();
    const [r2, w2] = await openConnection(HOST, port, { ssl: TRUST, serverHostname: '' });
    w2.write('b\n');
    assert.equal((await r2.readline()).toString(), 'B\n');
    w2.close();
    await w2.waitClosed();
  });

  test('an expired certificate fails with verifyCode 10', async () => {
    const old = selfSigned(['localhost', HOST], {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    await using server = await startServer(upperLines, HOST, 0, { ssl: old });
    await assert.rejects(
      openConnection(HOST, portOf(server), { ssl: { ca: old.cert } }),
      (e: unknown) => e instanceof SSLCertVerificationError && e.verifyCode === 10,
    );
  });

  test('a server that never answers the handshake fails it with ConnectionAbortedError after sslHandshakeTimeout', async () => {
    const peer = await peerServer(() => {});
    try {
      await assert.rejects(
        openConnection(HOST, peer.port, { ssl: TRUST, sslHandshakeTimeout: 200 }),
        (e: unknown) =>
          e instanceof ConnectionAbortedError &&
          /SSL handshake is taking longer than 200 ms/.test(e.message),
      );
    } finally {
      await peer.close();
    }
  });

  test('a peer that resets, or closes, during the handshake fails it with ConnectionResetError', async () => {
    for (const how of ['reset', 'close'] as const) {
      const peer = await peerServer((s) =>
        s.once('data', () => (how === 'reset' ? s.resetAndDestroy() : s.end())),
      );
      try {
        await assert.rejects(
          openConnection(HOST, peer.port, { ssl: TRUST, sslHandshakeTimeout: 30_000 }),
          (e: unknown) => e instanceof ConnectionResetError,
          how,
        );
      } finally {
        await peer.close();
      }
    }
  });

  test('a peer that is not TLS fails the handshake with SSLError', async () => {
    const peer = await peerServer((s) =>
      s.once('data', () => s.write('HTTP/1.0 400 Bad Request\r\n\r\n')),
    );
    try {
      await assert.rejects(
        openConnection(HOST, peer.port, { ssl: TRUST }),
        (e: unknown) =>
          e instanceof SSLError && !(e instanceof SSLCertVerificationError) && e.reason !== '',
      );
    } finally {
      await peer.close();
    }
  });

  test('cancelling openConnection during the handshake closes the half-made connection', async () => {
    let seen: NetSocket | null = null;
    let peerEnded = false;
    const peer = await peerServer((s) => {
      seen = s;
      s.on('end', () => {
        peerEnded = true;
      });
      s.resume();
    });
    try {
      const t = createTask(() => openConnection(HOST, peer.port, { ssl: TRUST }));
      await until(() => seen !== null, 'the connection');
      await sleep(20);
      t.cancel();
      await assert.rejects(t, { name: 'CancelledError' });
      await until(() => peerEnded, 'the peer to see the connection end');
    } finally {
      await peer.close();
    }
  });

  test("a server's failed handshakes never run the handler and close the connection", async () => {
    let handled = 0;
    await using server = await startServer(
      async (_r, w) => {
        handled++;
        w.close();
      },
      HOST,
      0,
      // Long enough for a good client to finish its handshake on a loaded machine; the silent one
      // waits it out.
      { ssl: { key, cert }, sslHandshakeTimeout: 1000 },
    );
    const port = portOf(server);
    const ended = (c: NetSocket): Promise<void> =>
      new Promise((r) => {
        c.on('error', () => r());
        c.on('close', () => r());
      });
    // Not TLS at all; silent until the handshake times out; reset in the middle of it.
    const plain = netConnect(port, HOST);
    plain.write('GET / HTTP/1.0\r\n\r\n');
    const silent = netConnect(port, HOST);
    const rude = netConnect(port, HOST);
    rude.on('connect', () => rude.resetAndDestroy());
    await Promise.all([ended(plain), ended(silent), ended(rude)]);
    // A good client is still served.
    const [reader, writer] = await openConnection(HOST, port, { ssl: TRUST });
    assert.equal((await reader.read()).length, 0);
    await writer.waitClosed();
    assert.equal(handled, 1);
  });

  test('abortClients() ends the connections whose handshake is under way; waitClosed() then resolves', async () => {
    let handled = 0;
    const server = await startServer(
      async (r, w) => {
        handled++;
        await upperLines(r, w);
      },
      HOST,
      0,
      { ssl: { key, cert } },
    );
    const c = netConnect(portOf(server), HOST);
    c.on('error', () => {});
    await new Promise((r) => c.once('connect', r));
    server.close();
    await sleep(20);
    server.abortClients();
    await server.waitClosed({ timeout: 30_000 });
    await until(() => c.destroyed || c.readableEnded, 'the client to see the end');
    c.destroy();
    assert.equal(handled, 0);
  });

  test('close() of a TLS writer whose peer does not read aborts after sslShutdownTimeout: waitClosed raises TimeoutError', async () => {
    let release: (() => void) | null = null;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await using server = await startServer(
      async (_reader, writer) => {
        await held;
        writer.abort();
      },
      HOST,
      0,
      { ssl: { key, cert } },
    );
    const [, writer] = await openConnection(HOST, portOf(server), {
      ssl: TRUST,
      sslShutdownTimeout: 300,
    });
    // More than the kernel's buffers on both sides hold while nobody reads.
    const chunk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 32; i++) writer.write(chunk);
    writer.close();
    await assert.rejects(writer.waitClosed({ timeout: 30_000 }), (e: unknown) => {
      assert.ok(e instanceof TimeoutError, String(e));
      assert.equal(e.message, 'SSL shutdown timed out');
      return true;
    });
    (release as unknown as () => void)();
  });

  test('bad TLS options reject with TypeError or RangeError before connecting', async () => {
    const r = (p: Promise<unknown>, cls: new (...a: never[]) => Error, re: RegExp): Promise<void> =>
      assert.rejects(p, (e: unknown) => e instanceof cls && re.test((e as Error).message));
    await r(
      openConnection(HOST, 1, { serverHostname: 'x' }),
      RangeError,
      /serverHostname is only meaningful with ssl/,
    );
    await r(
      openConnection(HOST, 1, { sslHandshakeTimeout: 5 }),
      RangeError,
      /sslHandshakeTimeout is only meaningful/,
    );
    await r(
      openConnection(HOST, 1, { sslShutdownTimeout: 5 }),
      RangeError,
      /sslShutdownTimeout is only meaningful/,
    );
    await r(openConnection(HOST, 1, { ssl: true, sslHandshakeTimeout: 0 }), RangeError, /positive/);
    await r(openConnection(HOST, 1, { ssl: true, sslShutdownTimeout: -1 }), RangeError, /positive/);
    await r(
      openConnection(HOST, 1, { ssl: true, sslHandshakeTimeout: '5' as never }),
      TypeError,
      /number/,
    );
    await r(openConnection(HOST, 1, { ssl: 'yes' as never }), TypeError, /ssl must be/);
    await r(
      openConnection(HOST, 1, { ssl: true, serverHostname: 5 as never }),
      TypeError,
      /serverHostname/,
    );
    await r(startServer(upperLines, HOST, 0, { ssl: true }), TypeError, /a server's ssl must be/);
    await r(
      startServer(upperLines, HOST, 0, { serverHostname: 'x' } as never),
      RangeError,
      /serverHostname/,
    );
    await r(openUnixConnection('/nonexistent', { ssl: TRUST }), RangeError, /serverHostname/);
    // A key OpenSSL cannot load: Python's load_cert_chain raises SSLError.
    await assert.rejects(
      startServer(upperLines, HOST, 0, { ssl: { key: 'not a key', cert } }),
      SSLError,
    );
    // A context made by the caller is taken as it is.
    await using server = await startServer(upperLines, HOST, 0, {
      ssl: createSecureContext({ key, cert }),
    });
    const [reader, writer] = await openConnection(HOST, portOf(server), {
      ssl: createSecureContext(TRUST),
    });
    writer.write('ctx\n');
    assert.equal((await reader.readline()).toString(), 'CTX\n');
    writer.close();
    await writer.waitClosed();
  });

  test('a server with requestCert refuses a client without a trusted certificate (tls.Server and CERT_REQUIRED do); rejectUnauthorized: false lets it in', async () => {
    const client = selfSigned(['client']);
    const stranger = selfSigned(['stranger']);
    const served: unknown[] = [];
    const handler = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
      served.push(writer.getExtraInfo('peercert'));
      await upperLines(reader, writer);
    };
    await using server = await startServer(handler, HOST, 0, {
      ssl: { key, cert, ca: client.cert, requestCert: true },
    });
    /** A line sent and what came back: the reply, or the error/EOF the refusal gave. */
    const attempt = async (ssl: Record<string, unknown>): Promise<string> => {
      let reader: StreamReader;
      let writer: StreamWriter;
      try {
        [reader, writer] = await openConnection(HOST, portOf(server), {
          ssl: { ...TRUST, ...ssl },
        });
      } catch (e) {
        return `refused: ${(e as Error).name}`;
      }
      writer.write('hi\n');
      const got = await reader.readline().then(
        (b) => (b.length === 0 ? 'refused: EOF' : b.toString()),
        (e: Error) => `refused: ${e.name}`,
      );
      writer.abort();
      await writer.waitClosed().catch(() => {});
      return got;
    };
    // TLS 1.3: the client's handshake ends before the server checks; the refusal comes after.
    assert.match(await attempt({}), /^refused/);
    assert.match(await attempt({ key: stranger.key, cert: stranger.cert }), /^refused/);
    assert.equal(served.length, 0);
    assert.equal(await attempt({ key: client.key, cert: client.cert }), 'HI\n');
    assert.equal((served[0] as { subject?: { CN?: string } } | null)?.subject?.CN, 'client');
    await using lax = await startServer(handler, HOST, 0, {
      ssl: { key, cert, ca: client.cert, requestCert: true, rejectUnauthorized: false },
    });
    const [r2, w2] = await openConnection(HOST, portOf(lax), { ssl: TRUST });
    w2.write('lax\n');
    assert.equal((await r2.readline()).toString(), 'LAX\n');
    w2.close();
    await w2.waitClosed();
  });

  test("the peer's TLS alert after the handshake fails the connection and closes it (waitClosed does not hang)", async () => {
    // A Node TLS server that wants a client certificate: TLS 1.3 completes the client's side of
    // the handshake, then the server's alert arrives as an error on the open connection.
    const { createServer: tlsCreateServer } = await import('node:tls');
    const client = selfSigned(['client']);
    const srv = tlsCreateServer({ key, cert, ca: client.cert, requestCert: true });
    srv.on('tlsClientError', () => {});
    await new Promise<void>((r) => srv.listen(0, HOST, r));
    try {
      const port = (srv.address() as { port: number }).port;
      const [reader, writer] = await openConnection(HOST, port, { ssl: TRUST });
      await assert.rejects(reader.readline(), SSLError);
      assert.equal(writer.isClosing(), true);
      // A bound against a hang, not a speed check: the socket used to stay open for ever.
      await assert.rejects(writer.waitClosed({ timeout: 20_000 }), SSLError);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  test('a TLS server and client over a Unix socket', async () => {
    const path = join(tmpdir(), `weft-tls-${process.pid}-${Date.now()}.sock`);
    await using _server = await startUnixServer(upperLines, path, { ssl: { key, cert } });
    const [reader, writer] = await openUnixConnection(path, {
      ssl: TRUST,
      serverHostname: 'localhost',
    });
    writer.write('unix\n');
    assert.equal((await reader.readline()).toString(), 'UNIX\n');
    assert.equal(writer.getExtraInfo('peername'), path);
    assert.ok(Array.isArray(writer.getExtraInfo('cipher')));
    writer.close();
    await writer.waitClosed();
  });

  test('a TLS server on the raw transport serves through the stream adapter', {
    skip: io === null,
  }, async () => {
    await using server = await startServer(upperLines, HOST, 0, {
      ssl: { key, cert },
      transport: 'raw',
    });
    const [reader, writer] = await openConnection(HOST, portOf(server), { ssl: TRUST });
    // Several TLS records (16 KiB each) under the limit of one line.
    const big = `${'x'.repeat(60_000)}\n`;
    writer.write(big);
    const back = (await reader.readline()).toString();
    assert.ok(back === big.toUpperCase(), `${back.length} bytes back`);
    assert.ok(Array.isArray(writer.getExtraInfo('cipher')));
    writer.close();
    await writer.waitClosed();
  });
});

describe('StreamWriter.startTls', () => {
  /** A STARTTLS server: a plain line, then TLS for the rest. */
  async function startTlsServer(
    transport: 'net' | 'raw',
  ): Promise<Awaited<ReturnType<typeof startServer>>> {
    return startServer(
      async (reader, writer) => {
        const cmd = (await reader.readline()).toString();
        assert.equal(cmd, 'STARTTLS\n');
        writer.write('GO\n');
        try {
          await writer.startTls({ key, cert });
        } catch (e) {
          // The client gave up (the failed-upgrade test): its connection is gone.
          if (!(e instanceof ConnectionResetError)) throw e;
          return;
        }
        await upperLines(reader, writer);
      },
      HOST,
      0,
      { transport },
    );
  }

  for (const transport of io === null ? (['net'] as const) : (['net', 'raw'] as const)) {
    test(`upgrades a plain connection in place on both sides (${transport} server)`, async () => {
      await using server = await startTlsServer(transport);
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.write('STARTTLS\n');
      assert.equal((await reader.readline()).toString(), 'GO\n');
      assert.equal(writer.getExtraInfo('cipher'), null);
      await writer.startTls(TRUST, { serverHostname: 'localhost' });
      assert.ok(Array.isArray(writer.getExtraInfo('cipher')));
      assert.equal(writer.canWriteEof(), false);
      writer.write('secret\n');
      assert.equal((await reader.readline()).toString(), 'SECRET\n');
      writer.close();
      await writer.waitClosed();
    });
  }

  test('bytes read before the upgrade stay in the reader', async () => {
    await using server = await startServer(
      async (reader, writer) => {
        await reader.readline();
        writer.write('GO\nextra plain bytes\n');
        await writer.startTls({ key, cert });
        await upperLines(reader, writer);
      },
      HOST,
      0,
    );
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('STARTTLS\n');
    await until(() => reader.buffered >= 'GO\nextra plain bytes\n'.length, 'the plain reply');
    await writer.startTls(TRUST, { serverHostname: 'localhost' });
    assert.equal((await reader.readline()).toString(), 'GO\n');
    assert.equal((await reader.readline()).toString(), 'extra plain bytes\n');
    writer.write('x\n');
    assert.equal((await reader.readline()).toString(), 'X\n');
    writer.close();
    await writer.waitClosed();
  });

  test('a failed upgrade closes the connection: startTls and then reads raise the verification error', async () => {
    await using server = await startTlsServer('net');
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('STARTTLS\n');
    await reader.readline();
    await assert.rejects(
      writer.startTls({}, { serverHostname: 'localhost' }),
      (e: unknown) => e instanceof SSLCertVerificationError && e.verifyCode === 18,
    );
    assert.equal(writer.isClosing(), true);
    await assert.rejects(reader.read(), SSLCertVerificationError);
    await assert.rejects(writer.waitClosed(), SSLCertVerificationError);
  });

  test('a write, writeEof or second startTls while startTls runs raises RuntimeError; the upgrade goes on', async () => {
    await using server = await startTlsServer('net');
    const [reader, writer] = await openConnection(HOST, portOf(server));
    writer.write('STARTTLS\n');
    assert.equal((await reader.readline()).toString(), 'GO\n');
    const upgrade = writer.startTls(TRUST, { serverHostname: 'localhost' });
    // Plain bytes would land inside the handshake (asyncio lets them, and the handshake fails).
    const busy = (e: unknown): boolean =>
      e instanceof RuntimeError && /startTls\(\) is under way/.test(e.message);
    assert.throws(() => writer.write('plain\n'), busy);
    assert.throws(() => writer.writelines(['plain\n']), busy);
    assert.throws(() => writer.writeEof(), busy);
    await assert.rejects(writer.startTls(TRUST, { serverHostname: 'localhost' }), busy);
    await upgrade;
    writer.write('secret\n');
    assert.equal((await reader.readline()).toString(), 'SECRET\n');
    writer.close();
    await writer.waitClosed();
  });

  test('bad calls: TLS already, ssl true, a client without serverHostname', async () => {
    await using server = await startServer(upperLines, HOST, 0, { ssl: { key, cert } });
    const [, writer] = await openConnection(HOST, portOf(server), { ssl: TRUST });
    await assert.rejects(writer.startTls(TRUST, { serverHostname: 'localhost' }), TypeError);
    writer.close();
    await writer.waitClosed();
    await using plain = await startServer(upperLines, HOST, 0);
    const [, w2] = await openConnection(HOST, portOf(plain));
    await assert.rejects(w2.startTls(true as never, { serverHostname: 'localhost' }), TypeError);
    await assert.rejects(
      w2.startTls(TRUST),
      (e: unknown) => e instanceof RangeError && /serverHostname/.test(e.message),
    );
    w2.close();
    await w2.waitClosed();
  });
});
