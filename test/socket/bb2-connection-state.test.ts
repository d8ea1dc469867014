/**
 * Bug bash h125 against CPython 3.11 on Linux (/tmp scripts in the report): what the kernel's
 * connection state makes shutdown(), getpeername() and send() say.
 *
 * - After a reset, shutdown() raises OSError ENOTCONN (the reset stays pending for recv), and so
 *   does getpeername() — also when the reset came after the peer's FIN (weft's transport reads
 *   nothing after EOF, so only the descriptor knew).
 * - Once both directions are shut down (our SHUT_WR, the peer's FIN), shutdown() and
 *   getpeername() raise ENOTCONN.
 * - A send after our own shutdown(SHUT_WR) reports a pending reset first
 *   (ConnectionResetError), then BrokenPipeError.
 * - send/recv on a socket still connecting: BlockingIOError when non-blocking, a wait for the
 *   connection when blocking (weft raised OSError ENOTCONN); send on a socket neither connected
 *   nor connecting: BrokenPipeError (EPIPE), as Linux's send(2).
 * - shutdown(how) with another how: OSError EINVAL (weft: RangeError), after EBADF.
 * - setblocking() of None/a string/a float, setsockopt() of a float or a value beyond 32 bits:
 *   TypeError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionResetError,
  createConnection,
  createServer,
  RawSocket,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_REUSEADDR,
  SOL_SOCKET,
  Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { errnoIs, TRANSPORTS, withPeer } from '../support/net.js';
import { until } from '../support/until.js';

checkLeaks();

const HOST = '127.0.0.1';

/** The peer keeps its side open after our FIN (half-open), as the Linux checks below need. */
const halfOpenPeer = (transport: string, use: Parameters<typeof withPeer>[1]) =>
  withPeer(transport, use, { allowHalfOpen: true });

/** The kernel learns of a reset at once on loopback; weft's transport reads it a turn later. */
async function untilReset(s: Socket): Promise<void> {
  await until(() => s._readable(), 'the reset to reach the socket');
}

