/**
 * A socket in a Process's args (process per connection, preforking): it arrives connected in
 * the child, the parent's copy is released without ending the connection, and no byte the
 * parent had already read is lost or reordered.
 */
import assert from 'node:assert/strict';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { Process, Queue } from '../../src/multiprocessing/index.js';
import { NotCloneableError } from '../../src/queue/index.js';
import { createConnection, OSError, Socket, type SocketAddress } from '../../src/socket/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  acceptOne,
  answerOnce,
  echoUpper,
  expectReset,
  poolEcho,
  sendAndEnd,
} from './fixtures/socket-targets.js';

checkLeaks({ graceMs: 3000 });

async function listener(): Promise<[Socket, number]> {
  const srv = new Socket();
  srv.bind(['127.0.0.1', 0]);
  await srv.listen();
  return [srv, (srv.getsockname() as [string, number])[1]];
}

/** Reads until `n` characters came, or EOF. */
async function recvN(c: Socket, n: number): Promise<string> {
  let got = '';
  while (got.length < n) {
    const b = await c.recv(1024);
    if (b.length === 0) break;
    got += b.toString();
  }
  return got;
}

/**
 * Resolves once the parent's side has read bytes of the connection into user space: exactly
 * the state in which a hand-off must not lose them.
 */
async function untilBuffered(conn: Socket): Promise<void> {
  const { DefaultSelector, EVENT_READ } = await import('../../src/selectors/index.js');
  const sel = new DefaultSelector();
  sel.register(conn, EVENT_READ);
  try {
    while ((await sel.select({ timeout: 5000 })).length === 0);
  } finally {
    sel.close();
  }
}

