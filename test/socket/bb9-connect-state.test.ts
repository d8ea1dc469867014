/**
 * Bug bash bb9 against CPython 3.11.2 on Linux (the scripts' output is in the report of helper-142):
 *
 * - shutdown() of a socket whose non-blocking connect the kernel has made but weft has not learnt
 *   yet (loopback: a turn later) applies to the connection, as in Python; the verbs after it
 *   still answered as on a socket connecting: `sendNowait` and `send` after SHUT_WR raised
 *   BlockingIOError (EAGAIN) where Python's send raises BrokenPipeError (EPIPE), and recv after
 *   SHUT_RD raised EAGAIN where Python's returns b''.
 * - A connect that failed while it waited in timeout mode (`settimeout(ms)`), or through
 *   `sockConnect` on a socket that is not blocking: Python connects without blocking there, polls, and takes the error with
 *   getsockopt(SO_ERROR), so the socket is left as a failed non-blocking connect whose error was
 *   taken — recv b'', send EPIPE, the next connect ECONNABORTED, the one after it afresh. weft
 *   left it unconnected as a blocking connect(2) does (recv ENOTCONN, the next connect afresh).
 *   A blocking socket keeps that, through `connect` or `sockConnect` (Python's connect(2)
 *   reports the error itself).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  createServer,
  gaierror as GaiError,
  OSError,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ERROR,
  SOL_SOCKET,
  Socket,
} from '../../src/socket/index.js';
import { sockConnect } from '../../src/socket/loop-verbs.js';
import { checkLeaks } from '../support/leaks.js';
import { deadPort, errnoIs, onTransport, TRANSPORTS } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';
const inProgress = errnoIs('EINPROGRESS');

describe('bug bash bb9: the verbs after shutdown() of a connect the kernel has made', () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: send after SHUT_WR raises BrokenPipeError, recv after SHUT_RD gives b'', as Python`, async () => {
      await onTransport(transport, async () => {
        using srv = await createServer([HOST, 0]);
        const addr = srv.getsockname() as [string, number];
        for (const how of [SHUT_WR, SHUT_RDWR, SHUT_RD]) {
          const s = new Socket();
          try {
            s.setblocking(false);
            await assert.rejects(s.connect(addr), inProgress);
            s.shutdown(how);
            // Node's net issues connect(2) on the next tick: its shutdown is not known yet to
            // apply to a connection, and the verbs that wait (in timeout mode) learn it first.
            const known = transport !== 'net';
            if (!known) s.settimeout(30_000);
            if (how !== SHUT_RD) {
              if (known) {
                assert.throws(() => s.sendNowait('x'), BrokenPipeError, `sendNowait, how ${how}`);
              }
              await assert.rejects(s.send('x'), BrokenPipeError, `send, how ${how}`);
              await assert.rejects(s.sendall('x'), BrokenPipeError, `sendall, how ${how}`);
              assert.throws(() => s.sendNowait('x'), BrokenPipeError, `sendNowait, how ${how}`);
            }
            if (how !== SHUT_WR) {
              if (known) assert.equal(s.recvNowait(5).length, 0, `recvNowait, how ${how}`);
              assert.equal((await s.recv(5)).length, 0, `recv, how ${how}`);
              assert.equal(s.recvNowait(5).length, 0, `recvNowait after recv, how ${how}`);
            } else {
              // Python: EAGAIN (nothing came, reading is not shut down).
              assert.throws(() => s.recvNowait(5), BlockingIOError);
            }
          } finally {
            s.close();
          }
        }
      });
    });
  }
});

describe('bug bash bb9: a connect that failed while it waited in timeout mode, or in sockConnect', () => {
  for (const transport of TRANSPORTS) {
    for (const mode of ['timeout', 'sockConnect'] as const) {
      test(`${transport}, ${mode}: the error was taken: recv b'', send EPIPE, connect ECONNABORTED, then afresh`, async () => {
        await onTransport(transport, async () => {
          const port = await deadPort();
          const s = new Socket();
          try {
            if (mode === 'timeout') {
              s.settimeout(30_000);
              await assert.rejects(s.connect([HOST, port]), ConnectionRefusedError);
            } else {
              s.setblocking(false);
              await assert.rejects(sockConnect(s, [HOST, port]), ConnectionRefusedError);
            }
            assert.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), 0, 'no error pending');
            assert.equal((await s.recv(10)).length, 0, "recv: b''");
            assert.equal(s.recvNowait(10).length, 0);
            assert.throws(() => s.sendNowait('x'), BrokenPipeError);
            assert.throws(() => s.getpeername(), errnoIs('ENOTCONN'));
            await assert.rejects(s.connect([HOST, port]), ConnectionAbortedError);
            // The one after it starts afresh, and is refused in its turn.
            if (mode === 'timeout') {
              await assert.rejects(s.connect([HOST, port]), ConnectionRefusedError);
            } else {
              await assert.rejects(sockConnect(s, [HOST, port]), ConnectionRefusedError);
            }
          } finally {
            s.close();
          }
        });
      });
    }

    test(`${transport}: a blocking connect or sockConnect that failed leaves the socket unconnected (recv ENOTCONN, connect afresh)`, async () => {
      await onTransport(transport, async () => {
        const port = await deadPort();
        const s = new Socket();
        try {
          await assert.rejects(s.connect([HOST, port]), ConnectionRefusedError);
          await assert.rejects(s.recv(10), errnoIs('ENOTCONN'));
          await assert.rejects(s.connect([HOST, port]), ConnectionRefusedError);
          // sockConnect on a blocking socket: Python's connect(2) blocks and reports it itself.
          await assert.rejects(sockConnect(s, [HOST, port]), ConnectionRefusedError);
          await assert.rejects(s.recv(10), errnoIs('ENOTCONN'));
          await assert.rejects(sockConnect(s, [HOST, port]), ConnectionRefusedError);
          // A timeout-mode connect that succeeds after one failed in timeout mode.
          using srv = await createServer([HOST, 0]);
          const t = new Socket();
          try {
            t.settimeout(30_000);
            await assert.rejects(t.connect([HOST, port]), ConnectionRefusedError);
            await assert.rejects(t.connect(srv.getsockname()), ConnectionAbortedError);
            await t.connect(srv.getsockname());
            const [conn] = await srv.accept();
            await t.sendall('hi');
            assert.equal((await conn.recv(10)).toString(), 'hi');
            conn.close();
          } finally {
            t.close();
          }
        } finally {
          s.close();
        }
      });
    });
  }
});

/**
 * Review of the changes above, against CPython 3.11.2 (scripts in helper-145's report):
 *
 * - Only an error of the handshake (what getsockopt(SO_ERROR) takes: refused, timed out…) leaves
 *   a timeout-mode or `sockConnect` socket as a failed connect whose error was taken. A lookup's
 *   gaierror and an error connect(2) returns at once (ENETUNREACH) leave it unconnected, as
 *   Python: recv raises ENOTCONN and the next connect starts afresh (it works, or fails the same
 *   way). The change had spoilt the socket for the next connect (ECONNABORTED, recv b'').
 * - shutdown() of a connect Node's net had not issued yet, then refused: recv and send raise the
 *   refusal, as Python's (and weft's before the change); they gave b'' and BrokenPipeError.
 * - bind() after a timeout-mode connect was refused succeeds, as Python's; the refusal stays
 *   taken (recv b'', the next connect ECONNABORTED). weft raised EINVAL.
 */