describe('bug bash h125: the connection state, as Linux reports it', () => {
  for (const transport of TRANSPORTS) {
    for (const how of [SHUT_RD, SHUT_WR, SHUT_RDWR]) {
      test(`${transport}: shutdown(${how}) after a reset raises ENOTCONN and leaves the reset for recv`, async () => {
        await halfOpenPeer(transport, async (s, peer) => {
          peer.write('abc');
          await until(() => s._readable(), 'the bytes');
          peer.resetAndDestroy();
          await until(() => s._net()?.destroyed === true, 'the reset');
          assert.throws(() => s.shutdown(how), errnoIs('ENOTCONN'));
          assert.equal((await s.recv(10)).toString(), 'abc', 'the bytes before the reset');
          await assert.rejects(s.recv(10), ConnectionResetError);
          assert.throws(() => s.shutdown(how), errnoIs('ENOTCONN'), 'and after it was reported');
        });
      });
    }

    test(`${transport}: getpeername raises ENOTCONN after the peer's FIN and then a reset`, async () => {
      await halfOpenPeer(transport, async (s, peer) => {
        peer.end();
        await until(() => s._readable(), 'the EOF');
        assert.deepEqual(s.getpeername(), [HOST, peer.localPort], 'after the FIN it answers');
        peer.resetAndDestroy();
        // Nothing in weft reads after EOF: only the kernel knows. Bounded wait for its RST.
        let last: unknown = null;
        const deadline = performance.now() + 3000;
        while (last === null && performance.now() < deadline) {
          try {
            s.getpeername();
            await sleep(1);
          } catch (e) {
            last = e;
          }
        }
        assert.ok(last !== null, 'getpeername still answered after the reset');
        errnoIs('ENOTCONN')(last);
        assert.equal((await s.recv(10)).length, 0, "recv after FIN then reset: b'', as Python");
      });
    });

    test(`${transport}: once both sides shut down, getpeername and shutdown raise ENOTCONN`, async () => {
      await halfOpenPeer(transport, async (s, peer) => {
        s.shutdown(SHUT_WR);
        await new Promise<void>((r) => peer.once('end', r));
        peer.end();
        await until(() => s._readable(), 'the EOF');
        assert.equal((await s.recv(10)).length, 0);
        await until(() => {
          try {
            s.getpeername();
            return false;
          } catch (e) {
            errnoIs('ENOTCONN')(e);
            return true;
          }
        }, 'the connection to close');
        assert.throws(() => s.shutdown(SHUT_RD), errnoIs('ENOTCONN'));
        assert.throws(() => s.shutdown(SHUT_WR), errnoIs('ENOTCONN'));
        await assert.rejects(s.send('x'), BrokenPipeError);
      });
    });

    test(`${transport}: the peer's FIN alone leaves getpeername and shutdown working`, async () => {
      await halfOpenPeer(transport, async (s, peer) => {
        peer.end();
        await until(() => s._readable(), 'the EOF');
        s.shutdown(SHUT_RD);
        assert.deepEqual(s.getpeername(), [HOST, peer.localPort]);
        s.shutdown(SHUT_WR);
      });
    });

    test(`${transport}: a send after our SHUT_WR reports a pending reset first, then EPIPE`, async () => {
      await halfOpenPeer(transport, async (s, peer) => {
        s.shutdown(SHUT_WR);
        await new Promise<void>((r) => peer.once('end', r));
        peer.resetAndDestroy();
        await untilReset(s);
        await assert.rejects(s.send('x'), ConnectionResetError);
        await assert.rejects(s.sendall('x'), BrokenPipeError);
        assert.throws(() => s.sendNowait('x'), BrokenPipeError);
        assert.equal((await s.recv(10)).length, 0, "the send reported the reset: recv says b''");
      });
    });

    test(`${transport}: recv and send while connecting: BlockingIOError non-blocking, a wait blocking`, async () => {
      const saved = process.env.WEFT_SOCKET_TRANSPORT;
      if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
      else delete process.env.WEFT_SOCKET_TRANSPORT;
      const srv = await createServer([HOST, 0]);
      try {
        const addr = srv.getsockname() as [string, number];
        const nb = new Socket();
        nb.setblocking(false);
        await assert.rejects(nb.connect(addr), errnoIs('EINPROGRESS'));
        // The connection may be made by the next turn; these run in this one.
        assert.throws(() => nb.recvNowait(10), BlockingIOError);
        assert.throws(() => nb.sendNowait('x'), BlockingIOError);
        const r = nb.recv(10);
        const w = nb.send('x');
        const a = nb.sendall('x');
        await assert.rejects(r, errnoIs('EAGAIN'));
        await assert.rejects(w, errnoIs('EAGAIN'));
        await assert.rejects(a, errnoIs('EAGAIN'));

        const b = new Socket();
        const connecting = b.connect(addr);
        const sent = b.sendall('hello'); // waits for the connection, then sends
        const got = b.recv(10); // waits for the connection, then for bytes
        await connecting;
        await sent;
        const [one] = await srv.accept();
        const [two] = await srv.accept();
        const mine = b.getsockname() as [string, number];
        const isB = (x: Socket): boolean => (x.getpeername() as [string, number])[1] === mine[1];
        assert.ok(isB(one) !== isB(two), 'one connection is b, the other nb');
        const conn = isB(one) ? one : two;
        const first = isB(one) ? two : one;
        let data = '';
        while (data.length < 5) data += (await conn.recv(10)).toString();
        assert.equal(data, 'hello');
        await conn.sendall('back');
        assert.equal((await got).toString(), 'back');
        for (const x of [nb, b, first, conn]) x.close();
      } finally {
        if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
        else process.env.WEFT_SOCKET_TRANSPORT = saved;
        srv.close();
      }
    });
  }

  test('send on a socket neither connected nor connecting raises BrokenPipeError (EPIPE)', async () => {
    const fresh = new Socket();
    await assert.rejects(fresh.send('x'), BrokenPipeError);
    await assert.rejects(fresh.sendall('x'), BrokenPipeError);
    assert.throws(() => fresh.sendNowait('x'), BrokenPipeError);
    await assert.rejects(fresh.recv(1), errnoIs('ENOTCONN'), 'recv says ENOTCONN, as Python');
    fresh.close();
    const srv = await createServer([HOST, 0]);
    await assert.rejects(srv.send('x'), BrokenPipeError);
    assert.throws(() => srv.sendNowait('x'), BrokenPipeError);
    srv.close();
  });

  test('shutdown with a bad how: TypeError for a non-integer, then EBADF, then EINVAL, then ENOTCONN', async () => {
    const s = new Socket();
    assert.throws(() => s.shutdown(3), errnoIs('EINVAL'));
    assert.throws(() => s.shutdown(-1), errnoIs('EINVAL'));
    assert.throws(() => s.shutdown(SHUT_WR), errnoIs('ENOTCONN'));
    s.close();
    assert.throws(() => s.shutdown(5), errnoIs('EBADF'));
    assert.throws(() => s.shutdown('x' as never), TypeError);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: shutdown of a listening socket: SHUT_WR does nothing, SHUT_RD stops listening (accept EINVAL), listen() again works`, async () => {
      const saved = process.env.WEFT_SOCKET_TRANSPORT;
      if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
      else delete process.env.WEFT_SOCKET_TRANSPORT;
      try {
        const srv = new Socket();
        srv.bind([HOST, 0]);
        await srv.listen();
        assert.equal(srv._rawTransport(), transport === 'raw');
        const addr = srv.getsockname() as [string, number];
        const first = srv.accept();
        srv.shutdown(SHUT_WR); // Linux: nothing happens to a listening socket
        const queued = await createConnection(addr);
        (await first)[0].close();
        const waiting = srv.accept().then(
          () => null,
          (e: unknown) => e,
        );
        srv.shutdown(SHUT_RDWR);
        errnoIs('EINVAL')(await waiting);
        assert.deepEqual(srv.getsockname(), addr, 'getsockname still answers');
        await assert.rejects(srv.accept(), errnoIs('EINVAL'));
        assert.throws(() => srv.acceptNowait(), errnoIs('EINVAL'));
        await assert.rejects(createConnection(addr), errnoIs('ECONNREFUSED'));
        queued.close();
        await srv.listen(); // bound to port 0: a new port, as Python's
        const again = srv.getsockname() as [string, number];
        const c = await createConnection(again);
        const [conn] = await srv.accept();
        await c.sendall('ok');
        assert.equal((await conn.recv(10)).toString(), 'ok');
        for (const x of [c, conn, srv]) x.close();
      } finally {
        if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
        else process.env.WEFT_SOCKET_TRANSPORT = saved;
      }
    });
  }

  test('net: a listen() still under way ends when the socket is closed (EBADF) or shut down (it listened)', async () => {
    const saved = process.env.WEFT_SOCKET_TRANSPORT;
    process.env.WEFT_SOCKET_TRANSPORT = 'net';
    try {
      const bounded = async <T>(p: Promise<T>): Promise<T | 'hung'> => {
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<'hung'>((r) => {
          timer = setTimeout(() => r('hung'), 10_000);
        });
        try {
          return await Promise.race([p, hung]);
        } finally {
          clearTimeout(timer);
        }
      };
      const a = new Socket();
      a.bind([HOST, 0]);
      const la = a.listen().then(
        () => null,
        (e: unknown) => e,
      );
      a.close(); // Node's server never said 'listening' nor 'error': the listen waited for ever
      const ea = await bounded(la);
      assert.notEqual(ea, 'hung', 'listen() after close() must end');
      errnoIs('EBADF')(ea);
      const b = new Socket();
      b.bind([HOST, 0]);
      const lb = b.listen();
      b.shutdown(SHUT_RDWR);
      assert.equal(await bounded(lb), undefined, 'listen() resolves: it listened, then stopped');
      await assert.rejects(b.accept(), errnoIs('EINVAL'));
      await b.listen();
      const c = await createConnection(b.getsockname() as [string, number]);
      (await b.accept())[0].close();
      c.close();
      b.close();
    } finally {
      if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
      else process.env.WEFT_SOCKET_TRANSPORT = saved;
    }
  });

  test('RawSocket.shutdown: EBADF when closed, then EINVAL for another how', {
    skip: !RawSocket.native,
  }, () => {
    const srv = RawSocket.listen([HOST, 0]);
    assert.throws(() => srv.shutdown(3), errnoIs('EINVAL'));
    assert.throws(() => srv.shutdown('1' as never), TypeError);
    srv.close();
    assert.throws(() => srv.shutdown(3), errnoIs('EBADF'));
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: an accepted socket inherits the listener's SO_REUSEADDR, as on Linux`, async () => {
      const saved = process.env.WEFT_SOCKET_TRANSPORT;
      if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
      else delete process.env.WEFT_SOCKET_TRANSPORT;
      try {
        for (const reuse of [1, 0]) {
          const srv = new Socket();
          srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, reuse);
          srv.bind([HOST, 0]);
          await srv.listen();
          const c = await createConnection(srv.getsockname() as [string, number]);
          const [conn] = await srv.accept();
          assert.equal(conn.getsockopt(SOL_SOCKET, SO_REUSEADDR), reuse);
          assert.equal(c.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0, 'a client has its own (0)');
          for (const x of [c, conn, srv]) x.close();
        }
      } finally {
        if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
        else process.env.WEFT_SOCKET_TRANSPORT = saved;
      }
    });
  }

  test('setblocking and setsockopt take the types Python takes', () => {
    using s = new Socket();
    for (const bad of [null, undefined, '1', 1.5]) {
      assert.throws(() => s.setblocking(bad as never), TypeError, String(bad));
    }
    assert.equal(s.gettimeout(), null, 'a rejected flag changes nothing');
    s.setblocking(0 as never);
    assert.equal(s.gettimeout(), 0, 'an int is its truth: 0 is non-blocking');
    s.setblocking(2 as never);
    assert.equal(s.gettimeout(), null);
    for (const bad of [1.5, 2 ** 31, -(2 ** 31) - 1, Number.NaN, '1', null]) {
      assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, bad as never), TypeError);
    }
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 5);
    assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 1);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, -(2 ** 31));
    assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 1);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, false);
    assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
  });
});