describe('Process with a socket in its args', () => {
  test('the child echoes; bytes the parent had read arrive first and in order; parent close does not end it', async () => {
    const [srv, port] = await listener();
    using client = await createConnection(['127.0.0.1', port]);
    await client.sendall('abcdefgh');
    const [conn] = await srv.accept();
    await untilBuffered(conn);
    // The parent takes three bytes itself; the other five are in its buffers, unread.
    assert.equal((await conn.recv(3)).toString(), 'abc');
    const p = new Process({ target: echoUpper, args: [conn] });
    p.start();
    conn.close();
    // The parent's copy is gone here, the connection is not.
    assert.throws(() => conn.recvNowait(1), OSError);
    assert.equal(conn.fileno(), -1);
    await client.sendall('ij');
    assert.equal(await recvN(client, 7), 'DEFGHIJ');
    await client.sendall('more');
    assert.equal(await recvN(client, 4), 'MORE');
    client.shutdown(1);
    // EOF from the child (its echo loop ends and closes).
    assert.equal((await client.recv(10)).length, 0);
    await p.join();
    assert.equal(p.exitcode, 0);
    srv.close();
  });

  test('the child exiting closes the connection (the parent released its copy)', async () => {
    const [srv, port] = await listener();
    using client = await createConnection(['127.0.0.1', port]);
    const [conn, addr] = await srv.accept();
    const p = new Process({ target: answerOnce, args: [conn, addr as SocketAddress] });
    p.start();
    await client.sendall('once');
    assert.equal(await recvN(client, 4), 'ONCE');
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.equal((await client.recv(10)).length, 0, 'EOF once the child is gone');
    srv.close();
  });

  test('every byte the child queued arrives, though its target returned before they left', async () => {
    const [srv, port] = await listener();
    using client = await createConnection(['127.0.0.1', port]);
    const [conn] = await srv.accept();
    // Far more than loopback's kernel buffers take at once: most wait in the child's queue.
    const n = 64 * 1024 * 1024;
    const p = new Process({ target: sendAndEnd, args: [conn, n] });
    p.start();
    conn.close();
    let got = 0;
    for (let b = await client.recv(1 << 20); b.length > 0; b = await client.recv(1 << 20)) {
      got += b.length;
    }
    await p.join();
    assert.equal(got, n);
    assert.equal(p.exitcode, 0);
    srv.close();
  });

  test('a peer reset reaches the child as ConnectionResetError', async () => {
    const [srv, port] = await listener();
    const raw: NetSocket = netConnect({ host: '127.0.0.1', port });
    const ready = new Promise<string>((resolve, reject) => {
      raw.once('data', (d) => resolve(d.toString()));
      raw.once('error', reject);
    });
    const [conn] = await srv.accept();
    const p = new Process({ target: expectReset, args: [conn] });
    p.start();
    conn.close();
    assert.equal(await ready, 'ready');
    raw.resetAndDestroy();
    await p.join();
    assert.equal(p.exitcode, 0, 'exit 0: the child caught ConnectionResetError (4: it saw EOF)');
    srv.close();
  });

  test('a listening socket handed to two children: both accept, the parent no longer does', async () => {
    const [srv, port] = await listener();
    const children = [0, 1].map(() => new Process({ target: acceptOne, args: [srv] }));
    for (const c of children) c.start();
    // Released at the end of the step that handed it over.
    await Promise.resolve();
    await assert.rejects(srv.accept(), OSError);
    const answers: string[] = [];
    for (let i = 0; i < 2; i++) {
      using c = await createConnection(['127.0.0.1', port]);
      // Up to EOF: the child closes after its answer.
      answers.push(await recvN(c, Number.POSITIVE_INFINITY));
    }
    for (const c of children) await c.join();
    assert.deepEqual(
      children.map((c) => c.exitcode),
      [0, 0],
    );
    assert.deepEqual(
      answers.sort(),
      children.map((c) => `pid ${c.pid}`).sort(),
      'each child accepted one connection',
    );
    // Too late for another child: the parent's copy is closed.
    assert.throws(() => new Process({ target: acceptOne, args: [srv] }).start(), OSError);
  });

  test('a hand-off undone (another argument refused) leaves the connection as it was', async () => {
    const [srv, port] = await listener();
    using client = await createConnection(['127.0.0.1', port]);
    await client.sendall('abcdef');
    const [conn] = await srv.accept();
    using _conn = conn;
    await untilBuffered(conn);
    assert.equal((await conn.recv(2)).toString(), 'ab');
    // `conn` is prepared (its reading stopped, its buffered bytes taken), then the unconnected
    // socket after it is refused: `conn` must get its bytes back and read again.
    using unconnected = new Socket();
    const p = new Process({ target: echoUpper, args: [conn, unconnected] });
    assert.throws(
      () => p.start(),
      (e: unknown) => e instanceof OSError && e.errnoName === 'ENOTCONN',
    );
    assert.equal(p.pid, null);
    await client.sendall('gh');
    assert.equal(await recvN(conn, 6), 'cdefgh');
    await conn.sendall('ok');
    assert.equal(await recvN(client, 2), 'ok');
    srv.close();
  });

  test('a socket that is neither connected nor listening is refused before the child starts', () => {
    using s = new Socket();
    const p = new Process({ target: echoUpper, args: [s] });
    assert.throws(
      () => p.start(),
      (e: unknown) => e instanceof OSError && e.errnoName === 'ENOTCONN',
    );
    assert.equal(p.pid, null);
  });
});

describe('a socket anywhere else than Process args', () => {
  let srv: Socket;
  let client: Socket;
  let conn: Socket;
  before(async () => {
    let port: number;
    [srv, port] = await listener();
    client = await createConnection(['127.0.0.1', port]);
    [conn] = await srv.accept();
  });
  after(() => {
    conn.close();
    client.close();
    srv.close();
  });

  test('a ProcessPoolExecutor task fails with NotCloneableError; the pool and the socket go on', async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      await assert.rejects(ex.submit(poolEcho, conn).result(), NotCloneableError);
      assert.equal(await ex.submit(poolEcho, 'x').result(), 'string');
    } finally {
      await ex.shutdown();
    }
    await client.sendall('still here');
    assert.equal((await conn.recv(64)).toString(), 'still here');
  });

  test('a thread refuses it with NotCloneableError and does not start', () => {
    const t = new Thread({ target: poolEcho, args: [conn] });
    assert.throws(() => t.start(), NotCloneableError);
    assert.equal(t.isAlive(), false);
  });

  test('a multiprocessing Queue refuses it with NotCloneableError', async () => {
    const q = new Queue<unknown>();
    await assert.rejects(q.put(conn), NotCloneableError);
    assert.throws(() => q.putNowait({ conn }), NotCloneableError);
    await q.put('after');
    assert.equal(await q.get({ timeout: 30000 }), 'after');
  });
});
