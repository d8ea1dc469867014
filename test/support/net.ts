/** Small helpers of the tests that talk to weft servers through Node's own `net` client. */
import assert from 'node:assert/strict';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import type { Server, StreamReader, StreamWriter } from '../../src/streams/index.js';

/** The port a streams `Server` listens on. */
export function portOf(server: Server): number {
  const name = server.sockets[0]?.getsockname();
  assert.ok(Array.isArray(name));
  return name[1];
}

/** A Node `net` client connected to 127.0.0.1:`port`. */
export async function connected(port: number): Promise<NetSocket> {
  const c = netConnect(port, '127.0.0.1');
  await new Promise<void>((r, j) => {
    c.once('connect', () => r());
    c.once('error', j);
  });
  return c;
}

/** A streams handler that reads to EOF, then closes: a quiet peer for the writer's tests. */
export async function readThenClose(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    await reader.read();
  } finally {
    writer.close();
  }
}
