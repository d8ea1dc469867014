/**
 * Bug bash h134 against CPython 3.11 on Linux (3.12 and 3.13 the same): a closed socket that is
 * not registered — never, or no more (unregistered, or dropped by a modify() that raised EBADF) —
 * makes unregister(), modify() and get_key() raise ValueError "Invalid file descriptor: -1":
 * the lookup fails on the descriptor before it searches the keys. weft raised KeyError; it
 * raises RangeError (weft's ValueError) now. An open socket that is not registered is still a
 * KeyError, and a closed socket still registered is found by identity.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DefaultSelector,
  EpollSelector,
  EVENT_READ,
  EVENT_WRITE,
  KeyError,
  RuntimeError,
} from '../../src/selectors/index.js';
import { createServer, OSError, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { invalidFd } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';
const isEBADF = (e: unknown): boolean => e instanceof OSError && e.errnoName === 'EBADF';

describe('bug bash h134: a closed socket that is not registered, as Python', () => {
  test('DefaultSelector: unregister, modify and getKey raise RangeError "Invalid file descriptor: -1"', async () => {
    using sel = new DefaultSelector();
    // Dropped by a modify() that raised EBADF.
    const a = await createServer([HOST, 0]);
    sel.register(a, EVENT_READ);
    a.close();
    assert.throws(() => sel.modify(a, EVENT_WRITE), isEBADF);
    assert.throws(() => sel.unregister(a), invalidFd);
    assert.throws(() => sel.modify(a, EVENT_READ), invalidFd);
    assert.throws(() => sel.getKey(a), invalidFd);
    // Unregistered, then closed; and never registered.
    const b = await createServer([HOST, 0]);
    sel.register(b, EVENT_READ);
    sel.unregister(b);
    b.close();
    assert.throws(() => sel.unregister(b), invalidFd);
    const c = await createServer([HOST, 0]);
    c.close();
    assert.throws(() => sel.getKey(c), invalidFd);
    // Still registered when closed: found by identity.
    const d = await createServer([HOST, 0]);
    sel.register(d, EVENT_READ, 'd');
    d.close();
    assert.equal(sel.getKey(d).data, 'd');
    assert.equal(sel.unregister(d).data, 'd');
    // An open socket not registered: KeyError.
    using e = await createServer([HOST, 0]);
    assert.throws(() => sel.unregister(e), KeyError);
    assert.throws(() => sel.modify(e, EVENT_READ), KeyError);
    assert.throws(() => sel.getKey(e), KeyError);
    // After the selector's close: unregister of a closed socket still says ValueError, getKey
    // RuntimeError first.
    sel.close();
    assert.throws(() => sel.unregister(a), invalidFd);
    assert.throws(() => sel.unregister(e), KeyError);
    assert.throws(() => sel.getKey(a), RuntimeError);
  });

  test('EpollSelector: the same for RawSockets', { skip: !EpollSelector.native }, () => {
    using sel = new EpollSelector();
    const a = RawSocket.listen([HOST, 0]);
    sel.register(a, EVENT_READ);
    a.close();
    assert.throws(() => sel.modify(a, EVENT_WRITE), isEBADF);
    assert.throws(() => sel.unregister(a), invalidFd);
    assert.throws(() => sel.modify(a, EVENT_READ), invalidFd);
    assert.throws(() => sel.getKey(a), invalidFd);
    const c = RawSocket.listen([HOST, 0]);
    c.close();
    assert.throws(() => sel.unregister(c), invalidFd);
    using e = RawSocket.listen([HOST, 0]);
    assert.throws(() => sel.unregister(e), KeyError);
    assert.throws(() => sel.modify(e, EVENT_READ), KeyError);
    assert.throws(() => sel.getKey(e), KeyError);
    sel.close();
    assert.throws(() => sel.unregister(a), invalidFd);
    assert.throws(() => sel.unregister(e), KeyError);
  });
});
