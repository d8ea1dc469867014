import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event, sleep } from '../../src/asyncio/index.js';
import {
  ConnectionResetError,
  openConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf, readThenClose } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

type Settled = { state: 'pending' | 'resolved' | 'rejected'; error?: unknown };

function watch(p: Promise<void>): Settled {
  const s: Settled = { state: 'pending' };
  p.then(
    () => {
      s.state = 'resolved';
    },
    (e: unknown) => {
      s.state = 'rejected';
      s.error = e;
    },
  );
  return s;
}

for (const transport of ['auto', 'net'] as const) {
  describe(`StreamWriter after close() against asyncio (${transport} transport)`, () => {
    test('writeEof() after close() does nothing, so a write after it is dropped, not an error', async () => {
      await using server = await startServer(readThenClose, HOST, 0, { transport });
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.write('a');
      writer.close();
      writer.writeEof(); // asyncio's write_eof() on a closing transport returns
      writer.write('b'); // dropped, as every write after close(): it raised RuntimeError
      assert.equal(writer.isClosing(), true);
      await writer.waitClosed();
      assert.equal((await reader.read()).length, 0);
    });

    test('a drain() waiting when abort() ends the connection resolves; the next one raises', async () => {
      const outcome: string[] = [];
      const release = new Event();
      // The server's writer fills the connection of a client that reads nothing, then aborts
      // while its drain() waits: asyncio's flow control wakes that waiter with no error
      // (connection_lost(None)), and a drain() after it raises ConnectionResetError.
      async function flood(_reader: StreamReader, writer: StreamWriter): Promise<void> {
        try {
          const chunk = Buffer.alloc(64 * 1024, 120);
          let d: Settled;
          for (;;) {
            writer.write(chunk);
            d = watch(writer.drain());
            await sleep(5);
            if (d.state === 'pending') break;
            if (d.state === 'rejected') throw d.error;
          }
          writer.abort();
          while (d.state === 'pending') await sleep(1);
          outcome.push(`waiting drain ${d.state}`);
          try {
            await writer.drain();
            outcome.push('next drain resolved');
          } catch (e) {
            outcome.push(e instanceof ConnectionResetError ? `next drain ${e.message}` : String(e));
          }
          await writer.waitClosed();
        } finally {
          release.set();
        }
      }
      await using server = await startServer(flood, HOST, 0, { transport });
      const [, writer] = await openConnection(HOST, portOf(server), { limit: 1024 });
      await release.wait();
      assert.deepEqual(outcome, ['waiting drain resolved', 'next drain Connection lost']);
      writer.abort();
      await writer.waitClosed().catch(() => {});
    });
  });
}

test('getExtraInfo of a name it does not know gives null (asyncio: None) or the default', async () => {
  await using server = await startServer(readThenClose, HOST, 0);
  const [, writer] = await openConnection(HOST, portOf(server));
  await using _ = writer;
  assert.equal(writer.getExtraInfo('nonsense'), null);
  assert.equal(writer.getExtraInfo('nonsense', 42), 42);
  assert.deepEqual(writer.getExtraInfo('peername'), [HOST, portOf(server)]);
});
