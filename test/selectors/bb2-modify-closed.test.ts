/**
 * Bug bash h125: modify() of a socket closed while registered, against CPython 3.11 on Linux
 * (EpollSelector, which is its DefaultSelector there): new events raise OSError EBADF (the
 * epoll_ctl(MOD) of the closed descriptor) and unregister the socket; new data alone is
 * recorded and the key keeps its descriptor number. weft's EpollSelector raised KeyError (it
 * looked the socket up by its descriptor, -1 once closed); its DefaultSelector accepted the new
 * events and gave a key with fd -1.
 */
import assert from 'node:assert/strict';
import { connect, type Socket as NetSocket } from 'node:net';
import { describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import {
  DefaultSelector,
  EpollSelector,
  EVENT_READ,
  EVENT_WRITE,
} from '../../src/selectors/index.js';
import { createServer, OSError, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';
const isEBADF = (e: unknown): boolean => e instanceof OSError && e.errnoName === 'EBADF';

describe('bug bash h125: modify() of a socket closed while registered, as Python', () => {
  test('DefaultSelector: new events raise EBADF and unregister; new data alone is kept', async () => {
    using sel = new DefaultSelector();
    using srv = await createServer([HOST, 0]);
    const fd = srv.fileno();
    sel.register(srv, EVENT_READ, 'a');
    srv.close();
    const k = sel.modify(srv, EVENT_READ, 'b');
    assert.equal(k.data, 'b');
    assert.equal(k.fd, fd, 'the key keeps its descriptor number');
    assert.equal(sel.getKey(srv), k);
    assert.throws(() => sel.modify(srv, EVENT_WRITE, 'c'), isEBADF);
    assert.equal(sel.getMap().size, 0, 'unregistered');
    // Not registered and closed: Python's ValueError "Invalid file descriptor: -1" (h134).
    assert.throws(() => sel.getKey(srv), RangeError);
    assert.throws(() => sel.modify(srv, EVENT_READ), RangeError);
  });

  test('EpollSelector: new events raise EBADF and unregister; new data alone is kept', {
    skip: !EpollSelector.native,
  }, async () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    const [, port] = srv.getsockname() as [string, number];
    const c: NetSocket = connect({ host: HOST, port });
    c.on('error', () => {});
    sel.register(srv, EVENT_READ);
    let conn: RawSocket | null = null;
    for (let i = 0; conn === null && i < 5000; i++) {
      await sel.select({ timeout: 1000 });
      try {
        conn = srv.acceptNowait()[0];
      } catch {
        await sleep(1);
      }
    }
    assert.ok(conn !== null);
    const fd = conn.fileno();
    sel.register(conn, EVENT_READ, 'a');
    conn.close();
    const k = sel.modify(conn, EVENT_READ, 'b');
    assert.equal(k.data, 'b');
    assert.equal(k.fd, fd);
    assert.equal(sel.getKey(conn), k);
    assert.throws(() => sel.modify(conn, EVENT_READ | EVENT_WRITE, 'c'), isEBADF);
    assert.equal(sel.getMap().size, 1, 'only the listener is left');
    // Not registered and closed: Python's ValueError "Invalid file descriptor: -1" (h134).
    assert.throws(() => sel.getKey(conn), RangeError);
    assert.throws(() => sel.unregister(conn), RangeError);
    // Its descriptor number is free for another socket.
    sel.unregister(srv);
    c.destroy();
  });
});
