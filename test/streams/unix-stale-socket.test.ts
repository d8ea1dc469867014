import assert from 'node:assert/strict';
import { existsSync, linkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  OSError,
  openUnixConnection,
  type StreamReader,
  type StreamWriter,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

let seq = 0;
function socketPath(): string {
  return join(tmpdir(), `weft-stale-${process.pid}-${Date.now()}-${seq++}.sock`);
}

/**
 * Leaves a socket file at `path` that nobody listens on, as a server that died without closing
 * does: a Node server listens on a second name, `path` is a hard link to its socket, and the
 * server's close removes only its own name.
 */
async function staleSocketAt(path: string): Promise<void> {
  const live = `${path}.live`;
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(live, resolve));
  linkSync(live, path);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  assert.ok(statSync(path).isSocket());
}

async function hello(_reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write('hello');
  writer.close();
}

test('startUnixServer removes a stale socket file at its path and serves there, as asyncio', async () => {
  const path = socketPath();
  await staleSocketAt(path);
  try {
    await using server = await startUnixServer(hello, path);
    assert.equal(server.sockets[0]?.getsockname(), path);
    const [reader, writer] = await openUnixConnection(path);
    assert.equal((await reader.read()).toString(), 'hello');
    writer.close();
    await writer.waitClosed();
  } finally {
    rmSync(path, { force: true });
  }
});

test('startUnixServer on a path holding a file that is not a socket raises OSError and keeps it', async () => {
  const path = socketPath();
  writeFileSync(path, 'data');
  try {
    await assert.rejects(startUnixServer(hello, path), (e: unknown) => {
      assert.ok(e instanceof OSError, `got ${String(e)}`);
      assert.equal((e as OSError).errnoName, 'EADDRINUSE'); // as asyncio's bind raises
      return true;
    });
    assert.ok(existsSync(path));
  } finally {
    rmSync(path, { force: true });
  }
});
