/**
 * Two tasks calling `recv` on one blocking socket, as two threads may on a Python socket: the
 * second waits for its turn behind the first (it raised "read() called while another task is
 * already waiting for incoming data" before), in order, and a turn given up (cancelled, timed
 * out) passes to the next. `accept` and `sendall` already let several tasks wait.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { createTask, sleep } from '../../src/asyncio/index.js';
import { TimeoutError } from '../../src/internal/errors.js';
import {
  AF_INET,
  ConnectionResetError,
  OSError,
  SHUT_RD,
  SHUT_WR,
  SOCK_STREAM,
  Socket,
  sockRecv,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { onTransport, TRANSPORTS } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

async function pair(): Promise<{
  srv: Socket;
  client: Socket;
  conn: Socket;
  [Symbol.dispose](): void;
}> {
  const srv = new Socket(AF_INET, SOCK_STREAM);
  srv.bind([HOST, 0]);
  await srv.listen(4);
  const client = new Socket(AF_INET, SOCK_STREAM);
  await client.connect(srv.getsockname());
  const [conn] = await srv.accept();
  return {
    srv,
    client,
    conn,
    [Symbol.dispose]() {
      for (const s of [client, conn, srv]) s.close();
    },
  };
}

describe('bug bash helper-U: concurrent recv on one socket waits its turn, as threads do in Python', () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: three tasks recv in turn; the bytes come in order, none lost; a cancelled one passes its turn`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        const order: string[] = [];
        const recv = (name: string) =>
          createTask(async () => {
            const b = await p.conn.recv(3);
            order.push(`${name}:${b.toString()}`);
            return b.toString();
          });
        const a = recv('a');
        const b = recv('b');
        const gone = recv('gone');
        await sleep(0); // a waits on the reader, b and gone behind it
        const c = sockRecv(p.conn, 3).then((x) => {
          order.push(`c:${x.toString()}`);
          return x.toString();
        });
        gone.cancel();
        await assert.rejects(gone, { name: 'CancelledError' });
        await p.client.sendall('abcdefghi');
        assert.deepEqual([await a, await b, await c], ['abc', 'def', 'ghi']);
        assert.deepEqual(order, ['a:abc', 'b:def', 'c:ghi']);
      }));

    test(`${transport}: a task that calls recv again at once queues behind the one waiting (it took every turn back)`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        const order: string[] = [];
        const worker = (name: string) =>
          createTask(async () => {
            for (;;) {
              const b = await p.conn.recv(1);
              if (b.length === 0) return;
              order.push(name);
            }
          });
        const a = worker('a');
        await sleep(0);
        const b = worker('b');
        await sleep(0);
        for (let i = 0; i < 6; i++) {
          await p.client.sendall('x');
          while (order.length <= i) await sleep(1);
        }
        p.client.shutdown(SHUT_WR);
        await a;
        await b;
        assert.deepEqual(order, ['a', 'b', 'a', 'b', 'a', 'b']);
      }));

    test(`${transport}: the first recv cancelled while the second waits: the second gets the bytes`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        const first = createTask(() => p.conn.recv(10));
        const second = createTask(() => p.conn.recv(10));
        await sleep(0);
        first.cancel();
        await assert.rejects(first, { name: 'CancelledError' });
        await p.client.sendall('hello');
        assert.equal((await second).toString(), 'hello');
      }));

    test(`${transport}: a timeout bounds the whole recv, its turn behind another task's included`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        p.conn.settimeout(50);
        const first = createTask(() => p.conn.recv(10));
        const second = createTask(() => p.conn.recv(10));
        await assert.rejects(second, (e: unknown) => {
          assert.ok(e instanceof TimeoutError, `got ${String(e)}`);
          assert.equal((e as Error).message, 'timed out');
          return true;
        });
        await assert.rejects(first, TimeoutError);
        p.conn.settimeout(null);
        await p.client.sendall('after');
        assert.equal((await p.conn.recv(10)).toString(), 'after');
      }));

    test(`${transport}: close() fails every recv waiting, queued ones too, with EBADF`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        const first = createTask(() => p.conn.recv(10));
        const second = createTask(() => p.conn.recv(10));
        await sleep(0);
        p.conn.close();
        for (const t of [first, second]) {
          await assert.rejects(t, (e: unknown) => {
            assert.ok(e instanceof OSError, `got ${String(e)}`);
            assert.equal((e as OSError).errno, 9);
            return true;
          });
        }
      }));

    test(`${transport}: shutdown(SHUT_RD) ends every recv waiting with b""`, () =>
      onTransport(transport, async () => {
        using p = await pair();
        const first = createTask(() => p.conn.recv(10));
        const second = createTask(() => p.conn.recv(10));
        await sleep(0);
        p.conn.shutdown(SHUT_RD);
        assert.equal((await first).length, 0);
        assert.equal((await second).length, 0);
      }));

    test(`${transport}: a reset is raised once, by the recv waiting on the reader; the next one in line gets b''`, () =>
      onTransport(transport, async () => {
        const srv = new Socket(AF_INET, SOCK_STREAM);
        srv.bind([HOST, 0]);
        await srv.listen(4);
        const [, port] = srv.getsockname() as [string, number];
        const peer = net.connect(port, HOST);
        await new Promise((r) => peer.once('connect', r));
        const [conn] = await srv.accept();
        try {
          const first = createTask(() => conn.recv(10));
          const second = createTask(() => conn.recv(10));
          await sleep(0);
          peer.resetAndDestroy();
          const outcomes = await Promise.allSettled([first, second]);
          assert.equal(outcomes[0].status, 'rejected');
          const reason = (outcomes[0] as PromiseRejectedResult).reason;
          assert.ok(reason instanceof ConnectionResetError, `got ${String(reason)}`);
          assert.deepEqual(outcomes[1], { status: 'fulfilled', value: Buffer.alloc(0) });
        } finally {
          conn.close();
          srv.close();
        }
      }));
  }
});
