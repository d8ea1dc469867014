import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RuntimeError } from '../../src/internal/errors.js';
import {
  BrokenPipeError,
  ConnectionResetError,
  openConnection,
  startServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf, readThenClose } from '../support/net.js';
import { until } from '../support/until.js';

checkLeaks();

const HOST = '127.0.0.1';

for (const transport of ['auto', 'net'] as const) {
  describe(`StreamWriter against asyncio (${transport} transport)`, () => {
    test('write() after writeEof() raises RuntimeError, as asyncio does', async () => {
      await using server = await startServer(readThenClose, HOST, 0, { transport });
      const [reader, writer] = await openConnection(HOST, portOf(server));
      await using _ = writer;
      writer.write('a');
      writer.writeEof();
      assert.throws(
        () => writer.write('b'),
        (e: unknown) => {
          assert.ok(e instanceof RuntimeError, `got ${String(e)}`);
          assert.match((e as Error).message, /writeEof/);
          return true;
        },
      );
      assert.equal((await reader.read()).length, 0);
    });

    test('drain() after close() raises ConnectionResetError, as asyncio does', async () => {
      await using server = await startServer(readThenClose, HOST, 0, { transport });
      for (const before of ['', 'some bytes']) {
        const [, writer] = await openConnection(HOST, portOf(server));
        if (before !== '') writer.write(before);
        writer.close();
        writer.write('dropped');
        await assert.rejects(writer.drain(), (e: unknown) => {
          assert.ok(e instanceof ConnectionResetError, `got ${String(e)}`);
          assert.equal((e as Error).message, 'Connection lost');
          return true;
        });
        await writer.waitClosed();
        await assert.rejects(writer.drain(), ConnectionResetError);
      }
    });

    test('drain() after both sides sent EOF resolves (nothing failed, nothing left to send)', async () => {
      await using server = await startServer(readThenClose, HOST, 0, { transport });
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.write('request');
      writer.writeEof();
      await writer.drain();
      assert.equal((await reader.read()).length, 0); // the server closed its side
      // Both FINs went through and Node closed the socket; asyncio's transport stays open until
      // close() (helper-92: waitClosed() used to resolve here): drain() resolves meanwhile.
      const sock = writer.getExtraInfo('socket');
      await until(() => sock.closed, 'the socket closed');
      await writer.drain();
      assert.equal(writer.isClosing(), false);
      writer.close();
      await writer.waitClosed();
      await assert.rejects(writer.drain(), ConnectionResetError);
    });

    for (const how of ['write', 'writelines'] as const) {
      test(`drain() right after a ${how}() the kernel refused (the peer is gone) raises ConnectionResetError, then reads raise BrokenPipeError, as asyncio's`, async () => {
        // Python 3.11/3.12/3.13: the write() (or writelines()) that meets EPIPE fails the
        // transport at once (is_closing() True) and runs connection_lost(exc) a turn later; the
        // drain() right after it waits that turn out, then raises ConnectionResetError('Connection
        // lost'); the reader has the BrokenPipeError by then: a second drain(), read() and
        // wait_closed() raise it. Node reports the failed write a tick later.
        let outcome!: (v: unknown[]) => void;
        const results = new Promise<unknown[]>((r) => (outcome = r));
        const settle = (p: Promise<unknown>) =>
          p.then(
            (v) => v,
            (e: unknown) => e,
          );
        await using server = await startServer(
          async (reader, writer) => {
            // Past the raw transport's batching (16 KiB): sent in write() itself.
            const chunk = Buffer.alloc(20_000, 1);
            assert.equal((await reader.read()).length, 0, 'the peer closed');
            let drained: unknown = 'no write failed';
            let closingAfterWrite: unknown = null;
            // The first write is taken and answered with a reset; a later one is refused.
            for (let i = 0; i < 200 && !writer.isClosing(); i++) {
              if (how === 'write') writer.write(chunk);
              else writer.writelines([chunk]);
              closingAfterWrite = writer.isClosing();
              const r = await writer.drain().then(
                () => null,
                (e: unknown) => e,
              );
              if (r !== null) {
                drained = r;
                break;
              }
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            const again = await settle(writer.drain());
            const read = await settle(reader.read());
            writer.close();
            const closed = await settle(writer.waitClosed());
            outcome([drained, closingAfterWrite, again, read, closed]);
          },
          HOST,
          0,
          { transport },
        );
        const [, writer] = await openConnection(HOST, portOf(server));
        writer.close();
        await writer.waitClosed();
        const [drained, closingAfterWrite, again, read, closed] = await results;
        assert.ok(
          drained instanceof ConnectionResetError && drained.message === 'Connection lost',
          `drain(): ${String(drained)}`,
        );
        assert.equal(closingAfterWrite, true, `isClosing() right after the refused ${how}()`);
        assert.ok(again instanceof BrokenPipeError, `the next drain(): ${String(again)}`);
        assert.ok(read instanceof BrokenPipeError, `read(): ${String(read)}`);
        assert.ok(closed instanceof BrokenPipeError, `waitClosed(): ${String(closed)}`);
      });
    }
  });
}
