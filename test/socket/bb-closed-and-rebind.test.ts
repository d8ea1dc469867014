/**
 * Checked against CPython 3.11: a closed socket's option calls raise OSError EBADF (after the
 * argument checks), and a socket whose bind failed (EADDRINUSE) stays open and unbound — it may
 * bind another address and listen. weft binds in listen(), so the failure comes from there.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_INET,
  createConnection,
  createServer,
  IPPROTO_TCP,
  OSError,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  TCP_NODELAY,
} from '../../src/socket/index.js';
import { io } from '../../src/socket/native-io.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';
const isErrno =
  (name: string) =>
  (e: unknown): boolean =>
    e instanceof OSError && e.errnoName === name;

function portOf(s: Socket): number {
  const a = s.getsockname();
  assert.ok(Array.isArray(a));
  return a[1];
}

describe('bug bash h102: closed sockets and failed binds, as in Python', () => {
  test('setsockopt, getsockopt, settimeout and setblocking on a closed socket raise OSError EBADF', async () => {
    using srv = await createServer([HOST, 0]);
    const c = await createConnection([HOST, portOf(srv)]);
    c.close();
    const ebadf = isErrno('EBADF');
    assert.throws(() => c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1), ebadf);
    assert.throws(() => c.getsockopt(SOL_SOCKET, SO_REUSEADDR), ebadf);
    // Python's kernel says EBADF before it looks at the option.
    assert.throws(() => c.setsockopt(SOL_SOCKET, 999, 1), ebadf);
    assert.throws(() => c.settimeout(100), ebadf);
    assert.throws(() => c.setblocking(false), ebadf);
    // The arguments are checked first, as Python parses them first.
    assert.throws(() => c.settimeout(-1), RangeError);
    assert.throws(() => c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 'x' as never), TypeError);
    // What needs no descriptor still answers.
    assert.equal(c.gettimeout(), null);
    assert.equal(c.getblocking(), true);
    assert.equal(c.fileno(), -1);
    const fresh = new Socket(AF_INET, SOCK_STREAM);
    fresh.close();
    assert.throws(() => fresh.setblocking(true), ebadf);
  });

  for (const transport of io === null ? ['net'] : ['raw', 'net']) {
    test(`${transport}: after listen() failed with EADDRINUSE the socket may bind another address and listen`, async () => {
      const saved = process.env.WEFT_SOCKET_TRANSPORT;
      if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
      else delete process.env.WEFT_SOCKET_TRANSPORT;
      try {
        using taken = await createServer([HOST, 0]);
        using s = new Socket(AF_INET, SOCK_STREAM);
        s.bind([HOST, portOf(taken)]);
        await assert.rejects(s.listen(), isErrno('EADDRINUSE'));
        assert.equal(s.fileno(), -1);
        assert.deepEqual(s.getsockname(), ['0.0.0.0', 0], 'unbound, as after a failed bind');
        s.bind([HOST, 0]);
        await s.listen();
        assert.equal(s._rawTransport(), transport === 'raw');
        const port = portOf(s);
        assert.notEqual(port, portOf(taken));
        using c = await createConnection([HOST, port]);
        const [conn] = await s.accept();
        using _conn = conn;
        await c.sendall('after a failed bind');
        assert.equal((await conn.recv(100)).toString(), 'after a failed bind');
      } finally {
        if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
        else process.env.WEFT_SOCKET_TRANSPORT = saved;
      }
    });
  }

  test("an accept() made while a listen() is under way fails with that listen's error (helper-108)", async () => {
    using busy = await createServer(['127.0.0.1', 0]);
    const [, port] = busy.getsockname() as [string, number];
    const s = new Socket();
    // 'localhost' is no IP literal: Node's net listens, and its failure comes asynchronously.
    s.bind(['localhost', port]);
    const listening = s.listen();
    const accepting = s.accept();
    await assert.rejects(
      listening,
      (e: unknown) => e instanceof OSError && e.errnoName === 'EADDRINUSE',
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      accepting.then(
        () => 'accepted',
        (e: unknown) => e,
      ),
      new Promise((r) => {
        timer = setTimeout(() => r('still waiting after 2 s'), 2000);
      }),
    ]);
    clearTimeout(timer);
    s.close();
    await accepting.catch(() => {});
    assert.ok(
      outcome instanceof OSError && outcome.errnoName === 'EADDRINUSE',
      `accept() fails with the listen's error: ${String(outcome)}`,
    );
  });
});
