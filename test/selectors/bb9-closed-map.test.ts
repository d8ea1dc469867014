/**
 * Bug bash bb9 against CPython 3.11.2 on Linux (EpollSelector, SelectSelector and PollSelector
 * answer the same): a lookup in the `get_map()` mapping — `sock in m`, `m[sock]`, `m.get(sock)` —
 * of a closed socket that is not registered (never, or no more) raises ValueError "Invalid file
 * descriptor: -1", as get_key() does: the lookup fails on the descriptor before it searches the
 * keys. A closed socket still registered is found. weft's `getMap().has()` answered false and
 * `get()` undefined; both raise RangeError (weft's ValueError) now, as `getKey` does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DefaultSelector, EpollSelector, EVENT_READ } from '../../src/selectors/index.js';
import { createServer, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { invalidFd } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

describe('bug bash bb9: getMap() of a closed socket that is not registered, as Python', () => {
  test('DefaultSelector: has and get raise RangeError; a closed socket still registered is found', async () => {
    using sel = new DefaultSelector();
    const m = sel.getMap();
    const a = await createServer([HOST, 0]);
    const key = sel.register(a, EVENT_READ, 'a');
    a.close();
    assert.equal(m.has(a), true, 'still registered: found by identity');
    assert.equal(m.get(a), key);
    sel.unregister(a);
    assert.throws(() => m.has(a), invalidFd);
    assert.throws(() => m.get(a), invalidFd);
    const never = await createServer([HOST, 0]);
    never.close();
    assert.throws(() => m.has(never), invalidFd);
    // An open socket that is not registered: simply not there (Python's KeyError inside `in`).
    using open = await createServer([HOST, 0]);
    assert.equal(m.has(open), false);
    assert.equal(m.get(open), undefined);
    assert.equal(m.size, 0);
  });

  test('EpollSelector: the same for RawSockets', { skip: !EpollSelector.native }, () => {
    using sel = new EpollSelector();
    const m = sel.getMap();
    const a = RawSocket.listen([HOST, 0]);
    const key = sel.register(a, EVENT_READ, 'a');
    a.close();
    assert.equal(m.has(a), true);
    assert.equal(m.get(a), key);
    sel.unregister(a);
    assert.throws(() => m.has(a), invalidFd);
    assert.throws(() => m.get(a), invalidFd);
    const never = RawSocket.listen([HOST, 0]);
    never.close();
    assert.throws(() => m.has(never), invalidFd);
    using open = RawSocket.listen([HOST, 0]);
    assert.equal(m.has(open), false);
    assert.equal(m.get(open), undefined);
  });
});
