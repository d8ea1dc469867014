import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DefaultSelector, EpollSelector, EVENT_READ } from '../../src/selectors/index.js';
import { createConnection, createServer, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('bug bash bb5 (selectors)', () => {
  test("getMap() is a live read-only view, as CPython's test_get_map checks", async () => {
    using sel = new DefaultSelector();
    using srv = await createServer(['127.0.0.1', 0]);
    const [, port] = srv.getsockname() as [string, number];
    using other = await createConnection(['127.0.0.1', port]);
    const keys = sel.getMap();
    assert.equal(keys.size, 0);
    assert.deepEqual([...keys], []);
    const key = sel.register(srv, EVENT_READ, 'data');
    assert.ok(keys.has(srv), 'a view taken before register() sees the new key');
    assert.equal(keys.get(srv), key);
    assert.equal(keys.size, 1);
    assert.deepEqual([...keys.keys()], [srv]);
    assert.deepEqual([...keys.values()], [key]);
    assert.deepEqual([...keys.entries()], [[srv, key]]);
    assert.equal(keys.get(other), undefined);
    assert.equal(keys.has(other), false);
    assert.equal(sel.getMap(), keys);
    const key2 = sel.modify(srv, EVENT_READ, 'new');
    assert.equal(keys.get(srv), key2);
    sel.unregister(srv);
    assert.equal(keys.has(srv), false);
    assert.equal(keys.size, 0);
    sel.register(srv, EVENT_READ);
    sel.close();
    assert.equal(keys.size, 0, 'empty after close()');
    assert.equal(keys.get(srv), undefined);
    assert.throws(() => (keys as unknown as Map<unknown, unknown>).set(srv, key), TypeError);
  });

  test('EpollSelector.getMap() is a live view too', { skip: !EpollSelector.native }, () => {
    using sel = new EpollSelector();
    using srv = RawSocket.listen(['127.0.0.1', 0]);
    const keys = sel.getMap();
    assert.equal(keys.size, 0);
    const key = sel.register(srv, EVENT_READ, 'data');
    assert.equal(keys.get(srv), key);
    assert.deepEqual([...keys], [[srv, key]]);
    sel.unregister(srv);
    assert.equal(keys.has(srv), false);
    assert.equal(keys.size, 0);
  });
});
