/**
 * Checked against CPython 3.11's DefaultSelector (EpollSelector on Linux): a socket closed
 * while registered left the kernel's epoll set with its descriptor, so select() does not report
 * it — nor does closing it wake a select() waiting — and its key stays in the map until
 * unregister(). weft reported it readable and writable at every select().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DefaultSelector,
  EpollSelector,
  EVENT_READ,
  EVENT_WRITE,
  RuntimeError,
} from '../../src/selectors/index.js';
import { createConnection, createServer, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';

describe('bug bash h102 (selectors)', () => {
  test('a socket closed while registered is not reported by select(), and stays in the map until unregister()', async () => {
    using sel = new DefaultSelector();
    using srv = await createServer([HOST, 0]);
    const [, port] = srv.getsockname() as [string, number];
    using c = await createConnection([HOST, port]);
    const [a] = await srv.accept();
    using _a = a;
    sel.register(a, EVENT_READ | EVENT_WRITE, 'A');
    sel.register(c, EVENT_READ | EVENT_WRITE, 'C');
    const before = await sel.select({ timeout: 0 });
    assert.deepEqual(before.map(([k]) => k.data).sort(), ['A', 'C']);
    c.close();
    const after = await sel.select({ timeout: 0 });
    assert.deepEqual(
      after.map(([k, m]) => [k.data, m]),
      [['A', EVENT_WRITE]],
      'the closed socket is not reported',
    );
    assert.ok(sel.getMap().has(c), 'its key stays until unregister()');
    assert.equal(sel.unregister(c).data, 'C');
    // Closed and no longer registered: the lookup fails on the descriptor, as Python's
    // ValueError (bb9-closed-map.test.ts).
    assert.throws(() => sel.getMap().has(c), RangeError);
  });

  test('closing a registered socket does not end a select() waiting for it', async () => {
    using sel = new DefaultSelector();
    using srv = await createServer([HOST, 0]);
    const [, port] = srv.getsockname() as [string, number];
    using c = await createConnection([HOST, port]);
    const [a] = await srv.accept();
    sel.register(a, EVENT_READ, 'A');
    let closed = false;
    const waiting = sel.select({ timeout: 200 }).then((r) => {
      assert.ok(closed, 'select() ended after the close, by its timeout');
      return r;
    });
    setTimeout(() => {
      a.close();
      closed = true;
    }, 20);
    assert.deepEqual(await waiting, []);
    sel.unregister(a);
    c.close();
  });

  test('a second select() while one waits raises RuntimeError', async () => {
    const sel = new DefaultSelector();
    using srv = await createServer([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const first = sel.select();
    await assert.rejects(sel.select({ timeout: 0 }), (e: unknown) => {
      assert.ok(e instanceof RuntimeError, `RuntimeError: got ${String(e)}`);
      assert.equal((e as RuntimeError).code, 'ERR_WEFT_SELECT_BUSY');
      return true;
    });
    sel.close();
    await assert.rejects(first, RangeError, 'the waiting select() ends with the selector');
  });

  test('EpollSelector: a second select() while one waits raises RuntimeError', {
    skip: !EpollSelector.native,
  }, async () => {
    const sel = new EpollSelector();
    using srv = RawSocket.listen([HOST, 0]);
    sel.register(srv, EVENT_READ);
    const first = sel.select();
    await assert.rejects(sel.select({ timeout: 0 }), RuntimeError);
    sel.close();
    await assert.rejects(first, RangeError);
  });
});
