import assert from 'node:assert/strict';
import { connect, type Socket as NetSocket } from 'node:net';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CancelledError, createTask, sleep } from '../../src/asyncio/index.js';
import { TimeoutError } from '../../src/internal/errors.js';
import {
  EpollSelector,
  EVENT_READ,
  EVENT_WRITE,
  KeyError,
  RuntimeError,
} from '../../src/selectors/index.js';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionResetError,
  OSError,
  RawSocket,
  SHUT_WR,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_WORKER_LOADER } from '../support/ts.js';

checkLeaks();

const HOST = '127.0.0.1';
/** The deadline of a select or a blocking call that waits for something sure to come. */
const LONG = 30_000;

/** Resolves once Node handed `data` to the kernel (no sleep standing in for that). */
function written(c: NetSocket, data: string): Promise<void> {
  return new Promise<void>((r, j) => c.write(data, (e) => (e ? j(e) : r())));
}

async function client(port: number): Promise<NetSocket> {
  const s = connect({ host: HOST, port });
  await new Promise<void>((r, j) => {
    s.once('connect', r);
    s.once('error', j);
  });
  return s;
}

async function acceptOne(sel: EpollSelector, srv: RawSocket): Promise<RawSocket> {
  for (;;) {
    try {
      return srv.acceptNowait()[0];
    } catch (e) {
      if (!(e instanceof BlockingIOError)) throw e;
      await sel.select({ timeout: LONG });
    }
  }
}

/** Where RawSocket and EpollSelector cannot exist, the suites below skip, saying so. */
const noIo = !RawSocket.native && 'the weft_io addon is not built here (or WEFT_NO_NATIVE=1)';

