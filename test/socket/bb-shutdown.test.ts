/**
 * shutdown(SHUT_RD) against CPython 3.11 on Linux: recv still returns the bytes the kernel
 * holds — those that came before the shutdown and those the peer sends after it — and returns
 * b'' instead of waiting when it holds none. weft's recv dropped them and said b'' at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import {
  createConnection,
  createServer,
  SHUT_RD,
  SHUT_RDWR,
  type Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';

async function pair(): Promise<{ srv: Socket; client: Socket; conn: Socket }> {
  const srv = await createServer([HOST, 0]);
  const [, port] = srv.getsockname() as [string, number];
  const client = await createConnection([HOST, port]);
  const [conn] = await srv.accept();
  return { srv, client, conn };
}

/** Waits until `s` holds something to receive (bytes here). */
async function untilBuffered(s: Socket): Promise<void> {
  while (!s._readable()) await sleep(1);
}

describe('bug bash h102: shutdown(SHUT_RD), as on Linux', () => {
  for (const how of [SHUT_RD, SHUT_RDWR]) {
    test(`after shutdown(${how === SHUT_RD ? 'SHUT_RD' : 'SHUT_RDWR'}) recv returns the bytes held, then b'' without waiting`, async () => {
      const { srv, client, conn } = await pair();
      await client.sendall('before');
      await untilBuffered(conn);
      conn.shutdown(how);
      assert.equal((await conn.recv(100)).toString(), 'before', 'bytes that came before');
      assert.equal((await conn.recv(100)).length, 0, "nothing held: b'', no wait");
      assert.equal(conn.recvNowait(100).length, 0);
      if (how === SHUT_RD) {
        await client.sendall('after');
        let got = '';
        // (Bounded, so that a recv that drops them fails here rather than by the test timeout.)
        for (let i = 0; got.length < 5 && i < 10_000; i++) {
          const b = conn.recvNowait(100);
          got += b.toString();
          if (b.length === 0) await sleep(1);
        }
        assert.equal(got, 'after', 'bytes the peer sent after the shutdown');
      }
      for (const s of [client, conn, srv]) s.close();
    });
  }
});
