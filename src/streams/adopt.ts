/**
 * asyncio's `sock=`: a stream or a server on a socket the caller made. weft takes a
 * weft/socket `Socket` (its transport, with what it had received and nobody read, moves to the
 * stream or server, and the `Socket` itself is closed: two owners of one descriptor would race
 * for its bytes) or Node's own `net.Socket` / `net.Server`.
 */
import { Server as NetServer, Socket as NetSocket } from 'node:net';
import { describeValue } from '../internal/errors.js';
import { OSError } from '../socket/errors.js';
import type { GivenToStreams, Socket } from '../socket/socket.js';
import { untilConnected } from './protocol.js';

/**
 * A weft/socket `Socket`, known by its hand-over method rather than by `instanceof`: weft/streams
 * does not load weft/socket for a check most calls never need.
 */
function isWeftSocket(x: unknown): x is Socket {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { _giveToStreams?: unknown })._giveToStreams === 'function'
  );
}

/** What a stream is made on: the connection, what was read from it before, and its names. */
export type AdoptedConnection = Omit<Extract<GivenToStreams, { kind: 'connection' }>, 'kind'>;

/** What a server is made on: the listener, and the connections it accepted already. */
export type AdoptedListener = Omit<Extract<GivenToStreams, { kind: 'listener' }>, 'kind'>;

/**
 * asyncio's checks of `sock` against the address: one or the other, never both nor neither
 * (its `ValueError`, a RangeError here); and `sock` of a kind weft can adopt (TypeError).
 */
export function checkSockArgs(what: string, addressGiven: boolean, sock: unknown): void {
  if (sock === null) {
    if (!addressGiven) {
      throw new RangeError(`${what}: give the address to connect to (or listen on), or sock`);
    }
    return;
  }
  if (addressGiven) {
    throw new RangeError(`${what}: host/port and sock can not be specified at the same time`);
  }
  if (!isWeftSocket(sock) && !(sock instanceof NetSocket) && !(sock instanceof NetServer)) {
    throw new TypeError(
      `${what}: sock must be a weft/socket Socket or a Node net.Socket${what.startsWith('start') ? '/net.Server' : ''}: received ${describeValue(sock)}`,
    );
  }
}

/** What an adopted connection holds already, shown to `adoptConnection`'s `check`. */
export interface HeldState {
  /** Bytes received and not read. */
  buffered: number;
  /** The failure behind them, or null. */
  error: unknown;
  /** The peer's EOF was read already. */
  eof: boolean;
}

/**
 * Takes a connected socket over. A Node socket still connecting is waited for (its failure is
 * the call's); a weft one must be connected. `check` sees what the socket holds before anything
 * is taken: when it throws, the caller's socket is left as it was.
 * @throws {OSError} ENOTCONN: not connected; EBADF: closed. What `check` throws.
 */
export async function adoptConnection(
  what: string,
  sock: Socket | NetSocket | NetServer,
  signal: AbortSignal | undefined,
  check?: (held: HeldState) => void,
): Promise<AdoptedConnection> {
  if (isWeftSocket(sock)) {
    const given = sock._giveToStreams('connection', check);
    if (given.kind !== 'connection') throw new Error('unreachable: a connection was asked for');
    return given;
  }
  if (sock instanceof NetServer) {
    throw new TypeError(`${what}: sock is a net.Server: a connection needs a connected socket`);
  }
  if (sock.destroyed) {
    throw new OSError(`Bad file descriptor: ${what}: sock is closed`, 'EBADF');
  }
  if (sock.connecting) await untilConnected(sock, signal);
  else if (sock.readyState === 'closed') {
    throw new OSError(
      `Transport endpoint is not connected: ${what}: sock is not connected`,
      'ENOTCONN',
    );
  }
  check?.({ buffered: sock.readableLength, error: null, eof: sock.readableEnded });
  // asyncio's transports are half-open: the writer still writes after the peer's EOF.
  sock.allowHalfOpen = true;
  return { ns: sock, buffered: null, error: null, eof: sock.readableEnded, unix: null };
}

/**
 * Takes a listening socket over. A weft `Socket` neither listening nor connected (bound or not:
 * then any address, a free port) is made to listen first, as asyncio's `start_server` listens
 * on the socket it is given; a Node `net.Server` must be listening.
 * @throws {OSError} EINVAL: a connected socket, or a net.Server not listening; EBADF: closed.
 */
export async function adoptListener(
  what: string,
  sock: Socket | NetSocket | NetServer,
  backlog: number,
): Promise<AdoptedListener> {
  if (isWeftSocket(sock)) {
    let given = sock._giveToStreams('listener');
    if (given.kind === 'fresh') {
      await sock.listen(backlog);
      given = sock._giveToStreams('listener');
    }
    if (given.kind !== 'listener') throw new Error('unreachable: a listener was asked for');
    return given;
  }
  if (!(sock instanceof NetServer)) {
    throw new OSError(
      `Invalid argument: ${what}: sock is a connected net.Socket, not a listener`,
      'EINVAL',
    );
  }
  if (!sock.listening) {
    throw new OSError(
      `Invalid argument: ${what}: the net.Server is not listening (await its 'listening' first)`,
      'EINVAL',
    );
  }
  // asyncio's transports are half-open: an accepted connection writes on after the peer's EOF.
  (sock as NetServer & { allowHalfOpen: boolean }).allowHalfOpen = true;
  const a = sock.address();
  return { server: sock, pending: [], unixPath: typeof a === 'string' ? a : null };
}
