// Server and connection lifecycle against CPython 3.11's asyncio (helper-92): what run()'s end
// closes, `startServing: false`, a connection after both sides sent EOF, feedData after feedEof.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CancelledError, createTask, getRunningLoop, run } from '../../src/asyncio/index.js';
import { RuntimeError, TimeoutError } from '../../src/internal/errors.js';
import {
  ConnectionResetError,
  openConnection,
  openUnixConnection,
  type StreamReader,
  StreamReader as StreamReaderClass,
  type StreamWriter,
  startServer,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';
import { settles } from '../support/settles.js';
import { TS_IMPORT } from '../support/ts.js';
import { until } from '../support/until.js';

checkLeaks();

const HOST = '127.0.0.1';
const FIXTURE = new URL('./fixtures/left-open.ts', import.meta.url).pathname;

/** Runs the fixture in a child process; a child that does not exit by itself is killed. */
function runFixture(
  mode: string,
  transport: 'auto' | 'net',
): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', TS_IMPORT, FIXTURE, mode], {
    encoding: 'utf8',
    // Far above the second or two it takes: only a child kept alive reaches it.
    timeout: 25_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, WEFT_STREAMS_TRANSPORT: transport },
  });
  return { status: r.status, out: `${r.stdout}\n--- stderr ---\n${r.stderr}` };
}

/** Echoes what it reads until EOF, then closes. */
async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (;;) {
      const data = await reader.read(1024);
      if (data.length === 0) break;
      writer.write(data);
    }
  } finally {
    writer.close();
  }
}

/** `closed` of Node's net.Socket and of the raw transport: the descriptor is gone. */
function socketClosed(w: StreamWriter): boolean {
  return (w.getExtraInfo('socket') as unknown as { closed: boolean }).closed;
}

for (const transport of ['auto', 'net'] as const) {
  describe(`streams lifecycle against asyncio (${transport} transport)`, () => {
    test('servers and connections left open when run() ends let the process exit, as CPython does', () => {
      // asyncio.run() returns and CPython's process ends; Node's was kept alive by them.
      const r = runFixture('streams', transport);
      assert.equal(r.status, 0, r.out);
      // Closed with the loop (CPython's dead server still says is_serving() True).
      assert.match(r.out, /after run: serving false false false false/);
    });

    test('a long run() keeps nothing on its loop for the connections that closed', async () => {
      await run(async () => {
        const loop = getRunningLoop() as unknown as { closers: Set<unknown> };
        const base = loop.closers.size;
        const server = await startServer(echo, HOST, 0, { transport });
        assert.equal(loop.closers.size, base + 1, 'the server is registered');
        for (let i = 0; i < 5; i++) {
          const [reader, writer] = await openConnection(HOST, portOf(server));
          // Both ends of the connection: the client's, and the server's once accepted.
          await until(() => loop.closers.size === base + 3, 'both ends registered');
          writer.write('ping');
          writer.writeEof();
          assert.equal((await reader.read()).toString(), 'ping');
          writer.close();
          await settles(writer.waitClosed(), 'waitClosed');
          await until(() => loop.closers.size === base + 1, 'both ends taken off');
        }
        server.close();
        await settles(server.waitClosed(), 'server.waitClosed');
        assert.equal(loop.closers.size, base, 'the server is taken off');
      });
    });

    test('startServing: false listens but serves nothing until startServing(), as asyncio', async () => {
      const handled: string[] = [];
      const server = await startServer(
        async (reader, writer) => {
          handled.push('handler');
          await echo(reader, writer);
        },
        HOST,
        0,
        { transport, startServing: false },
      );
      assert.equal(server.isServing(), false);
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.write('hi');
      // asyncio refuses the connection (its socket does not listen yet); weft's waits unserved.
      await assert.rejects(reader.read(10, { timeout: 100 }), TimeoutError);
      assert.deepEqual(handled, []);
      await server.startServing();
      assert.equal(server.isServing(), true);
      assert.equal((await reader.read(10)).toString(), 'hi');
      assert.deepEqual(handled, ['handler']);
      await server.startServing(); // serving already: nothing happens
      assert.equal(server.isServing(), true);
      writer.close();
      await settles(writer.waitClosed(), 'writer.waitClosed');
      server.close();
      assert.equal(server.isServing(), false);
      await assert.rejects(server.startServing(), (e: unknown) => {
        assert.ok(e instanceof RuntimeError, String(e));
        assert.equal((e as RuntimeError).code, 'ERR_WEFT_SERVER_CLOSED');
        return true;
      });
      await assert.rejects(server.serveForever(), RuntimeError);
      await settles(server.waitClosed(), 'server.waitClosed');
    });

    test('serveForever() starts serving a server made with startServing: false', async () => {
      const server = await startServer(echo, HOST, 0, { transport, startServing: false });
      assert.equal(server.isServing(), false);
      const t = createTask(() => server.serveForever());
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.write('x');
      assert.equal((await reader.read(1)).toString(), 'x');
      assert.equal(server.isServing(), true);
      t.cancel();
      await assert.rejects(t, CancelledError);
      assert.equal(server.isServing(), false);
      writer.close();
      await settles(server.waitClosed(), 'server.waitClosed');
    });

    test('close() before serving drops the connections waiting; their handler never runs', async () => {
      const handled: string[] = [];
      const server = await startServer(
        async (_reader, writer) => {
          handled.push('handler');
          writer.close();
        },
        HOST,
        0,
        { transport, startServing: false },
      );
      const [reader, writer] = await openConnection(HOST, portOf(server));
      await assert.rejects(reader.read(1, { timeout: 50 }), TimeoutError);
      server.close();
      await settles(server.waitClosed(), 'server.waitClosed');
      // Reset, as the kernel resets what waits in a closed listener's backlog.
      await assert.rejects(settles(reader.read(1), 'read'), ConnectionResetError);
      assert.deepEqual(handled, []);
      writer.close();
      await assert.rejects(writer.waitClosed(), ConnectionResetError);
    });

    test('after both sides sent EOF a writer stays open until close(), as asyncio transport', async () => {
      let serverWriter: StreamWriter | null = null;
      let serverRead: Buffer | null = null;
      await using server = await startServer(
        async (reader, writer) => {
          serverWriter = writer;
          writer.writeEof();
          serverRead = await reader.read();
        },
        HOST,
        0,
        { transport },
      );
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.writeEof();
      assert.equal((await reader.read()).length, 0);
      await until(() => serverRead !== null, 'the server read EOF');
      const sw = serverWriter as unknown as StreamWriter;
      // Node has closed both sockets (their descriptors are free); asyncio's transports are open.
      await until(() => socketClosed(writer) && socketClosed(sw), 'both sockets closed');
      for (const w of [writer, sw]) {
        assert.equal(w.isClosing(), false);
        await assert.rejects(w.waitClosed({ timeout: 20 }), TimeoutError);
        await w.drain();
      }
      const waiting = writer.waitClosed();
      writer.close();
      assert.equal(writer.isClosing(), true);
      await settles(waiting, 'waitClosed after close()');
      await writer.waitClosed();
      await assert.rejects(writer.drain(), ConnectionResetError);
      sw.abort();
      assert.equal(sw.isClosing(), true);
      await settles(sw.waitClosed(), 'waitClosed after abort()');
    });

    test('a writer lingering after both EOFs is still a client: closeClients() ends it, waitClosed() waits', async () => {
      // helper-98: it left the server's clients with Node's socket, so closeClients() missed it
      // and the server's waitClosed() returned while the handler still waited (as 3.13 keeps the
      // transport among `_clients` until connection_lost).
      const log: string[] = [];
      let handlerWaiting = false;
      const server = await startServer(
        async (reader, writer) => {
          await reader.read();
          writer.writeEof();
          handlerWaiting = true;
          await writer.waitClosed();
          log.push('handler: closed');
        },
        HOST,
        0,
        { transport },
      );
      const [reader, writer] = await openConnection(HOST, portOf(server));
      writer.writeEof();
      assert.equal((await reader.read()).length, 0);
      await until(() => handlerWaiting, 'the handler waits in waitClosed()');
      server.close();
      await assert.rejects(server.waitClosed({ timeout: 50 }), TimeoutError);
      server.closeClients();
      await settles(server.waitClosed(), 'server.waitClosed after closeClients()');
      log.push('server: closed');
      await until(() => log.length === 2, 'both closed');
      assert.deepEqual(log, ['handler: closed', 'server: closed']);
      writer.close();
    });
  });
}

