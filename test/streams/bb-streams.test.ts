import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RuntimeError } from '../../src/internal/errors.js';
import { ConnectionResetError, openConnection, startServer } from '../../src/streams/index.js';
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
  });
}
