import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, createTask, sleep } from '../../src/asyncio/index.js';
import {
  DefaultSelector,
  EVENT_READ,
  EVENT_WRITE,
  KeyError,
  RuntimeError,
  type SelectorKey,
} from '../../src/selectors/index.js';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionResetError,
  createConnection,
  createServer,
  OSError,
  Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';
const portOf = (s: Socket): number => (s.getsockname() as [string, number])[1];

describe('DefaultSelector', () => {
  test('a listening socket becomes readable when a connection waits to be accepted', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    srv.setblocking(false);
    const key = sel.register(srv, EVENT_READ, 'acceptor');
    assert.equal(key.fd, srv.fileno());
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    const client = await createConnection([HOST, portOf(srv)]);
    const ready = await sel.select({ timeout: 2000 });
    assert.equal(ready.length, 1);
    assert.equal(ready[0]![0].data, 'acceptor');
    assert.equal(ready[0]![1], EVENT_READ);
    const [conn] = srv.acceptNowait();
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    conn.close();
    client.close();
    srv.close();
  });

  test('a key registered while its socket connects has the socket fd, and keeps it after close', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    const c = new Socket();
    c.setblocking(false);
    await assert.rejects(c.connect([HOST, portOf(srv)]), BlockingIOError);
    const key = sel.register(c, EVENT_WRITE);
    const [[ready] = []] = await sel.select();
    assert.equal(ready, key);
    const fd = c.fileno();
    assert.ok(fd >= 0);
    assert.equal(key.fd, fd);
    assert.equal(sel.getKey(c).fd, fd);
    const [conn] = await srv.accept();
    c.close();
    assert.equal(key.fd, fd);
    conn.close();
    srv.close();
  });

  test('a key registered before the socket has a descriptor takes it once the socket connects', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    const c = new Socket();
    const key = sel.register(c, EVENT_WRITE);
    await c.connect([HOST, portOf(srv)]);
    const [conn] = await srv.accept();
    const fd = c.fileno();
    c.close();
    assert.ok(fd >= 0);
    assert.equal(key.fd, fd, 'the descriptor it had, after close as before');
    conn.close();
    srv.close();
  });

  test('readiness is level-triggered: unread bytes are reported again', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    const client = await createConnection([HOST, portOf(srv)]);
    const [conn] = await srv.accept();
    conn.setblocking(false);
    sel.register(conn, EVENT_READ);
    await client.sendall('abcdef');
    assert.equal((await sel.select()).length, 1);
    assert.equal(conn.recvNowait(2).toString(), 'ab');
    assert.equal((await sel.select({ timeout: 0 })).length, 1, 'still readable');
    assert.equal(conn.recvNowait(100).toString(), 'cdef');
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    client.close();
    const eof = await sel.select({ timeout: 2000 });
    assert.equal(eof.length, 1, 'EOF makes the socket readable');
    assert.equal(conn.recvNowait(10).length, 0);
    conn.close();
    srv.close();
  });

  test('EVENT_WRITE reports a connected socket writable; modify switches events and data', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    const client = await createConnection([HOST, portOf(srv)]);
    const [conn] = await srv.accept();
    sel.register(client, EVENT_READ, 'r');
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    const k = sel.modify(client, EVENT_READ | EVENT_WRITE, 'rw');
    const ready = await sel.select({ timeout: 0 });
    assert.equal(ready.length, 1);
    assert.equal(ready[0]![0], k);
    assert.equal(ready[0]![1], EVENT_WRITE);
    assert.equal(sel.getKey(client).data, 'rw');
    assert.equal(sel.getMap().size, 1);
    conn.close();
    client.close();
    srv.close();
  });

  test('select with a timeout and nothing ready resolves to an empty list', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const t0 = performance.now();
    assert.deepEqual(await sel.select({ timeout: 30 }), []);
    assert.ok(performance.now() - t0 >= 25);
    srv.close();
  });

  test('bug-bash s9: a select({ timeout: 0 }) poll loop sees a connection arrive', async () => {
    // A poll must let Node's loop poll: answered from what was known, the loop never saw I/O.
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    srv.setblocking(false);
    sel.register(srv, EVENT_READ, 'accept');
    const connecting = createConnection([HOST, portOf(srv)]);
    const end = performance.now() + 20_000;
    let ready: [SelectorKey, number][] = [];
    let polls = 0;
    while (ready.length === 0 && performance.now() < end) {
      polls++;
      ready = await sel.select({ timeout: polls % 2 === 0 ? 0 : -5 }); // <= 0 polls, as Python
    }
    assert.equal(ready.length, 1, `nothing seen after ${polls} polls`);
    assert.equal(ready[0]![0].data, 'accept');
    const client = await connecting;
    const [conn] = srv.acceptNowait();
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    conn.close();
    client.close();
    srv.close();
  });

  test('a select({ timeout: 0 }) with nothing ready resolves to [] after one turn; cancelling it loses nothing', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    assert.deepEqual(await sel.select({ timeout: 0 }), []);
    const t = createTask(() => sel.select({ timeout: 0 }));
    await sleep(0); // t polls, waiting for its turn of the loop
    // (Its turn may have come first on a loaded machine: then the poll just answered [].)
    if (t.cancel()) await assert.rejects(t, CancelledError);
    else assert.deepEqual(await t, []);
    assert.deepEqual(await sel.select({ timeout: 0 }), []); // not 'already waiting'
    srv.close();
  });

  test('bug-bash s10: register of a closed socket raises RangeError, as Python raises ValueError', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    const c = await createConnection([HOST, portOf(srv)]);
    c.close();
    assert.throws(() => sel.register(c, EVENT_READ, 'closed'), {
      name: 'RangeError',
      message: /^Invalid file descriptor: -1/,
    });
    assert.equal(sel.getMap().size, 0);
    // A socket that has no descriptor yet (not connected) may be registered, as before.
    const fresh = new Socket();
    sel.register(fresh, EVENT_WRITE);
    sel.unregister(fresh);
    fresh.close();
    const [conn] = await srv.accept();
    conn.close();
    srv.close();
  });

  test('a closed selector raises RangeError (Python: ValueError), and so does a select it ends', async () => {
    const sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const waiting = sel.select();
    sel.close();
    await assert.rejects(waiting, RangeError);
    assert.throws(() => sel.register(srv, EVENT_READ), RangeError);
    await assert.rejects(sel.select({ timeout: 0 }), RangeError);
    srv.close();
  });

  test('cancelling a task blocked in select loses no readiness', async () => {
    const sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const t = createTask(() => sel.select());
    await sleep(2);
    t.cancel();
    await assert.rejects(t, CancelledError);
    const client = await createConnection([HOST, portOf(srv)]);
    const ready = await sel.select({ timeout: 2000 });
    assert.equal(ready.length, 1);
    const [conn] = srv.acceptNowait();
    sel.close();
    conn.close();
    client.close();
    srv.close();
  });

  test('register twice, unregister unknown and bad events raise', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    assert.throws(() => sel.register(srv, EVENT_READ), KeyError);
    assert.throws(() => sel.modify(srv, 0), RangeError);
    assert.throws(() => sel.register({} as never, EVENT_READ), TypeError);
    sel.unregister(srv);
    assert.throws(() => sel.unregister(srv), KeyError);
    assert.throws(() => sel.getKey(srv), KeyError);
    assert.throws(() => sel.register(srv, 4), RangeError);
    srv.close();
  });

  test('after close, getKey raises RuntimeError and unregister and modify KeyError, as Python', async () => {
    const sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    sel.close();
    assert.throws(() => sel.getKey(srv), {
      name: 'RuntimeError',
      code: 'ERR_WEFT_SELECTOR_CLOSED',
      message: /^Selector is closed/,
    });
    assert.throws(() => sel.getKey({} as never), RuntimeError);
    assert.throws(() => sel.unregister(srv), KeyError);
    assert.throws(() => sel.modify(srv, EVENT_READ), KeyError);
    assert.throws(() => sel.register(srv, EVENT_READ), RangeError); // Python: ValueError
    srv.close();
  });

  test('unregister, modify and getKey of what is no socket raise TypeError, as register (Python: ValueError)', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    for (const bad of [{}, 'x', 3, null]) {
      for (const call of [
        () => sel.unregister(bad as never),
        () => sel.modify(bad as never, EVENT_READ),
        () => sel.getKey(bad as never),
      ]) {
        assert.throws(call, { name: 'TypeError', message: /Invalid file object/ });
      }
    }
    assert.equal(sel.getKey(srv).fileobj, srv); // nothing was unregistered
    srv.close();
  });

  test('a wrong events or timeout type raises TypeError and a bad value RangeError, as Python', async () => {
    using sel = new DefaultSelector();
    const srv = await createServer([HOST, 0]);
    assert.throws(() => sel.register(srv, '1' as never), TypeError);
    assert.throws(() => sel.register(srv, 1.5), TypeError);
    assert.throws(() => sel.register(srv, 0), RangeError);
    sel.register(srv, EVENT_READ);
    assert.throws(() => sel.modify(srv, Number.NaN), TypeError);
    await assert.rejects(sel.select({ timeout: '1' as never }), TypeError);
    await assert.rejects(sel.select({ timeout: Number.NaN }), RangeError);
    srv.close();
  });

  test("the seeds' selectors echo server ports line by line and serves 200 clients", async () => {
    // echo_selectors.py, callback in key.data, non-blocking sockets.
    const sel = new DefaultSelector();
    const pending = new Map<Socket, Buffer>();
    type Callback = (conn: Socket, mask: number) => void;

    function close(conn: Socket): void {
      pending.delete(conn);
      try {
        sel.unregister(conn);
      } catch (e) {
        if (!(e instanceof KeyError)) throw e;
      }
      conn.close();
    }
    function accept(srv: Socket, _mask: number): void {
      let conn: Socket;
      try {
        [conn] = srv.acceptNowait();
      } catch (e) {
        if (e instanceof BlockingIOError) return;
        throw e;
      }
      conn.setblocking(false);
      sel.register(conn, EVENT_READ, read);
    }
    function read(conn: Socket, _mask: number): void {
      let data: Buffer;
      try {
        data = conn.recvNowait(1024);
      } catch (e) {
        if (e instanceof BlockingIOError) return;
        if (e instanceof ConnectionResetError || e instanceof OSError) {
          close(conn);
          return;
        }
        throw e;
      }
      if (data.length === 0) {
        close(conn);
        return;
      }
      const out = Buffer.from(data.toString('latin1').toUpperCase(), 'latin1');
      let n: number;
      try {
        n = conn.sendNowait(out);
      } catch (e) {
        if (e instanceof BlockingIOError) n = 0;
        else if (e instanceof BrokenPipeError || e instanceof OSError) {
          close(conn);
          return;
        } else throw e;
      }
      if (n < out.length) {
        pending.set(conn, out.subarray(n));
        sel.modify(conn, EVENT_WRITE, write);
      }
    }
    function write(conn: Socket, _mask: number): void {
      const buf = pending.get(conn) as Buffer;
      let n: number;
      try {
        n = conn.sendNowait(buf);
      } catch (e) {
        if (e instanceof BlockingIOError) return;
        close(conn);
        return;
      }
      if (n < buf.length) pending.set(conn, buf.subarray(n));
      else {
        pending.delete(conn);
        sel.modify(conn, EVENT_READ, read);
      }
    }

    const srv = await createServer([HOST, 0], { backlog: 1024 });
    srv.setblocking(false);
    sel.register(srv, EVENT_READ, accept);
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        for (const [key, mask] of await sel.select({ timeout: 50 })) {
          (key as SelectorKey<Callback>).data(key.fileobj, mask);
        }
      }
    })();

    const N = 200;
    const replies = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = await createConnection([HOST, portOf(srv)]);
        const msgs: string[] = [];
        for (let round = 0; round < 3; round++) {
          const m = `c${i}r${round}-payload`;
          await c.sendall(m);
          let got = '';
          while (got.length < m.length) got += (await c.recv(1024)).toString();
          msgs.push(got);
        }
        c.close();
        return msgs;
      }),
    );
    stop = true;
    await loop;
    for (let i = 0; i < N; i++) {
      assert.deepEqual(
        replies[i],
        [0, 1, 2].map((r) => `C${i}R${r}-PAYLOAD`),
      );
    }
    for (const s of [...sel.getMap().keys()]) {
      sel.unregister(s);
      s.close();
    }
    sel.close();
  });
});
