/** Small helpers of the tests that talk to weft servers through Node's own `net` client. */
import assert from 'node:assert/strict';
import {
  type Socket as NetSocket,
  connect as netConnect,
  createServer as netCreateServer,
} from 'node:net';
import { createConnection, createServer, OSError, type Socket } from '../../src/socket/index.js';
import { io } from '../../src/socket/native-io.js';
import type { Server, StreamReader, StreamWriter } from '../../src/streams/index.js';

/** The transports a weft socket test runs on: weft's own descriptor where the addon is built, and Node's net. */
export const TRANSPORTS: readonly string[] = io === null ? ['net'] : ['raw', 'net'];

/** Runs `body` with weft's TCP sockets on `transport` (one of TRANSPORTS), then puts it back. */
export async function onTransport(transport: string, body: () => Promise<void>): Promise<void> {
  const saved = process.env.WEFT_SOCKET_TRANSPORT;
  if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
  else delete process.env.WEFT_SOCKET_TRANSPORT;
  try {
    await body();
  } finally {
    if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
    else process.env.WEFT_SOCKET_TRANSPORT = saved;
  }
}

/** A port of 127.0.0.1 nobody listens on (one just closed). */
export async function deadPort(): Promise<number> {
  const dead = await createServer(['127.0.0.1', 0]);
  const port = (dead.getsockname() as [string, number])[1];
  dead.close();
  return port;
}

/** An assert.throws/rejects check: an OSError whose errno is `name`. */
export const errnoIs =
  (name: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof OSError, `an OSError: got ${String(e)}`);
    assert.equal(e.errnoName, name, String(e));
    return true;
  };

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

/**
 * A Node server as the peer of a weft client socket made on `transport` ('raw': weft's own
 * descriptor, 'net': Node's net): `use` gets the client and the server's side of it, both
 * closed after. `allowHalfOpen` keeps the peer's side open after our FIN.
 */
export async function withPeer(
  transport: string,
  use: (s: Socket, peer: NetSocket) => Promise<void>,
  options: { allowHalfOpen?: boolean } = {},
): Promise<void> {
  const accepted: NetSocket[] = [];
  const raw = netCreateServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (p) => {
    p.on('error', () => {});
    accepted.push(p);
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const port = (raw.address() as { port: number }).port;
  const saved = process.env.WEFT_SOCKET_TRANSPORT;
  if (transport === 'net') process.env.WEFT_SOCKET_TRANSPORT = 'net';
  else delete process.env.WEFT_SOCKET_TRANSPORT;
  let s: Socket | null = null;
  try {
    s = await createConnection(['127.0.0.1', port]);
    assert.equal(s._rawTransport(), transport === 'raw');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 1));
    await use(s, accepted[0] as NetSocket);
  } finally {
    if (saved === undefined) delete process.env.WEFT_SOCKET_TRANSPORT;
    else process.env.WEFT_SOCKET_TRANSPORT = saved;
    s?.close();
    for (const p of accepted) p.destroy();
    await new Promise<void>((r) => raw.close(() => r()));
  }
}

/** An assert.throws check: Python's ValueError "Invalid file descriptor: -1" (a RangeError). */
export const invalidFd = (e: unknown): boolean => {
  assert.ok(e instanceof RangeError, `a RangeError: got ${String(e)}`);
  assert.match(e.message, /Invalid file descriptor: -1/);
  return true;
};
