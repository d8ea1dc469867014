/**
 * asyncio's low-level socket verbs (`loop.sock_accept`, `loop.sock_recv`, `loop.sock_sendall`,
 * `loop.sock_connect`). As in asyncio they are meant for non-blocking sockets and always wait:
 * the socket's blocking mode and timeout do not apply; cancellation (of the task, or through
 * `signal`) does.
 */
import { argumentError } from '../internal/errors.js';
import { Socket, type SocketAddress, type SocketWaitOptions } from './socket.js';

const WAIT = 1;

/** A rejection naming the verb and what it was given, for anything but a weft `Socket` (whose
 * internals the verbs call: without it the caller met "sock._recv is not a function", thrown
 * rather than rejected). */
function notASocket(verb: string, sock: unknown): Promise<never> {
  return Promise.reject(argumentError(`${verb}() expects a weft/socket Socket`, sock));
}

/** Waits for a connection on listening `sock`: `[conn, address]`. */
export function sockAccept(
  sock: Socket,
  options?: SocketWaitOptions,
): Promise<[Socket, SocketAddress]> {
  if (!(sock instanceof Socket)) return notASocket('sockAccept', sock);
  return sock._accept(WAIT, options);
}

/** Waits for up to `nbytes` bytes from `sock`; an empty buffer at EOF. */
export function sockRecv(
  sock: Socket,
  nbytes: number,
  options?: SocketWaitOptions,
): Promise<Buffer> {
  if (!(sock instanceof Socket)) return notASocket('sockRecv', sock);
  return sock._recv(nbytes, WAIT, options);
}

/** Sends all of `data` on `sock`, waiting while its send queue is full. */
export function sockSendall(
  sock: Socket,
  data: Uint8Array | string,
  options?: SocketWaitOptions,
): Promise<void> {
  if (!(sock instanceof Socket)) return notASocket('sockSendall', sock);
  return sock._sendall(data, WAIT, options);
}

/** Connects `sock` to `address`, waiting until connected. */
export function sockConnect(
  sock: Socket,
  address: SocketAddress,
  options?: SocketWaitOptions,
): Promise<void> {
  if (!(sock instanceof Socket)) return notASocket('sockConnect', sock);
  return sock._connect(address, WAIT, options);
}
