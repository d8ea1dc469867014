import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, currentTask, Event } from '../../src/asyncio/index.js';
import {
  openConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

for (const transport of ['auto', 'net'] as const) {
  describe(`client_connected_cb cancelled (${transport} transport)`, () => {
    test('a cancelled handler closes its connection after what it wrote, as asyncio (3.12)', async () => {
      const seen: string[] = [];
      const never = new Event();
      async function handler(_reader: StreamReader, writer: StreamWriter): Promise<void> {
        writer.write('partial');
        currentTask()?.cancel();
        try {
          await never.wait();
        } catch (e) {
          seen.push(e instanceof CancelledError ? 'cancelled' : String(e));
          throw e;
        }
      }
      const server = await startServer(handler, HOST, 0, { transport });
      const [reader, writer] = await openConnection(HOST, portOf(server));
      // The connection used to stay open: this read waited for an EOF that never came.
      const got = await reader.read(-1, { timeout: 20_000 });
      assert.equal(got.toString(), 'partial');
      assert.ok(reader.atEof());
      assert.deepEqual(seen, ['cancelled']);
      writer.close();
      await writer.waitClosed();
      // Every connection has ended, so the server's waitClosed() ends too.
      server.close();
      await server.waitClosed({ timeout: 20_000 });
    });
  });
}
