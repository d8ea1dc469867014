/**
 * RawSocket's recv verbs and getsockname against CPython 3.11's socket: `recv(0)` is b'' at
 * once (CPython answers it without a system call), `recv_into(buf, 0)` reads into the whole
 * buffer, a count larger than the buffer is ValueError ("buffer too small for requested
 * bytes"), and getsockname gives the host as well as the port.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import { BlockingIOError, createConnection, OSError, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';

/** Accepts the connection a client made: the listener's queue fills when the client connects. */
function acceptSoon(srv: RawSocket): Promise<RawSocket> {
  return (async () => {
    for (;;) {
      try {
        return srv.acceptNowait()[0];
      } catch (e) {
        if (!(e instanceof BlockingIOError)) throw e;
        await sleep(1);
      }
    }
  })();
}

/** `conn.recvInto(buf, nbytes)`, retried until something has arrived. */
async function recvSoon(conn: RawSocket, buf: Buffer, nbytes: number): Promise<number> {
  for (;;) {
    try {
      return conn.recvInto(buf, nbytes);
    } catch (e) {
      if (!(e instanceof BlockingIOError)) throw e;
      await sleep(1);
    }
  }
}

describe('bug bash h102: RawSocket recv and getsockname, as in Python', {
  skip: !RawSocket.native,
}, () => {
  test("recvNowait(0) is b'' with nothing to read, recvSync(0) too; EBADF once closed", async () => {
    using srv = RawSocket.listen([HOST, 0]);
    const [, port] = srv.getsockname() as [string, number];
    using c = await createConnection([HOST, port]);
    const conn = await acceptSoon(srv);
    assert.throws(() => conn.recvNowait(1), BlockingIOError, 'nothing has arrived');
    assert.equal(conn.recvNowait(0).length, 0);
    assert.equal(conn.recvSync(0, { timeout: 0 }).length, 0);
    assert.equal(conn.recvInto(Buffer.alloc(0)), 0, 'an empty buffer: 0');
    conn.close();
    assert.throws(
      () => conn.recvNowait(0),
      (e: unknown) => e instanceof OSError && e.errnoName === 'EBADF',
    );
    assert.throws(
      () => conn.recvInto(Buffer.alloc(0)),
      (e: unknown) => e instanceof OSError && e.errnoName === 'EBADF',
    );
    c.close();
  });

  test('recvInto(buf, 0) reads into the whole buffer; a count larger than the buffer is RangeError', async () => {
    using srv = RawSocket.listen([HOST, 0]);
    const [, port] = srv.getsockname() as [string, number];
    using c = await createConnection([HOST, port]);
    using conn = await acceptSoon(srv);
    const buf = Buffer.alloc(8);
    assert.throws(() => conn.recvInto(buf, 9), RangeError);
    assert.throws(() => conn.recvIntoSync(buf, { nbytes: 9, timeout: 0 }), RangeError);
    await c.sendall('hello');
    const n = await recvSoon(conn, buf, 0);
    assert.ok(n > 0, 'nbytes 0 is not a read of 0 bytes (which would look like EOF)');
    let got = buf.subarray(0, n).toString();
    while (got.length < 5) got += buf.subarray(0, await recvSoon(conn, buf, 0)).toString();
    assert.equal(got, 'hello');
  });

  test('getsockname() gives [host, port], as Socket.getsockname() does', async () => {
    using srv = RawSocket.listen([HOST, 0]);
    const [host, port] = srv.getsockname() as [string, number];
    assert.equal(host, HOST);
    assert.ok(port > 0);
    using c = await createConnection([HOST, port]);
    using conn = await acceptSoon(srv);
    assert.deepEqual(conn.getsockname(), [HOST, port]);
    c.close();
  });
});
