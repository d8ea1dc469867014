import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, createTask, sleep } from '../../src/asyncio/index.js';
import { RuntimeError, TimeoutError } from '../../src/internal/errors.js';
import { ConnectionResetError } from '../../src/socket/errors.js';
import { IncompleteReadError, LimitOverrunError } from '../../src/streams/errors.js';
import { StreamReader } from '../../src/streams/stream-reader.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const b = (s: string): Buffer => Buffer.from(s);

describe('StreamReader', () => {
  test('read(n) returns at most n buffered bytes and keeps the rest in order', async () => {
    const r = new StreamReader();
    r.feedData(b('abc'));
    r.feedData(b('defg'));
    assert.equal((await r.read(2)).toString(), 'ab');
    assert.equal((await r.read(3)).toString(), 'cde');
    r.feedEof();
    assert.equal((await r.read(10)).toString(), 'fg');
    assert.equal((await r.read(10)).length, 0);
    assert.ok(r.atEof());
  });

  test('read() with no size reads until EOF across chunks', async () => {
    const r = new StreamReader({ limit: 4 });
    const p = r.read();
    r.feedData(b('hello '));
    await sleep(1);
    r.feedData(b('world'));
    r.feedEof();
    assert.equal((await p).toString(), 'hello world');
  });

  test('read waits until data arrives and wakes on feedData', async () => {
    const r = new StreamReader();
    const order: string[] = [];
    const t = createTask(async () => {
      const d = await r.read(10);
      order.push(`read ${d.toString()}`);
    });
    await sleep(1);
    order.push('feed');
    r.feedData(b('x'));
    await t;
    assert.deepEqual(order, ['feed', 'read x']);
  });

  test('readexactly at EOF raises IncompleteReadError with the partial bytes', async () => {
    const r = new StreamReader();
    r.feedData(b('abc'));
    r.feedEof();
    await assert.rejects(r.readexactly(5), (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), 'abc');
      assert.equal(e.expected, 5);
      assert.equal(e.name, 'IncompleteReadError');
      return true;
    });
    assert.ok(r.atEof(), 'the partial bytes are consumed');
  });

  test('readexactly assembles bytes fed one at a time', async () => {
    const r = new StreamReader();
    const p = r.readexactly(5);
    for (const c of 'hello') {
      await sleep(0);
      r.feedData(b(c));
    }
    assert.equal((await p).toString(), 'hello');
  });

  test('readexactly with a negative size raises RangeError', async () => {
    const r = new StreamReader();
    await assert.rejects(r.readexactly(-1), RangeError);
    await assert.rejects(r.read(1.5), TypeError);
  });

  test('readuntil finds a separator split across chunks', async () => {
    const r = new StreamReader();
    r.feedData(b('one\r'));
    const p = r.readuntil('\r\n');
    await sleep(0);
    r.feedData(b('\ntwo'));
    assert.equal((await p).toString(), 'one\r\n');
    assert.equal((await r.read(10)).toString(), 'two');
  });

  test('readuntil with several separators returns up to the first-ending one', async () => {
    const r = new StreamReader();
    r.feedData(b('a;b,c'));
    assert.equal((await r.readuntil([',', ';'])).toString(), 'a;');
    assert.equal((await r.readuntil([',', ';'])).toString(), 'b,');
  });

  test('readuntil past the limit raises LimitOverrunError and consumes nothing', async () => {
    const r = new StreamReader({ limit: 8 });
    r.feedData(b('0123456789abcdef'));
    await assert.rejects(r.readuntil('\n'), (e: unknown) => {
      assert.ok(e instanceof LimitOverrunError);
      assert.ok(e.consumed > 8);
      return true;
    });
    assert.equal(r.buffered, 16);
    r.feedData(b('x\n'));
    await assert.rejects(r.readuntil('\n'), /Separator is found, but chunk is longer than limit/);
  });

  test('readuntil at EOF raises IncompleteReadError with expected null', async () => {
    const r = new StreamReader();
    r.feedData(b('tail'));
    r.feedEof();
    await assert.rejects(r.readuntil('\n'), (e: unknown) => {
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial.toString(), 'tail');
      assert.equal(e.expected, null);
      return true;
    });
  });

  test('readuntil with an empty separator raises RangeError', async () => {
    const r = new StreamReader();
    await assert.rejects(r.readuntil(''), RangeError);
    await assert.rejects(r.readuntil(42 as never), TypeError);
  });

  test('readline returns the rest at EOF and drops an overlong line with RangeError', async () => {
    const r = new StreamReader({ limit: 4 });
    r.feedData(b('toolongline\nok\nend'));
    r.feedEof();
    await assert.rejects(r.readline(), RangeError);
    assert.equal((await r.readline()).toString(), 'ok\n');
    assert.equal((await r.readline()).toString(), 'end');
    assert.equal((await r.readline()).length, 0);
  });

  test('async iteration yields lines until EOF', async () => {
    const r = new StreamReader();
    r.feedData(b('a\nb\nc'));
    r.feedEof();
    const lines: string[] = [];
    for await (const line of r) lines.push(line.toString());
    assert.deepEqual(lines, ['a\n', 'b\n', 'c']);
  });

  test('a second concurrent read raises instead of waiting', async () => {
    const r = new StreamReader();
    const first = r.read(1);
    await assert.rejects(r.read(1), (e: unknown) => {
      assert.ok(e instanceof RuntimeError, String(e));
      assert.match(e.message, /already waiting for incoming data/);
      return true;
    });
    r.feedData(b('z'));
    assert.equal((await first).toString(), 'z');
  });

  test('cancelling a task blocked in read raises CancelledError and loses no data', async () => {
    const r = new StreamReader();
    const t = createTask(() => r.readexactly(4));
    await sleep(1);
    r.feedData(b('ab'));
    await sleep(0);
    t.cancel('stop');
    await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
    assert.ok(t.cancelled());
    r.feedData(b('cd'));
    assert.equal((await r.readexactly(4)).toString(), 'abcd');
  });

  test('an aborted signal ends a waiting read with its reason', async () => {
    const r = new StreamReader();
    const ac = new AbortController();
    const p = r.read(1, { signal: ac.signal });
    ac.abort(new Error('gave up'));
    await assert.rejects(p, /gave up/);
    r.feedData(b('q'));
    assert.equal((await r.read(1)).toString(), 'q');
  });

  test('readTimeout fails a wait with TimeoutError', async () => {
    const r = new StreamReader({ readTimeout: 20 });
    await assert.rejects(r.read(1), TimeoutError);
    r.feedData(b('late'));
    assert.equal((await r.read(10)).toString(), 'late');
  });

  test('setException fails the waiting read and later reads', async () => {
    const r = new StreamReader();
    const p = r.read(1);
    r.setException(new ConnectionResetError());
    await assert.rejects(p, ConnectionResetError);
    await assert.rejects(r.readline(), ConnectionResetError);
  });

  test("a stored exception is raised before the buffered bytes, as asyncio's read", async () => {
    const r = new StreamReader();
    r.feedData(b('abc'));
    r.setException(new ConnectionResetError());
    await assert.rejects(r.read(10), ConnectionResetError);
    await assert.rejects(r.readexactly(3), ConnectionResetError);
    assert.equal(r.buffered, 3);
  });

  test('feedData after feedEof throws', () => {
    const r = new StreamReader();
    r.feedEof();
    assert.throws(() => r.feedData(b('x')), /after feedEof/);
  });

  test('buffer past twice the limit pauses the transport and reading resumes it', async () => {
    const r = new StreamReader({ limit: 4 });
    const log: string[] = [];
    r._setTransport({
      pauseReading: () => log.push('pause'),
      resumeReading: () => log.push('resume'),
    });
    r.feedData(b('12345'));
    assert.deepEqual(log, []);
    r.feedData(b('6789'));
    assert.deepEqual(log, ['pause']);
    await r.read(3);
    assert.deepEqual(log, ['pause']);
    await r.read(2);
    assert.deepEqual(log, ['pause', 'resume']);
  });

  test('a bad limit or readTimeout raises RangeError, one of the wrong type TypeError', () => {
    assert.throws(() => new StreamReader({ limit: 0 }), RangeError);
    assert.throws(() => new StreamReader({ limit: 1.5 }), TypeError);
    assert.throws(() => new StreamReader({ readTimeout: -1 }), RangeError);
    assert.throws(() => new StreamReader({ readTimeout: '100' as never }), TypeError);
    assert.throws(() => new StreamReader({ readTimeout: Number.NaN }), TypeError);
  });

  test('bug-bash st9: a read timeout of the wrong type rejects TypeError, a negative one RangeError', async () => {
    // They failed at once with "TimeoutError … NaN ms" ('100' was taken): the rules of every
    // waiting call (src/internal/wait-options.ts), and of readTimeout for a negative one.
    const r = new StreamReader();
    const reads = {
      read: (o: object) => r.read(10, o),
      readexactly: (o: object) => r.readexactly(3, o),
      readuntil: (o: object) => r.readuntil('\n', o),
      readline: (o: object) => r.readline(o),
    };
    for (const [what, call] of Object.entries(reads)) {
      await assert.rejects(call({ timeout: -1 }), RangeError, what);
      await assert.rejects(call({ timeout: Number.NaN }), TypeError, what);
      await assert.rejects(call({ timeout: '100' }), TypeError, what);
      await assert.rejects(call({ timeout: {} }), TypeError, what);
      await assert.rejects(call({ signal: 'x' }), TypeError, what);
    }
    // Checked even when the buffer answers at once; nothing was consumed by the bad calls.
    r.feedData(b('abc\n'));
    await assert.rejects(r.read(2, { timeout: -1 }), RangeError);
    assert.equal(r.buffered, 4);
    assert.equal((await r.readline({ timeout: Number.POSITIVE_INFINITY })).toString(), 'abc\n');
    r.feedEof();
    assert.equal((await r.read(1, { timeout: null })).length, 0);
  });

  test('bug-bash bb4: read() to EOF that is cancelled, aborted or timed out consumes nothing', async () => {
    const r = new StreamReader({ limit: 4 });
    const t = createTask(() => r.read());
    await sleep(1);
    r.feedData(b('hello '));
    await sleep(1);
    r.feedData(b('world'));
    await sleep(1);
    t.cancel();
    await assert.rejects(t, CancelledError);
    const ac = new AbortController();
    const p = r.read(-1, { signal: ac.signal });
    r.feedData(b('!'));
    await sleep(1);
    ac.abort(new Error('gave up'));
    await assert.rejects(p, /gave up/);
    await assert.rejects(r.read(-1, { timeout: 10 }), TimeoutError);
    assert.equal(r.buffered, 12);
    r.feedEof();
    assert.equal((await r.read()).toString(), 'hello world!');
  });

  test('bug-bash bb4: a failure set in the turn that bytes woke a waiting read fails it (it hung)', async () => {
    const reads: Record<string, (r: StreamReader) => Promise<unknown>> = {
      readexactly: (r) => r.readexactly(10),
      readuntil: (r) => r.readuntil('\n'),
      readline: (r) => r.readline(),
      'read()': (r) => r.read(),
      'for await': async (r) => {
        for await (const _ of r) assert.fail('no line was complete');
      },
    };
    for (const [what, call] of Object.entries(reads)) {
      const r = new StreamReader();
      const p = call(r);
      await sleep(1);
      r.feedData(b('abc'));
      r.setException(new ConnectionResetError());
      await assert.rejects(p, ConnectionResetError, what);
      assert.equal(r.buffered, 3, what);
    }
  });
});
