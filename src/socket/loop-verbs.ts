/**
 * asyncio's low-level socket verbs (`loop.sock_accept`, `loop.sock_recv`, `loop.sock_sendall`,
 * `loop.sock_connect`). As in asyncio they are meant for non-blocking sockets and always wait:
 * the socket's blocking mode and timeout do not apply; cancellation (of the task, or through
 * `signal`) does.
 */
import type { Socket, SocketAddress, SocketWaitOptions } from './socket.js';

const WAIT = 1;

/** Waits for a connection on listening `sock`: `[conn, address]`. */
export function sockAccept(
  sock: Socket,
  options?: SocketWaitOptions,
): Promise<[Socket, SocketAddress]> {
  return sock._accept(WAIT, options);
}

/** Waits for up to `nbytes` bytes from `sock`; an empty buffer at EOF. */
export function sockRecv(
  sock: Socket,
  nbytes: number,
  options?: SocketWaitOptions,
): Promise<Buffer> {
  return sock._recv(nbytes, WAIT, options);
}

/** Sends all of `data` on `sock`, waiting while its send queue is full. */
export function sockSendall(
  sock: Socket,
  data: Uint8Array | string,
  options?: SocketWaitOptions,
): Promise<void> {
  return sock._sendall(data, WAIT, options);
}

/** Connects `sock` to `address`, waiting until connected. */
export function sockConnect(
  sock: Socket,
  address: SocketAddress,
  options?: SocketWaitOptions,
): Promise<void> {
  return sock._connect(address, WAIT, options);
}