describe('EpollSelector and RawSocket (native readiness)', { skip: noIo }, () => {
  test('a listening RawSocket is readable when a connection waits; recvInto reads what was sent', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    const port = (srv.getsockname() as [string, number])[1];
    assert.ok(port > 0);
    sel.register(srv, EVENT_READ, 'srv');
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    assert.throws(() => srv.acceptNowait(), BlockingIOError);
    const c = await client(port);
    const ready = await sel.select({ timeout: LONG });
    assert.equal(ready.length, 1);
    assert.equal(ready[0]![0].data, 'srv');
    using conn = srv.acceptNowait()[0];
    const buf = Buffer.alloc(16);
    assert.throws(() => conn.recvInto(buf), BlockingIOError);
    sel.register(conn, EVENT_READ);
    c.write('hello raw world!!!');
    await sel.select({ timeout: LONG });
    // recvInto takes at most the buffer; the rest stays readable (level-triggered).
    assert.equal(conn.recvInto(buf), 16);
    assert.equal(buf.toString(), 'hello raw world!');
    const again = await sel.select({ timeout: 0 });
    assert.equal(again.length, 1);
    assert.equal(conn.recvNowait(100).toString(), '!!');
    assert.equal(conn.sendNowait(Buffer.from('pong')), 4);
    const got = await new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
    assert.equal(got, 'pong');
    c.end();
    await sel.select({ timeout: LONG });
    assert.equal(conn.recvInto(buf), 0, 'EOF');
    sel.unregister(conn);
    c.destroy();
  });

  test('a reset peer raises ConnectionResetError, a send to a closed peer BrokenPipeError', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const c = await client((srv.getsockname() as [string, number])[1]);
    using conn = await acceptOne(sel, srv);
    sel.unregister(srv);
    sel.register(conn, EVENT_READ);
    c.resetAndDestroy();
    await sel.select({ timeout: LONG });
    assert.throws(
      () => conn.recvNowait(10),
      (e: unknown) => {
        return e instanceof ConnectionResetError || e instanceof BrokenPipeError;
      },
    );
    assert.throws(
      () => {
        for (let i = 0; i < 10; i++) conn.sendNowait(Buffer.alloc(1000));
      },
      (e: unknown) => e instanceof BrokenPipeError || e instanceof ConnectionResetError,
    );
    sel.unregister(conn);
  });

  test('a socket closed before it was unregistered can still be unregistered (found by identity, as in Python)', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const c = await client((srv.getsockname() as [string, number])[1]);
    const conn = await acceptOne(sel, srv);
    const fd = conn.fileno();
    sel.register(conn, EVENT_READ, 'data');
    conn.close();
    assert.equal(sel.getKey(conn).fd, fd, 'getKey finds it by identity once its fileno is -1');
    const key = sel.unregister(conn);
    assert.equal(key.data, 'data');
    // Closed and no longer registered: Python's ValueError "Invalid file descriptor: -1".
    assert.throws(() => sel.getKey(conn), RangeError);
    assert.throws(() => sel.unregister(conn), RangeError);
    assert.equal(sel.getMap().size, 1, 'only the listener is left');
    // The descriptor number is free in the selector: a new connection that gets it registers.
    const c2 = await client((srv.getsockname() as [string, number])[1]);
    using conn2 = await acceptOne(sel, srv);
    sel.register(conn2, EVENT_READ);
    sel.unregister(conn2);
    sel.unregister(srv);
    c.destroy();
    c2.destroy();
  });

  test('EVENT_WRITE: a full send buffer blocks, and a reading peer makes it writable again', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const c = await client((srv.getsockname() as [string, number])[1]);
    c.pause();
    using conn = await acceptOne(sel, srv);
    const chunk = Buffer.alloc(1 << 16, 7);
    let sent = 0;
    for (;;) {
      try {
        sent += conn.sendNowait(chunk);
      } catch (e) {
        assert.ok(e instanceof BlockingIOError);
        break;
      }
    }
    sel.register(conn, EVENT_WRITE);
    assert.deepEqual(await sel.select({ timeout: 20 }), [], 'not writable while nobody reads');
    let received = 0;
    c.on('data', (d: Buffer) => (received += d.length));
    c.resume();
    const ready = await sel.select({ timeout: LONG });
    assert.equal(ready[0]![1], EVENT_WRITE);
    conn.shutdown(SHUT_WR);
    await new Promise<void>((r) => c.once('end', () => r()));
    assert.equal(received, sent);
    sel.unregister(conn);
    c.destroy();
  });

  test('after close, getKey raises RuntimeError and unregister and modify KeyError; a non-socket TypeError', async () => {
    const sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    for (const bad of [{}, 'x', null]) {
      assert.throws(() => sel.unregister(bad as never), {
        name: 'TypeError',
        message: /Invalid file object/,
      });
      assert.throws(() => sel.modify(bad as never, EVENT_READ), TypeError);
      assert.throws(() => sel.getKey(bad as never), TypeError);
    }
    assert.equal(sel.getKey(srv).fileobj, srv);
    sel.close();
    assert.throws(() => sel.getKey(srv), { name: 'RuntimeError', message: /^Selector is closed/ });
    assert.throws(() => sel.getKey({} as never), RuntimeError);
    assert.throws(() => sel.unregister(srv), KeyError);
    assert.throws(() => sel.modify(srv, EVENT_READ), KeyError);
  });

  test('cancelling a task blocked in select loses nothing; bad calls raise', async () => {
    const sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    assert.throws(() => sel.register(srv, EVENT_READ), KeyError);
    assert.throws(() => sel.modify(srv, 0), RangeError);
    assert.throws(() => sel.register({} as never, EVENT_READ), TypeError);
    const t = createTask(() => sel.select());
    await sleep(2);
    t.cancel();
    await assert.rejects(t, CancelledError);
    const c = await client((srv.getsockname() as [string, number])[1]);
    assert.equal((await sel.select({ timeout: LONG })).length, 1);
    srv.acceptNowait()[0].close();
    sel.close();
    assert.throws(() => sel.register(srv, EVENT_READ), RangeError); // Python: ValueError
    await assert.rejects(sel.select({ timeout: 0 }), RangeError);
    c.destroy();
    const closed = RawSocket.listen([HOST, 0]);
    closed.close();
    using other = new EpollSelector();
    assert.throws(() => other.register(closed, EVENT_READ), {
      name: 'RangeError',
      message: /^Invalid file descriptor: -1/,
    });
    assert.throws(
      () => closed.acceptNowait(),
      (e: unknown) => e instanceof OSError && e.errnoName === 'EBADF',
    );
    assert.throws(() => RawSocket.listen(['not-an-ip', 0]), OSError);
    assert.throws(() => RawSocket.listen([HOST, 70000]), RangeError);
  });

  test('the …Sync verbs park until ready, time out with TimeoutError, and detach/fromFd hand over', async () => {
    using srv = RawSocket.listen([HOST, 0]);
    assert.throws(() => srv.acceptSync({ timeout: 10 }), TimeoutError);
    // Connected: the kernel holds the connection for accept, whatever this loop does.
    const c = await client((srv.getsockname() as [string, number])[1]);
    const [conn] = srv.acceptSync({ timeout: LONG });
    const buf = Buffer.alloc(8);
    assert.throws(() => conn.recvIntoSync(buf, { timeout: 10 }), TimeoutError);
    const adopted = RawSocket.fromFd(conn.detach());
    assert.equal(conn.fileno(), -1);
    // In the kernel before this thread parks in recvSync (its loop could not send it then).
    await written(c, 'sync!');
    assert.equal(adopted.recvSync(100, { timeout: LONG }).toString(), 'sync!');
    adopted.sendallSync(Buffer.from('back'));
    assert.equal(await new Promise<string>((r) => c.once('data', (d) => r(d.toString()))), 'back');
    adopted.close();
    c.destroy();
    assert.throws(() => RawSocket.fromFd(-1), RangeError);
    assert.throws(() => RawSocket.fromFd('3' as never), TypeError);
    assert.throws(() => srv.acceptSync({ timeout: -1 }), RangeError);
    assert.throws(() => srv.acceptSync({ timeout: '1' as never }), TypeError);
    assert.throws(() => srv.recvNowait('10' as never), TypeError);
    assert.throws(() => srv.recvNowait(-1), RangeError);
    assert.throws(() => srv.recvInto(Buffer.alloc(4), Number.NaN), TypeError);
    assert.throws(() => srv.shutdown('1' as never), TypeError);
    const sel = new EpollSelector();
    assert.throws(() => sel.register(srv, '1' as never), TypeError);
    await assert.rejects(sel.select({ timeout: Number.NaN }), RangeError);
    sel.close();
  });

  test('one select reads ahead for every ready socket: bytes, EOF after bytes and a reset, each delivered in order', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const port = (srv.getsockname() as [string, number])[1];
    const clients = [await client(port), await client(port), await client(port)];
    const conns: RawSocket[] = [];
    while (conns.length < 3) conns.push(await acceptOne(sel, srv));
    sel.unregister(srv);
    for (const [i, c] of conns.entries()) sel.register(c, EVENT_READ, i);
    // Which client is which connection: each says its index.
    const order = new Map<number, RawSocket>();
    for (const [i, c] of clients.entries()) c.write(String(i));
    const buf = Buffer.alloc(64);
    while (order.size < 3) {
      for (const [key] of await sel.select({ timeout: LONG })) {
        const n = key.fileobj.recvInto(buf);
        order.set(Number(buf.toString('latin1', 0, n)), key.fileobj);
      }
    }
    const [c0, c1, c2] = clients as [NetSocket, NetSocket, NetSocket];
    // All three in the kernel (each one's callback or event says so), then one select.
    await Promise.all([
      written(c0, 'bytes'),
      new Promise<void>((r) => c1.end('last words', () => r())),
      new Promise<void>((r) => c2.resetAndDestroy().once('close', () => r())),
    ]);
    const ready = await sel.select({ timeout: LONG });
    assert.equal(ready.length, 3, 'the three sockets in one select');
    const a0 = order.get(0) as RawSocket;
    const a1 = order.get(1) as RawSocket;
    const a2 = order.get(2) as RawSocket;
    assert.equal(a0.recvNowait(64).toString(), 'bytes');
    assert.throws(() => a0.recvNowait(64), BlockingIOError);
    assert.equal(a1.recvNowait(64).toString(), 'last words');
    assert.equal(a1.recvNowait(64).length, 0, 'EOF after the bytes');
    assert.throws(() => a2.recvNowait(64), ConnectionResetError);
    for (const c of conns) {
      sel.unregister(c);
      c.close();
    }
    c0.destroy();
    c1.destroy();
  });

  test('held read-ahead of a socket registered for READ|WRITE is reported READ|WRITE by every select until received', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const port = (srv.getsockname() as [string, number])[1];
    const c = await client(port);
    using conn = await acceptOne(sel, srv);
    sel.unregister(srv);
    sel.register(conn, EVENT_READ | EVENT_WRITE);
    await new Promise<void>((r) => c.write('hello', () => r()));
    const maskOf = async (): Promise<number> =>
      (await sel.select({ timeout: LONG })).find(([k]) => k.fileobj === conn)?.[1] ?? 0;
    // Writable at once; readable (and read ahead) once the bytes are in.
    let first = await maskOf();
    const deadline = Date.now() + LONG;
    while ((first & EVENT_READ) === 0 && Date.now() < deadline) {
      await sleep(2);
      first = await maskOf();
    }
    assert.equal(first, EVENT_READ | EVENT_WRITE);
    // Nothing received: the bytes are held (no more read-ahead, the kernel reports EPOLLOUT
    // only) and must still be reported readable, level-triggered.
    const masks: number[] = [];
    for (let i = 0; i < 3; i++) masks.push(await maskOf());
    assert.deepEqual(
      masks,
      [3, 3, 3].map(() => EVENT_READ | EVENT_WRITE),
    );
    assert.equal(conn.recvNowait(64).toString(), 'hello');
    assert.equal(await maskOf(), EVENT_WRITE, 'once received, only writable');
    sel.unregister(conn);
    c.destroy();
  });

  test('read-ahead not received before the next select stays, in order, reported readable; unregister keeps it; detach refuses to drop it', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const port = (srv.getsockname() as [string, number])[1];
    const ca = await client(port);
    const cb = await client(port);
    using a = await acceptOne(sel, srv);
    using b = await acceptOne(sel, srv);
    sel.unregister(srv);
    sel.register(a, EVENT_READ, 'a');
    sel.register(b, EVENT_READ, 'b');
    await written(ca, 'abcdef');
    assert.deepEqual(
      (await sel.select({ timeout: LONG })).map(([k]) => k.data),
      ['a'],
    );
    const two = Buffer.alloc(2);
    assert.equal(a.recvInto(two), 2);
    assert.equal(two.toString(), 'ab');
    // a still holds 'cdef'; b's bytes are read ahead into the same selector buffer.
    // In the kernel before the select: a is ready at once with its held bytes.
    await Promise.all([written(cb, '0123456789'), written(ca, 'ghi')]);
    const again = await sel.select({ timeout: LONG });
    assert.deepEqual(again.map(([k]) => k.data).sort(), ['a', 'b']);
    let got = '';
    for (;;) {
      try {
        const d = a.recvNowait(100);
        got += d.toString();
      } catch (e) {
        assert.ok(e instanceof BlockingIOError);
        break;
      }
    }
    assert.equal(got, 'cdefghi', 'held bytes first, then the kernel, nothing lost or reordered');
    assert.equal(b.recvNowait(4).toString(), '0123');
    // Held past a select and then unregistered: the bytes stay the socket's.
    await sel.select({ timeout: 0 });
    sel.unregister(b);
    assert.equal(b.recvNowait(100).toString(), '456789');
    // detach() would drop bytes read ahead: it refuses until they are received.
    await written(ca, 'q');
    await sel.select({ timeout: LONG });
    sel.unregister(a);
    assert.throws(
      () => a.detach(),
      (e: unknown) => e instanceof OSError && e.errnoName === 'EBUSY',
    );
    assert.equal(a.recvNowait(10).toString(), 'q');
    const fd = a.detach();
    RawSocket.fromFd(fd).close();
    ca.destroy();
    cb.destroy();
  });

  test('sendNowait returns a partial count when the kernel takes only part', async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const c = await client((srv.getsockname() as [string, number])[1]);
    c.pause();
    using conn = await acceptOne(sel, srv);
    const big = Buffer.alloc(64 << 20, 1);
    const n = conn.sendNowait(big);
    assert.ok(n > 0 && n < big.length, `partial: ${n} of ${big.length}`);
    c.destroy();
  });
});

