/**
 * `Listener`: Python's `multiprocessing.connection.Listener`, a listening socket whose
 * `accept()` gives `Connection`s (socket-connection.ts) to processes that called `Client()`.
 *
 * Implementation notes
 * --------------------
 * The Listener takes each connection as it arrives and runs the handshake (handshake.ts) at
 * once, in the background; `accept()` hands out what is ready, in the order the handshakes
 * ended — a connection, or the error its handshake ended with (an `AuthenticationError`), which
 * `accept()` raises as Python's does. So a `Client()` does not wait for the program to call
 * `accept()` (Python's waits there when they have an authkey): a program may `await Client()`
 * and then `accept()` in one task.
 *
 *   kernel ──connection──▶ #serve: sock.accept() ─▶ handshake ─▶ #ready ─▶ accept()
 *                                                    (failed) ──▶ #ready (the error)
 *
 * `close()` stops listening, closes the connections nobody accepted (in a handshake or ready),
 * rejects the `accept()`s waiting with OSError, and removes a Unix socket's file.
 */
import { unlinkSync } from 'node:fs';
import { currentTaskSignal } from '../internal/context.js';
import { describeValue } from '../internal/errors.js';
import { kShared } from '../internal/serialize.js';
import {
  AF_INET,
  AF_UNIX,
  IPPROTO_TCP,
  SO_REUSEADDR,
  SOL_SOCKET,
  TCP_NODELAY,
} from '../socket/constants.js';
import { Socket } from '../socket/socket.js';
import type { Connection } from './connection.js';
import { type ConnectionAddress, checkConnectionArgs, type Family } from './connection-address.js';
import { OSError, refuseToSend } from './errors.js';
import { listenerHandshake } from './handshake.js';
import { checkSignal } from './shared-object.js';
import { SocketConnection } from './socket-connection.js';

export interface ListenerOptions {
  /** 'AF_INET' or 'AF_UNIX'; by default the address's (AF_UNIX without an address). */
  family?: 'AF_INET' | 'AF_UNIX';
  /**
   * The listen backlog: connections the kernel completes before they are taken. Default 128,
   * where Python's is 1: 25 Clients connecting at once to a backlog of 1 hang (Python's as
   * weft's, on Linux), and weft takes each connection from the kernel as it comes anyway.
   */
  backlog?: number;
  /**
   * The shared secret of the HMAC handshake, a Buffer (or Uint8Array). None (the default, as
   * Python's `None`): no authentication — and a Client with one is refused.
   */
  authkey?: Uint8Array | null;
}

export interface AcceptOptions {
  signal?: AbortSignal;
}

type Ready = { conn: SocketConnection; address: ConnectionAddress } | { error: unknown };

interface AcceptWaiter {
  resolve: (r: Ready) => void;
  reject: (e: unknown) => void;
}

const closedError = (): OSError =>
  new OSError('listener is closed', 'EBADF', 'ERR_WEFT_LISTENER_CLOSED');

/**
 * A listening socket for Listener/Client connections (Python's
 * `multiprocessing.connection.Listener`): `[host, port]` listens on TCP (port 0: a free port,
 * which `address` then gives), a path on a Unix socket; no address, on a fresh Unix socket path.
 *
 * @example
 * using listener = new Listener(['127.0.0.1', 0], { authkey: Buffer.from('secret') });
 * const conn = await listener.accept();
 * conn.send(await conn.recv());
 */
export class Listener {
  readonly #sock: Socket;
  readonly #family: Family;
  readonly #authkey: Buffer | null;
  #address: ConnectionAddress;
  /** The Unix socket's file, removed by close(); null for TCP and Linux's abstract names. */
  #unlink: string | null = null;
  #closed = false;
  /** Why listening failed (EADDRINUSE…), raised by accept(). */
  #listenError: unknown = null;
  /** Settles once the socket listens (or failed to): what bound() waits for. */
  readonly #listening: Promise<void>;
  #lastAccepted: ConnectionAddress | null = null;
  readonly #ready: Ready[] = [];
  readonly #waiters: AcceptWaiter[] = [];
  /** Connections in their handshake: closed with the Listener. */
  readonly #shaking = new Set<SocketConnection>();

  constructor(address?: ConnectionAddress | null, options: ListenerOptions = {}) {
    const a = checkConnectionArgs('Listener', address, options, true);
    const backlog = a.options.backlog ?? 128;
    if (typeof backlog !== 'number' || !Number.isInteger(backlog))
      throw new TypeError(
        `Listener: backlog must be an integer: received ${describeValue(backlog)}`,
      );
    this.#family = a.family;
    this.#authkey = a.authkey;
    this.#address = a.address;
    const sock = new Socket(a.family === 'AF_INET' ? AF_INET : AF_UNIX);
    this.#sock = sock;
    // Python's SocketListener sets SO_REUSEADDR on POSIX.
    if (a.family === 'AF_INET') sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    sock.bind(a.address);
    const path = a.family === 'AF_UNIX' ? (a.address as string) : null;
    const ours = path !== null && !path.startsWith('\0') ? path : null;
    const listening = sock.listen(Math.max(backlog, 0));
    // An IP literal or a path is bound by now, on either transport (weft's own descriptor, or
    // Node's net through listenNow): the address is the kernel's, as after Python's bind. A host
    // name is bound once Node has resolved it, when listening resolves.
    this.#noteAddress();
    this.#listening = listening.then(
      () => {
        // The socket's file is ours once bound (a failed bind's path may be another's).
        this.#unlink = ours;
        if (this.#closed) this.#removeFile();
        this.#noteAddress();
        void this.#serve();
      },
      (e: unknown) => {
        // Closed before it was bound: the socket's own EBADF says less than the Listener's error.
        this.#listenError = this.#closed ? closedError() : e;
        this.#failWaiters(e);
      },
    );
  }

