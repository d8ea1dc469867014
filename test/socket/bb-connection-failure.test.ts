/**
 * A connection that fails (the peer resets it) reports its error once, as the kernel reports a
 * socket's pending error once: checked against CPython 3.11 on Linux, where after a reset the
 * first recv (or send) raises ConnectionResetError, then recv returns b'' and send raises
 * BrokenPipeError, recv never raises BrokenPipeError, and getpeername raises ENOTCONN.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import { DefaultSelector, EVENT_READ } from '../../src/selectors/index.js';
import {
  BrokenPipeError,
  ConnectionResetError,
  OSError,
  type Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TRANSPORTS, withPeer } from '../support/net.js';

checkLeaks();

const _HOST = '127.0.0.1';
/** Both transports where the addon is built (weft's own descriptor, then Node's net). */

/** Resolves once `s` has something for recv: here, the reset the transport read. */
async function untilReadable(s: Socket): Promise<void> {
  using sel = new DefaultSelector();
  sel.register(s, EVENT_READ);
  await sel.select();
}

const isENOTCONN = (e: unknown): boolean => e instanceof OSError && e.errnoName === 'ENOTCONN';

describe('bug bash h102: a connection failure is reported once, as in Python', () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: recv raises ConnectionResetError once, then returns b'' for ever`, async () => {
      await withPeer(transport, async (s, peer) => {
        peer.write('abc');
        while (!s._readable()) await sleep(1);
        peer.resetAndDestroy();
        await untilReadable(s);
        while (s._net()?.destroyed !== true) await sleep(1);
        assert.equal((await s.recv(100)).toString(), 'abc', 'the bytes before the reset first');
        await assert.rejects(s.recv(100), ConnectionResetError);
        assert.equal((await s.recv(100)).length, 0, "b'' after the reset was reported");
        assert.equal(s.recvNowait(100).length, 0);
        assert.equal((await s.recv(100)).length, 0);
        await assert.rejects(s.send('x'), BrokenPipeError);
        assert.throws(() => s.getpeername(), isENOTCONN);
      });
    });

    test(`${transport}: the first send after a reset raises ConnectionResetError; then recv b'' and send EPIPE`, async () => {
      await withPeer(transport, async (s, peer) => {
        peer.resetAndDestroy();
        await untilReadable(s);
        assert.throws(() => s.getpeername(), isENOTCONN, 'getpeername: ENOTCONN after a reset');
        await assert.rejects(s.send('x'), (e: unknown) => {
          assert.ok(e instanceof ConnectionResetError, `ConnectionResetError: got ${String(e)}`);
          return true;
        });
        assert.equal((await s.recv(10)).length, 0, 'the send reported the reset: recv says EOF');
        await assert.rejects(s.sendall('x'), BrokenPipeError);
        assert.throws(() => s.sendNowait('x'), BrokenPipeError);
      });
    });

    test(`${transport}: a sendall cut by a reset raises ConnectionResetError; recv then returns b'', never BrokenPipeError`, async () => {
      await withPeer(transport, async (s, peer) => {
        peer.pause();
        // Far more than the kernel's buffers hold: it waits while the peer does not read.
        const sending = s.sendall(Buffer.alloc(64 << 20)).then(
          () => null,
          (e: unknown) => e,
        );
        while (s._writable()) await sleep(1);
        peer.resetAndDestroy();
        const failed = await sending;
        // Python: ConnectionResetError (weft's own transport gave EPIPE until its read-ahead's
        // ECONNRESET was reported before the queue's flush).
        assert.ok(
          failed instanceof ConnectionResetError,
          `a ConnectionResetError: got ${String(failed)}`,
        );
        const got = await s.recv(10).catch((e: unknown) => e);
        assert.ok(Buffer.isBuffer(got), `recv after the failed sendall: b'', got ${String(got)}`);
        assert.equal(got.length, 0);
        assert.equal(s.recvNowait(10).length, 0);
        await assert.rejects(s.sendall('x'), BrokenPipeError);
        assert.throws(() => s.getpeername(), isENOTCONN);
      });
    });
  }
});