describe('bug bash bb9 review: what a failed connect leaves behind', () => {
  for (const transport of TRANSPORTS) {
    for (const mode of ['timeout', 'sockConnect'] as const) {
      test(`${transport}, ${mode}: after a gaierror the socket is unconnected and the next connect works`, async () => {
        await onTransport(transport, async () => {
          using srv = await createServer([HOST, 0]);
          const s = new Socket();
          try {
            if (mode === 'timeout') {
              s.settimeout(30_000);
              await assert.rejects(s.connect(['no-such-host.invalid', 80]), GaiError);
            } else {
              s.setblocking(false);
              await assert.rejects(sockConnect(s, ['no-such-host.invalid', 80]), GaiError);
            }
            await assert.rejects(s.recv(10), errnoIs('ENOTCONN'));
            if (mode === 'timeout') await s.connect(srv.getsockname());
            else await sockConnect(s, srv.getsockname());
            const [conn] = await srv.accept();
            try {
              conn.sendNowait('hi');
              s.settimeout(30_000);
              assert.equal((await s.recv(10)).toString(), 'hi');
            } finally {
              conn.close();
            }
          } finally {
            s.close();
          }
        });
      });
    }

    test(`${transport}: an error connect(2) returns at once (ENETUNREACH) leaves the socket unconnected, as Python`, async () => {
      await onTransport(transport, async () => {
        const s = new Socket();
        try {
          s.settimeout(30_000);
          let first: unknown;
          await assert.rejects(s.connect(['255.255.255.255', 80]), (e) => {
            first = e;
            return e instanceof OSError;
          });
          await assert.rejects(s.recv(10), errnoIs('ENOTCONN'));
          // Python: the same error again, not ECONNABORTED.
          await assert.rejects(s.connect(['255.255.255.255', 80]), (e) => {
            assert.ok(!(e instanceof ConnectionAbortedError), String(e));
            assert.equal((e as OSError).errno, (first as OSError).errno);
            return true;
          });
        } finally {
          s.close();
        }
      });
    });

    test(`${transport}: shutdown() during a connect then refused: recv and send raise ConnectionRefusedError`, async () => {
      await onTransport(transport, async () => {
        const port = await deadPort();
        for (const how of [SHUT_RD, SHUT_WR]) {
          const s = new Socket();
          try {
            s.setblocking(false);
            await assert.rejects(s.connect([HOST, port]), inProgress);
            // Python: ENOTCONN (the kernel knows of the refusal); Node's net may not have
            // issued connect(2) yet, and records the shutdown.
            try {
              s.shutdown(how);
            } catch (e) {
              assert.ok(errnoIs('ENOTCONN')(e), String(e));
            }
            s.settimeout(30_000);
            if (how === SHUT_RD) await assert.rejects(s.recv(5), ConnectionRefusedError);
            else await assert.rejects(s.send('x'), ConnectionRefusedError);
          } finally {
            s.close();
          }
        }
      });
    });

    test(`${transport}: bind() after a timeout-mode connect was refused succeeds; the refusal stays taken`, async () => {
      await onTransport(transport, async () => {
        const port = await deadPort();
        using srv = await createServer([HOST, 0]);
        const s = new Socket();
        try {
          s.settimeout(30_000);
          await assert.rejects(s.connect([HOST, port]), ConnectionRefusedError);
          s.bind([HOST, 0]);
          assert.equal((await s.recv(10)).length, 0, "recv: b''");
          await assert.rejects(s.connect(srv.getsockname()), ConnectionAbortedError);
          await s.connect(srv.getsockname());
          const [conn] = await srv.accept();
          conn.close();
          assert.equal((s.getsockname() as [string, number])[0], HOST);
        } finally {
          s.close();
        }
      });
    });
  }
});