  #noteAddress(): void {
    if (this.#closed) return;
    try {
      const a = this.#sock.getsockname();
      if (this.#family === 'AF_UNIX' || (Array.isArray(a) && a[1] !== 0)) this.#address = a;
    } catch {
      // Closed meanwhile: the address stays the last known.
    }
  }

  /**
   * The address listened on: for `[host, 0]`, the port the system chose — known from the
   * constructor on for an IP literal, `'localhost'` or a path, as in Python.
   * @throws OSError (`ERR_WEFT_LISTENER_NOT_BOUND`) for `[hostName, 0]` until Node has resolved
   * the name and bound: `await bound()` first. The error binding failed with (EADDRINUSE…), or
   * OSError (`ERR_WEFT_LISTENER_CLOSED`) when closed, if no port was ever known.
   */
  get address(): ConnectionAddress {
    const a = this.#address;
    if (typeof a === 'string' || a[1] !== 0) return a;
    if (this.#closed) throw closedError();
    if (this.#listenError !== null) throw this.#listenError;
    throw new OSError(
      `Listener.address: the port of ${describeValue(a[0])} is not known yet (Node binds a host name once it has resolved it): await listener.bound() first, which gives the address or the error binding failed with; an IP literal or 'localhost' is bound at once`,
      '',
      'ERR_WEFT_LISTENER_NOT_BOUND',
    );
  }

  /**
   * Resolves to `address` once the Listener is bound: at once for an IP literal, `'localhost'`
   * or a path; for another host name, once Node has resolved it (Python's constructor binds
   * before it returns; Node cannot resolve a name synchronously).
   * @throws the error binding failed with (EADDRINUSE…); OSError when the Listener was closed
   * before it was bound.
   */
  async bound(): Promise<ConnectionAddress> {
    await this.#listening;
    // Even once closed: a Listener that never bound must not look bound.
    if (this.#listenError !== null) throw this.#listenError;
    return this.address;
  }

  /** The peer address of the last connection `accept()` returned (null before the first). */
  get lastAccepted(): ConnectionAddress | null {
    return this.#lastAccepted;
  }

  /** Accepts connections and runs their handshakes until the Listener closes. */
  async #serve(): Promise<void> {
    for (;;) {
      let conn: Socket;
      let peer: ConnectionAddress;
      try {
        [conn, peer] = (await this.#sock.accept()) as [Socket, ConnectionAddress];
      } catch (e) {
        if (this.#closed) return;
        // accept(2) failed (EMFILE…): raised by accept(), as Python's; tried again shortly.
        this.#push({ error: e });
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      if (this.#family === 'AF_INET') conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      const c = new SocketConnection(conn);
      this.#shaking.add(c);
      listenerHandshake(c, this.#authkey).then(
        () => {
          this.#shaking.delete(c);
          if (this.#closed) c.close();
          else this.#push({ conn: c, address: peer });
        },
        (e: unknown) => {
          this.#shaking.delete(c);
          c.close();
          if (!this.#closed) this.#push({ error: e });
        },
      );
    }
  }

  #push(r: Ready): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(r);
    else this.#ready.push(r);
  }

  #failWaiters(e: unknown): void {
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  /**
   * Resolves to the next connection whose handshake succeeded, as a `Connection`.
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects with its reason; the connection it would have had goes to the next `accept()`.
   * @throws AuthenticationError when that connection's handshake failed (a wrong authkey, or an
   * authkey on one side only): the connection is closed, the Listener goes on.
   * @throws OSError when the Listener is closed (or is closed while this waits); the error
   * listening failed with (EADDRINUSE…).
   */
  async accept(options: AcceptOptions = {}): Promise<Connection> {
    const signal = checkSignal('Listener.accept', options?.signal) ?? currentTaskSignal();
    if (this.#closed) throw closedError();
    if (this.#listenError !== null) throw this.#listenError;
    if (signal?.aborted) throw signal.reason;
    let r = this.#ready.shift();
    if (r === undefined) {
      r = await new Promise<Ready>((resolve, reject) => {
        const w: AcceptWaiter = {
          resolve: (x) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(x);
          },
          reject: (e) => {
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        };
        const onAbort = (): void => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiters.push(w);
      });
    }
    if ('error' in r) throw r.error;
    this.#lastAccepted = r.address;
    return r.conn;
  }

  /**
   * Stops listening: connections not yet accepted are closed, `accept()`s waiting reject with
   * OSError, and a Unix socket's file is removed. Connections already accepted stay open.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
    for (const c of this.#shaking) c.close();
    this.#shaking.clear();
    for (const r of this.#ready.splice(0)) if ('conn' in r) r.conn.close();
    this.#failWaiters(
      new OSError(
        'listener is closed: close() was called while accept() waited',
        'EBADF',
        'ERR_WEFT_LISTENER_CLOSED',
      ),
    );
    this.#removeFile();
  }

  #removeFile(): void {
    const path = this.#unlink;
    this.#unlink = null;
    if (path === null) return;
    try {
      unlinkSync(path);
    } catch {
      // Removed already.
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** A Listener stays in its process: a child makes its own, or connects with Client(). */
  [kShared](): never {
    return refuseToSend(
      'A Listener',
      'pass its address instead, and connect there with Client(address) (or make a Listener there)',
    );
  }
}