test('a Unix server made with startServing: false serves from startServing() on', async () => {
  const path = join(tmpdir(), `weft-lifecycle-${process.pid}-${Date.now()}.sock`);
  const server = await startUnixServer(echo, path, { startServing: false });
  const [reader, writer] = await openUnixConnection(path);
  writer.write('u');
  await assert.rejects(reader.read(1, { timeout: 50 }), TimeoutError);
  await server.startServing();
  assert.equal((await reader.read(1)).toString(), 'u');
  writer.close();
  server.close();
  await settles(server.waitClosed(), 'server.waitClosed');
});

test('startServing must be a boolean', async () => {
  await assert.rejects(startServer(echo, HOST, 0, { startServing: 0 as never }), TypeError);
  await assert.rejects(
    startServer(echo, HOST, 0, { startServing: 'no' as never, transport: 'net' }),
    TypeError,
  );
});

test('a worker group left open when run() ends lets every process exit', () => {
  // The group is closed with the loop; each worker's serveForever() ends as its server closes.
  const r = runFixture('workers', 'auto');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /after run: primary/);
});

test('feedData after feedEof raises RuntimeError (asyncio asserts), even for no bytes', () => {
  const r = new StreamReaderClass();
  r.feedData('ab');
  r.feedEof();
  for (const data of ['x', '', Buffer.alloc(0)]) {
    assert.throws(
      () => r.feedData(data),
      (e: unknown) => {
        assert.ok(e instanceof RuntimeError, String(e));
        assert.equal((e as RuntimeError).code, 'ERR_WEFT_FEED_AFTER_EOF');
        assert.match((e as Error).message, /feedData\(\) after feedEof\(\)/);
        return true;
      },
    );
  }
  assert.throws(() => new StreamReaderClass().feedData(42 as never), TypeError);
});