// The worker's RawSocket and EpollSelector need the weft_io addon, as the suite above does.
describe('EpollSelector in a worker thread', { skip: noIo }, () => {
  // The worker registers the TypeScript loader itself (on Node 20 a Worker inherits no hooks).
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const loader = await import(workerData.tsx);
      loader.register?.();
      const { EpollSelector, EVENT_READ } = await import(workerData.selectors);
      const { RawSocket } = await import(workerData.socket);
      const server = RawSocket.listen(['127.0.0.1', 0]);
      const idle = new EpollSelector(); // created, never selected: its handle is open all the same
      const sel = new EpollSelector();
      sel.register(server, EVENT_READ);
      parentPort.postMessage('selecting');
      if (workerData.how === 'exit') setTimeout(() => process.exit(3), 20);
      await sel.select();
    })();`;

  for (const how of ['terminate', 'exit'] as const) {
    test(`a worker that ends (${how}) while it selects closes its epoll sets without aborting the process`, async () => {
      // Regression: libuv refused to close the worker's loop with the selector's poll handle
      // open, and Node aborted the whole process.
      const w = new Worker(code, {
        eval: true,
        workerData: {
          how,
          tsx: TS_WORKER_LOADER,
          selectors: new URL('../../src/selectors/index.ts', import.meta.url).href,
          socket: new URL('../../src/socket/index.ts', import.meta.url).href,
        },
      });
      // Listened for before the message: under load the worker's exit (20 ms after it) can be
      // emitted before the message's turn here ends.
      const exited = new Promise((r) => w.once('exit', r));
      await new Promise((r) => w.once('message', r));
      const code_ = how === 'terminate' ? await w.terminate() : await exited;
      assert.equal(code_, how === 'terminate' ? 1 : 3);
    });
  }
});
