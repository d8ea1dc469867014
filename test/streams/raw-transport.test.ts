import assert from 'node:assert/strict';
import type { Socket as NetSocket } from 'node:net';
import { describe, test } from 'node:test';
import { io } from '../../src/socket/native-io.js';
import { startServer } from '../../src/streams/index.js';
import { ACCEPT_RETRY_MS } from '../../src/streams/raw-transport.js';
import { checkLeaks } from '../support/leaks.js';
import { connected, portOf } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';
const EMFILE = 24;

/** Everything the peer sends until it closes; fails after `ms` (a bound, not a speed check). */
function receiveAll(c: NetSocket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`the connection was still open after ${ms} ms; received ${got}`));
    }, ms);
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    c.once('close', () => {
      clearTimeout(t);
      resolve(got);
    });
  });
}

const timersPhase = (): Promise<void> => new Promise((r) => setTimeout(r, 1));
const loopTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

const maybe = io !== null ? describe : describe.skip;

maybe('the raw transport', () => {
  test('a write queued behind a batched one is sent after it when reading resumes in between', async () => {
    await using server = await startServer(
      async (reader, writer) => {
        // The client's 100 bytes come in one segment: past 2 × limit, reading is paused, and
        // 67 bytes stay buffered (above the limit, so still paused).
        await reader.readexactly(33);
        // Out of the poll phase, so the batch's setImmediate runs after the next poll.
        await timersPhase();
        writer.write('A'); // batched
        writer.write('B'); // queued behind the batch entry
        // Empties the buffer: reading resumes, which recomputes the epoll events while 'A' is
        // still in the batch.
        assert.equal((await reader.read(1000)).length, 67);
        await writer.drain();
        writer.close();
      },
      HOST,
      0,
      { transport: 'raw', limit: 16 },
    );
    const c = await connected(portOf(server));
    const all = receiveAll(c, 5000);
    c.end(Buffer.alloc(100, 120));
    assert.equal(await all, 'AB');
  });

  test('a listener whose accept fails with EMFILE leaves the epoll set, retries later and then accepts', async () => {
    const native = io as NonNullable<typeof io>;
    const realAccept = native.accept;
    let failing = true;
    let attempts = 0;
    native.accept = (fd: number): number => {
      attempts++;
      return failing ? -EMFILE : realAccept(fd);
    };
    try {
      let handled = 0;
      await using server = await startServer(
        (_reader, writer) => {
          handled++;
          writer.write('hi');
          writer.close();
        },
        HOST,
        0,
        { transport: 'raw' },
      );
      const c = await connected(portOf(server));
      const all = receiveAll(c, 5000);
      for (let i = 0; i < 1000 && attempts === 0; i++) await timersPhase();
      assert.ok(attempts >= 1, 'the pending connection was reported to the listener');
      // Level-triggered, a listener left in the set would be tried on every one of these turns;
      // parked, it is tried once per retry period (100 ms) at most. The allowance grows with the
      // time the turns took, so a loaded machine's slow turns cannot fail the test.
      const before = attempts;
      const start = performance.now();
      for (let i = 0; i < 50; i++) await loopTurn();
      const allowed = 2 + Math.ceil((performance.now() - start) / ACCEPT_RETRY_MS);
      assert.ok(
        attempts - before <= allowed,
        `accept was tried ${attempts - before} times in 50 loop turns with nothing freed`,
      );
      assert.equal(handled, 0);
      failing = false;
      assert.equal(await all, 'hi', 'the connection waiting in the backlog is served');
      assert.equal(handled, 1);
    } finally {
      native.accept = realAccept;
    }
  });

  test('startServer rejects an aborted signal and bad connection options before listening', async () => {
    const ac = new AbortController();
    const reason = new Error('aborted before start');
    ac.abort(reason);
    const handler = (): void => {};
    await assert.rejects(
      startServer(handler, HOST, 0, { transport: 'raw', signal: ac.signal }),
      (e) => e === reason,
    );
    await assert.rejects(startServer(handler, HOST, 0, { transport: 'raw', limit: 0 }), RangeError);
    await assert.rejects(
      startServer(handler, HOST, 0, { transport: 'raw', readTimeout: -1 }),
      RangeError,
    );
    await assert.rejects(
      startServer(handler, HOST, 0, { transport: 'raw', idleTimeout: 0 }),
      RangeError,
    );
  });
});
