import { AF_INET, AF_INET6, SOCK_STREAM } from './constants.js';
import { Socket, type SocketAddress } from './socket.js';

export interface CreateConnectionOptions {
  /** Timeout in ms for the connect, and then for the socket (`settimeout`). */
  timeout?: number | null;
  /** Local `[host, port]` to bind first. */
  sourceAddress?: [string, number];
  signal?: AbortSignal;
}

/**
 * Connects to `[host, port]` and resolves to the connected, blocking socket
 * (`socket.create_connection`). An IPv6 literal host makes an AF_INET6 socket.
 * @throws {ConnectionRefusedError} nothing listens there. {TimeoutError} `timeout` passed.
 */
export async function createConnection(
  address: [string, number],
  options: CreateConnectionOptions = {},
): Promise<Socket> {
  const family = Array.isArray(address) && String(address[0]).includes(':') ? AF_INET6 : AF_INET;
  const s = new Socket(family, SOCK_STREAM);
  if (options.timeout !== undefined) s.settimeout(options.timeout);
  if (options.sourceAddress) s.bind(options.sourceAddress);
  try {
    await s.connect(
      address as SocketAddress,
      options.signal ? { signal: options.signal } : undefined,
    );
  } catch (e) {
    // A failed connect leaves the socket open for another try; nobody else holds this one.
    s.close();
    throw e;
  }
  return s;
}
