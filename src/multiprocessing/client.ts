/**
 * `Client()`: Python's `multiprocessing.connection.Client`, a connection to a `Listener`'s
 * address, authenticated as the Listener asks (handshake.ts).
 */
import { currentTaskSignal } from '../internal/context.js';
import { AF_INET, AF_UNIX, IPPROTO_TCP, TCP_NODELAY } from '../socket/constants.js';
import { Socket } from '../socket/socket.js';
import type { Connection } from './connection.js';
import { type ConnectionAddress, checkConnectionArgs } from './connection-address.js';
import { clientHandshake } from './handshake.js';
import { SocketConnection } from './socket-connection.js';

export interface ClientOptions {
  /** 'AF_INET' or 'AF_UNIX'; by default the address's. */
  family?: 'AF_INET' | 'AF_UNIX';
  /** The Listener's authkey (a Buffer or Uint8Array); none (the default) when it has none. */
  authkey?: Uint8Array | null;
  /** Gives up connecting (or the handshake): the promise rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Connects to the Listener at `address` (`[host, port]` or a Unix socket's path) and resolves to
 * the `Connection` once the handshake is done: with `authkey`, Python's HMAC challenge in both
 * directions; without, weft's greeting, which tells a Listener that has one.
 *
 * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
 * closes the socket and rejects with its reason.
 * @throws ConnectionRefusedError (an OSError) when nothing listens there; FileNotFoundError-like
 * OSError (ENOENT) for a Unix path that does not exist.
 * @throws AuthenticationError when the authkeys differ, or one side has one and the other none.
 * @throws TypeError for an address, family or authkey of the wrong type; RangeError (Python's
 * ValueError) for a port out of 0–65535 or an unknown family.
 */
export async function Client(
  address: ConnectionAddress,
  options: ClientOptions = {},
): Promise<Connection> {
  const a = checkConnectionArgs('Client', address, options, false);
  const signal = a.signal ?? currentTaskSignal();
  if (signal?.aborted) throw signal.reason;
  const sock = new Socket(a.family === 'AF_INET' ? AF_INET : AF_UNIX);
  try {
    await sock.connect(a.address, signal === null ? undefined : { signal });
  } catch (e) {
    sock.close();
    throw e;
  }
  if (a.family === 'AF_INET') sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  const conn = new SocketConnection(sock);
  try {
    await clientHandshake(conn, a.authkey, signal);
  } catch (e) {
    conn.close();
    throw e;
  }
  return conn;
}
