/**
 * An item holding an ArrayBuffer whose memory was transferred away (detached) is refused at the
 * put with weft's NotCloneableError saying so, on every path an item takes: a Queue's streaming
 * put and its blocking one, a Pipe's send, a Manager's values. It threw a bare TypeError of V8's
 * ("Cannot perform ArrayBuffer.prototype.slice on a detached ArrayBuffer"), or a message advising
 * to "send typed arrays", and nothing said what to do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { NotCloneableError } from '../../src/internal/serialize.js';
import { Manager, Pipe, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

/** `buffer` after a postMessage transferred its memory away. */
function detach(buffer: ArrayBuffer): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(buffer, [buffer]);
  port1.close();
  port2.close();
}

function detachedItems(): Array<[string, unknown]> {
  const bare = new ArrayBuffer(8);
  detach(bare);
  const view = new Float64Array(4);
  detach(view.buffer as ArrayBuffer);
  const inner = new Uint8Array(16);
  detach(inner.buffer as ArrayBuffer);
  // Its byteLength throws once detached (a typed array's answers 0).
  const dataView = new DataView(new ArrayBuffer(8));
  detach(dataView.buffer as ArrayBuffer);
  return [
    ['an ArrayBuffer', bare],
    ['a typed array', view],
    ['a DataView', dataView],
    ['an object holding one', { rows: [inner] }],
  ];
}

function refused(what: string, label: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof NotCloneableError, `${what}: a NotCloneableError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_WEFT_NOT_CLONEABLE', what);
    assert.match(e.message, label, what);
    assert.match(e.message, /ArrayBuffer that was detached .*transferred.*copy/s, what);
    return true;
  };
}

test('a Queue refuses a detached item at the put, and the items around it come through', async () => {
  const q = new Queue<unknown>();
  const bounded = new Queue<unknown>(4);
  try {
    await q.put('before');
    for (const [what, item] of detachedItems()) {
      await assert.rejects(q.put(item), refused(what, /^Queue\.put: /));
      assert.throws(() => q.putSync(item), refused(what, /^Queue\.put: /));
      assert.throws(() => bounded.putSync(item), refused(what, /^Queue\.put: /));
      assert.throws(() => bounded.putNowait(item), refused(what, /^Queue\.put: /));
    }
    await q.put('after');
    assert.equal(await q.get({ timeout: 60_000 }), 'before');
    assert.equal(await q.get({ timeout: 60_000 }), 'after');
    assert.equal(q.empty(), true);
    assert.equal(bounded.qsize(), 0);
  } finally {
    q.close();
    bounded.close();
  }
});

test('a Pipe refuses a detached item at send', async () => {
  const [a, b] = Pipe();
  try {
    for (const [what, item] of detachedItems())
      assert.throws(() => a.send(item), refused(what, /^Connection\.send: /));
    a.send('next');
    assert.equal(await b.recv(), 'next');
  } finally {
    a.close();
    b.close();
  }
});

test('a Manager refuses a detached value and stores nothing', async () => {
  using m = Manager();
  const l = m.list<unknown>();
  const d = m.dict<string, unknown>();
  for (const [what, item] of detachedItems()) {
    await assert.rejects(l.append(item), refused(what, /^ListProxy\.append: /));
    await assert.rejects(d.set('k', item), refused(what, /: the item holds/));
  }
  assert.equal(await l.length(), 0);
  assert.equal(await d.has('k'), false);
});
