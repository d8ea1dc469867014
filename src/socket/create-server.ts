import { AF_INET, AF_INET6, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET } from './constants.js';
import { Socket } from './socket.js';

export interface CreateServerOptions {
  family?: number;
  backlog?: number;
  /** Default true, as in Python on POSIX. */
  reuseAddress?: boolean;
}

/**
 * Binds and listens on `[host, port]` and resolves to the listening socket
 * (`socket.create_server`).
 * @throws {OSError} EADDRINUSE and other binding errors.
 */
export async function createServer(
  address: [string, number],
  options: CreateServerOptions = {},
): Promise<Socket> {
  const family =
    options.family ??
    (Array.isArray(address) && String(address[0]).includes(':') ? AF_INET6 : AF_INET);
  const s = new Socket(family, SOCK_STREAM);
  try {
    if (options.reuseAddress ?? true) s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    s.bind(address);
    await s.listen(options.backlog ?? 128);
  } catch (e) {
    s.close();
    throw e;
  }
  return s;
}
