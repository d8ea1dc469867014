/**
 * SimpleQueue after close(): Python's closes its pipe, and put, get and empty then raise OSError
 * "handle is closed" (checked with Python 3.11). weft's put and get threw a RuntimeError (a
 * Queue's, Python's ValueError for its Queue) and empty() answered as if open.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OSError, SimpleQueue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const closed = (e: unknown): boolean =>
  e instanceof OSError && (e as OSError).code === 'ERR_WEFT_QUEUE_CLOSED';

describe('SimpleQueue after close()', () => {
  test('put, get and empty raise OSError; close() again does nothing', async () => {
    const q = new SimpleQueue<number>();
    await q.put(1);
    assert.equal(await q.get(), 1);
    assert.equal(q.empty(), true);
    q.close();
    await assert.rejects(q.put(2), closed);
    await assert.rejects(q.get(), closed);
    assert.throws(() => q.empty(), closed);
    q.close();
  });
});
