/**
 * `socket.socket`: an async socket with Python's verbs, on a transport that reads for it.
 *
 * Implementation notes
 * --------------------
 * The transport owns the file descriptor and its readiness: it reads whatever arrives into user
 * space and queues whatever is written. A weft socket therefore keeps the bytes it read in a
 * `StreamReader` (recv(n) takes up to n of them, in order, nothing lost between calls) and
 * writes through a `StreamWriter` (its `drain` is the back pressure of `sendall`). Two
 * transports, one surface:
 *
 *   listen() on / connect() to an IP        weft's own descriptor (src/streams/raw-transport.ts,
 *   literal (AF_INET or AF_INET6; connect   weft/streams' transport): accept(2), recv(2), send(2)
 *   from an unbound socket), weft_io addon  from weft's epoll set, for the listener and every
 *   built                                   connection it accepts or makes
 *   everything else (Unix, a host name,     Node's `net` (libuv's epoll/kqueue)
 *   WEFT_SOCKET_TRANSPORT=net, no addon)
 *
 * The raw one costs about a third of the CPU per message that Node's streams cost (the echo
 * bench of 2026-12-03 15:32 UTC: 9.6 µs a request against 27.3 µs at 10:46; docs/socket.md).
 * A raw connection waiting in the accept queue reads nothing: it emits what it reads at once,
 * and nobody listens until accept() wires its reader. Python's modes map onto the transport:
 *
 *   blocking (default)   recv/accept/connect/send wait (Promises), through the waiter engine,
 *                        so cancelling the task interrupts them
 *   settimeout(ms)       the same, failing with TimeoutError after ms
 *   setblocking(false)   nothing waits: a call that would raises BlockingIOError
 *   …Nowait twins        synchronous, never wait (the selectors callbacks use them)
 *
 * "Readable" means the transport has bytes, EOF or an error for us; "writable" means its send
 * queue is below its high-water mark. `weft/selectors` watches both through `_watch`.
 *
 * A connection the transport accepted waits in `pending` (insertion-ordered) until `accept()`
 * takes it; one that dies there is dropped, since no user code saw it.
 */
import {
  createServer,
  isIPv4,
  isIPv6,
  type Server as NetServer,
  Socket as NetSocket,
  connect as netConnect,
} from 'node:net';
import { constants as osConstants } from 'node:os';
import { argumentError, describeValue, rangeError, TimeoutError } from '../internal/errors.js';
import { claimFdSlot, holdExitUntilSent, passedFd } from '../internal/process/fd-handoff.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { wireStreams } from '../streams/protocol.js';
import { EPOLLOUT, unwatch, watch } from '../streams/raw-poller.js';
import { RawListener, RawTransport } from '../streams/raw-transport.js';
import type { StreamReader } from '../streams/stream-reader.js';
import type { StreamWriter } from '../streams/stream-writer.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  fitsCInt,
  IPPROTO_TCP,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from './constants.js';
import { withErrnoClass } from './errno-class.js';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionResetError,
  checkUnixPathLength,
  fromErrno,
  fromSystemError,
  GaiError,
  OSError,
} from './errors.js';
import { type IoBinding, io } from './native-io.js';
import { listenNow } from './net-listen.js';
import {
  type DetachedConnection,
  type DetachedRaw,
  detachConnection,
  detachRawConnection,
  type PassedSocket,
  reattachConnection,
  reattachRawConnection,
  SOCKET_KIND,
  untilSent,
} from './socket-handoff.js';

/** `[host, port]` for AF_INET/AF_INET6, a filesystem path for AF_UNIX. */
export type SocketAddress = [host: string, port: number] | string;

/** @internal What `_giveToStreams` hands over. */
export type GivenToStreams =
  | {
      kind: 'connection';
      ns: NetSocket;
      /** Bytes received and not read: the new reader's first. */
      buffered: Buffer | null;
      /** The failure after them, for the new reader. */
      error: unknown;
      /** The peer's EOF was read already (the transport will not report it again). */
      eof: boolean;
      /** The names of a Unix connection (its socket cannot tell them), or null. */
      unix: { peername: string; sockname: string } | null;
    }
  | {
      kind: 'listener';
      server: NetServer | RawListener;
      /** The connections it accepted already, in order. */
      pending: NetSocket[];
      unixPath: string | null;
    }
  | { kind: 'fresh' };

export interface SocketWaitOptions {
  signal?: AbortSignal;
}

const FRESH = 0;
const CONNECTING = 1;
const CONNECTED = 2;
const LISTENING = 3;
const FAILED = 4;
const CLOSED = 5;
type State = 0 | 1 | 2 | 3 | 4 | 5;

/** How a verb treats the socket's blocking mode: Python's methods obey it, loop verbs wait. */
const OBEY = 0;
/** @internal Mode of the loop verbs (src/socket/loop-verbs.ts). */
export const WAIT = 1;

const EMPTY = Buffer.alloc(0);
/** ENOTCONN (libuv and the weft_io addon report it negated). */
const ENOTCONN = osConstants.errno.ENOTCONN;
const EAGAIN = osConstants.errno.EAGAIN;
const noop = (): void => {};
/** The errors failed connects raised: a socket whose connect failed stays open (`_connect`). */
const CONNECT_FAILURES = new WeakSet<object>();
const isConnectFailure = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && CONNECT_FAILURES.has(e);
/**
 * The connect failures the handshake itself reported (what getsockopt(SO_ERROR) takes after a
 * non-blocking connect: refused, timed out, host unreachable, reset), as opposed to a name
 * lookup's error or one connect(2) returned at once (ENETUNREACH, EADDRNOTAVAIL, EACCES…).
 */
const HANDSHAKE_FAILURES = new WeakSet<object>();
/** The errno codes Node's net reports for a handshake that failed (its other connect errors,
 * connect(2)'s own, fail before any handshake; a lookup's are not connect's at all). */
const HANDSHAKE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ECONNRESET',
]);

/**
 * A TCP (IPv4/IPv6) or Unix stream socket with Python's verbs: `bind`, `listen`, `accept`,
 * `connect`, `recv(n)`, `send`, `sendall`, `shutdown`, `close`, `setblocking`, `settimeout`,
 * `setsockopt`, `getpeername`, `getsockname`, `fileno`.
 *
 * Calls that can wait return Promises; `recv` resolves to an empty buffer at EOF. Errors are
 * Python's: `ConnectionResetError` on a reset (once the bytes that came before it are read),
 * `BrokenPipeError` when sending on a closed connection or after `shutdown(SHUT_WR)`,
 * `ConnectionRefusedError`, `BlockingIOError` in non-blocking mode, `TimeoutError` after
 * `settimeout(ms)`; `TypeError` for an argument of the wrong type, `RangeError` (Python's
 * ValueError) for a bad value.
 *
 * Differences from CPython, by necessity: `bind` only records the address and `listen()` binds
 * and listens in one step (Node has no bind-without-listen), so errors such as `EADDRINUSE`
 * come from `await listen()`; only stream sockets exist.
 *
 * **Cancellation:** a cancelled `recv` consumes nothing; a cancelled `accept` leaves the
 * connection queued for the next `accept`; a cancelled (or timed-out) `connect` closes the
 * socket, while one that fails (refused, unreachable) leaves it open to connect again.
 *
 * @example
 * using srv = new Socket(AF_INET, SOCK_STREAM);
 * srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
 * srv.bind(['127.0.0.1', 0]);
 * await srv.listen();
 * const [conn] = await srv.accept();
 */
export class Socket {
  readonly family: number;
  readonly type: number;
  readonly proto: number;
  private state: State = FRESH;
  private failure: unknown = null;
  private timeoutMs: number | null = null;
  private bound: SocketAddress | null = null;
  private readonly opts = { reuseAddr: 0, noDelay: 0, keepAlive: 0 };
  private netSock: NetSocket | null = null;
  /** Node's server, or a listener on weft's own descriptor (see `listenRaw`). */
  private server: NetServer | RawListener | null = null;
  private reader: StreamReader | null = null;
  private writer: StreamWriter | null = null;
  private readonly pending = new Set<NetSocket>();
  private readonly acceptWaiters = new WaiterList();
  private readonly stateWaiters = new WaiterList();
  /**
   * A recv of one task waits on the reader; the recvs of other tasks wait here for their turn,
   * in order, as a second thread's blocking recv waits in Python (the reader takes one waiting
   * read at a time). `recvBusy`: a recv holds the turn (waits on the reader, or was woken from
   * `recvWaiters` and has not resumed yet); it passes straight to the next (`passRecvTurn`).
   */
  private recvBusy = false;
  private readonly recvWaiters = new WaiterList();
  private watchers: Set<() => void> | null = null;
  private fd = -1;
  private peer: SocketAddress | null = null;
  private local: SocketAddress | null = null;
  private readShut = false;
  /** shutdown(SHUT_WR or SHUT_RDWR) was called: sending raises EPIPE, as send(2) does. */
  private writeShut = false;
  /**
   * shutdown() was made while connecting and the kernel's connection was confirmed made then
   * (`shutdownConnecting`): recv and send answer at once, as on the connection. Without that
   * confirmation (Node's net had not issued connect(2) yet) they wait for the outcome.
   */
  private shutConnected = false;
  private backlog = 128;
  /** The `listen()` waiting for Node's server to listen (net transport), or null. */
  private listenWaiter: Waiter<void> | null = null;
  /** A connection being handed to a child process (between prepare and commit). */
  private detached: DetachedConnection | DetachedRaw | null = null;
  private releasing = false;
  /** A descriptor of weft's own still connecting (see `startConnectRaw`), or -1. */
  private connectingFd = -1;
  /** A non-blocking connect raised BlockingIOError and no connect has reported its outcome since
   * (the next connect after it completes returns, as connect(2) does). */
  private connectUnreported = false;
  /**
   * The connection's failure (its reset…) was raised once, by a recv or a send. The kernel keeps
   * it as the socket's pending error and the first recv(2) or send(2) to see it clears it: after
   * that recv returns 0 and send fails with EPIPE, as Python's do.
   */
  private failureReported = false;
  /**
   * The error an unconnected socket holds for its next recv, send or getsockopt(SO_ERROR): a
   * connect aborted by `shutdown()` (ECONNRESET, as Linux's shutdown(2) of a socket in SYN_SENT
   * leaves it), reported once; a new connect drops it.
   */
  private pendingError: OSError | null = null;

  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0) {
    checkInt('Socket(): family', family);
    checkInt('Socket(): type', type);
    checkInt('Socket(): proto', proto);
    if (family !== AF_INET && family !== AF_INET6 && family !== AF_UNIX) {
      throw new OSError(
        `Address family not supported: received ${describeValue(family)} (AF_INET, AF_INET6 or AF_UNIX)`,
        'EAFNOSUPPORT',
      );
    }
    if (type !== SOCK_STREAM) {
      throw new OSError(
        `Only SOCK_STREAM sockets are supported: received type ${describeValue(type)}`,
        'ESOCKTNOSUPPORT',
      );
    }
    this.family = family;
    this.type = type;
    this.proto = proto;
  }

  // ── modes ────────────────────────────────────────────────────────────────────────────────

  /**
   * `setblocking(false)` makes every verb raise `BlockingIOError` instead of waiting.
   * @throws {OSError} EBADF after `close()`, as Python's.
   */
  setblocking(flag: boolean): void {
    // Python takes a bool or an int (its truth); None, a str or a float is a TypeError.
    if (typeof flag !== 'boolean' && !Number.isInteger(flag)) {
      throw argumentError('setblocking(): flag must be a boolean (or an integer)', flag);
    }
    this.checkOpen();
    this.timeoutMs = flag ? null : 0;
  }

  getblocking(): boolean {
    return this.timeoutMs !== 0;
  }

  /**
   * Milliseconds a verb may wait before `TimeoutError`; 0 is non-blocking, null waits for ever.
   * @throws {OSError} EBADF after `close()` (a bad argument is reported first), as Python's.
   */
  settimeout(ms: number | null): void {
    if (ms !== null) {
      if (typeof ms !== 'number') {
        throw argumentError('settimeout(): timeout must be a number of ms or null', ms);
      }
      if (Number.isNaN(ms) || ms < 0) {
        throw rangeError('settimeout(): timeout must be a number of ms >= 0 or null', ms);
      }
    }
    this.checkOpen();
    this.timeoutMs = ms;
  }

  gettimeout(): number | null {
    return this.timeoutMs;
  }

  /**
   * Sets an option. Supported: `SOL_SOCKET/SO_REUSEADDR` (always on for listening sockets under
   * Node; recorded), `SOL_SOCKET/SO_KEEPALIVE`, `IPPROTO_TCP/TCP_NODELAY`.
   * @throws {OSError} ENOPROTOOPT for any other option; EBADF after `close()`, as Python's.
   */
  setsockopt(level: number, optname: number, value: number | boolean): void {
    // Python's int option is a C int: a float, or an int beyond 32 bits, is a TypeError there.
    if (
      typeof value !== 'boolean' &&
      !(Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31)
    ) {
      throw argumentError('setsockopt(): value must be a 32-bit integer or a boolean', value);
    }
    const v = Number(value) ? 1 : 0;
    const key = this.optionOf(level, optname);
    this.opts[key] = v;
    const s = this.netSock;
    if (s !== null) {
      if (key === 'noDelay') s.setNoDelay(v === 1);
      else if (key === 'keepAlive') s.setKeepAlive(v === 1);
    }
  }

  /**
   * An option's value; `SOL_SOCKET/SO_ERROR` is the socket's pending error number (0: none) — a
   * failed non-blocking connect's, a reset not yet raised — and, as getsockopt(2), clears it: the
   * next recv does not raise it again.
   * @throws {OSError} ENOPROTOOPT for an option `setsockopt` does not take; EBADF after `close()`.
   */
  getsockopt(level: number, optname: number): number {
    if (level === SOL_SOCKET && optname === SO_ERROR) {
      this.checkOpen();
      const e = this.takePendingError();
      return e instanceof OSError ? e.errno : 0;
    }
    return this.opts[this.optionOf(level, optname)];
  }

  /**
   * The error the kernel would hold as the socket's SO_ERROR, taken (reported once), or null: a
   * connect's failure nobody has seen, an aborted connect's reset, a connection's reset not yet
   * raised by a recv or a send.
   */
  private takePendingError(): unknown {
    if (this.pendingError !== null) {
      const e = this.pendingError;
      this.pendingError = null;
      return e;
    }
    if (this.failureReported) return null;
    let e: unknown = null;
    if (this.state === FAILED && isConnectFailure(this.failure)) e = this.failure;
    else if (this.state === CONNECTED) {
      const x = this.reader?.exception();
      if (x instanceof OSError && !(x instanceof BrokenPipeError)) e = x;
    }
    if (e !== null) this.failureReported = true;
    return e;
  }

  /** The option's slot: the arguments' types first, then a closed socket (Python's kernel says
   * EBADF before it looks at the option), then an unknown option. */
  private optionOf(level: number, optname: number): 'reuseAddr' | 'noDelay' | 'keepAlive' {
    checkInt('setsockopt()/getsockopt(): level', level);
    checkInt('setsockopt()/getsockopt(): optname', optname);
    this.checkOpen();
    return optionKey(level, optname);
  }

  // ── addresses ────────────────────────────────────────────────────────────────────────────

  /**
   * Records the local address; `listen()` or `connect()` binds it. A socket whose connect failed
   * may be bound too (its error stays pending, as Python shows).
   */
  bind(address: SocketAddress): void {
    this.checkOpen();
    const failed = this.state === FAILED && isConnectFailure(this.failure);
    if ((this.state !== FRESH && !failed) || this.bound !== null) {
      throw new OSError('Invalid argument: the socket is already bound', 'EINVAL');
    }
    this.bound = checkAddress(this.family, address, 'bind');
  }

  /**
   * The remote address.
   * @throws {OSError} ENOTCONN when not connected — nor any more, once the connection failed (a
   *   reset: the kernel's socket is closed then, as Python's getpeername says).
   */
  getpeername(): SocketAddress {
    this.checkOpen();
    if (this.peer === null || this.connectionClosed()) {
      throw new OSError('Transport endpoint is not connected', 'ENOTCONN');
    }
    return this.peer;
  }

  /**
   * The kernel's connection is over (TCP's CLOSE state): the peer reset it, or both directions
   * were shut down and the peer's FIN arrived. Linux's getpeername(2) and shutdown(2) say
   * ENOTCONN then, as Python's show. The transport stops reading at EOF, so a reset after the
   * peer's FIN reaches no reader: the descriptor itself is asked.
   */
  private connectionClosed(): boolean {
    if (this.state !== CONNECTED) return false;
    if (this.reader?.exception() instanceof OSError) return true;
    const ns = this.netSock;
    if (ns === null || ns.destroyed) return true;
    if (this.family === AF_UNIX) return false;
    if (ns instanceof RawTransport) {
      const a = io?.addressOf(ns.fd, true);
      return a === -ENOTCONN;
    }
    const h = (ns as unknown as { _handle?: { getpeername?: (out: object) => number } })._handle;
    return typeof h?.getpeername === 'function' && h.getpeername({}) === -ENOTCONN;
  }

  /** The local address (`['0.0.0.0', 0]` before it is bound). */
  getsockname(): SocketAddress {
    this.checkOpen();
    if (this.local !== null) return this.local;
    if (this.bound !== null) return this.bound;
    // A raw connect(2) in progress has its local address already (the kernel chose the port).
    if (this.connectingFd >= 0) {
      const a = io?.addressOf(this.connectingFd, false);
      if (Array.isArray(a)) return [a[0], a[1]];
    } else if (this.state === CONNECTING && this.netSock !== null && this.family !== AF_UNIX) {
      const a = this.netSock.address();
      if ('port' in a) return [a.address, a.port];
    }
    return this.family === AF_UNIX ? '' : [this.family === AF_INET6 ? '::' : '0.0.0.0', 0];
  }

  /**
   * The operating system's descriptor number, or -1 before it exists and after `close()`. For
   * display and as a key; the transport owns the descriptor, so do not read or write it yourself.
   */
  fileno(): number {
    if (this.state === CLOSED) return -1;
    if (this.state === CONNECTING) {
      // Python's descriptor exists from socket(); ours from connect(2) on (raw or net's).
      if (this.connectingFd >= 0) return this.connectingFd;
      if (this.netSock !== null) return handleFd(this.netSock);
    }
    return this.fd;
  }

  // ── server side ──────────────────────────────────────────────────────────────────────────

  /**
   * Binds (to the address given to `bind`, or any address and a free port) and listens. Await
   * it: binding errors such as `EADDRINUSE` arrive here. An IP literal is bound before the call
   * returns, on either transport (`getsockname()` has the port at once, as after Python's
   * `bind`); a host name once Node has resolved it. Connections arriving before `accept`
   * wait in a queue. A failed `listen` leaves the socket open and unbound, as Python's failed
   * `bind` does: `bind` another address and `listen` again.
   */
  listen(backlog = 128): Promise<void> {
    // A bad argument or a closed socket rejects, as every verb that returns a promise does.
    try {
      this.checkOpen();
      checkInt('listen(): backlog', backlog);
      // Python's OverflowError ('signed integer is greater than maximum'): listen(2) takes an int.
      if (!fitsCInt(backlog)) {
        throw rangeError('listen(): backlog must fit a C int (32 bits)', backlog);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.state === LISTENING) return Promise.resolve();
    if (this.state !== FRESH) {
      return Promise.reject(new OSError('Invalid argument: the socket is connected', 'EINVAL'));
    }
    // Python's listen() takes a negative backlog as 0.
    this.backlog = Math.max(backlog, 0);
    this.pendingError = null; // an aborted connect's reset goes with the connect
    const raw = this.rawAddress();
    if (raw !== null) return this.listenRaw(raw[0], raw[1], this.backlog);
    const addr = this.bound;
    if (this.family === AF_UNIX && typeof addr !== 'string') {
      return Promise.reject(
        new OSError('An AF_UNIX socket must be bound to a path first', 'EINVAL'),
      );
    }
    const w = new Waiter<void>(this);
    const server = this.serve(w);
    this.listenWaiter = w;
    if (this.family === AF_UNIX) {
      server.listen({ path: addr as string, backlog: this.backlog });
    } else {
      const [host, port] = (addr as [string, number] | null) ?? [
        this.family === AF_INET6 ? '::' : '0.0.0.0',
        0,
      ];
      try {
        listenNow(
          server,
          {
            host: host === '' ? (this.family === AF_INET6 ? '::' : '0.0.0.0') : host,
            port,
            backlog: this.backlog,
            ipv6Only: this.family === AF_INET6,
          },
          this.family === AF_INET6 ? 6 : 4,
        );
      } catch (e) {
        // A program's own dns.lookup may throw for the name: a promise verb rejects rather than
        // throws, and the socket stays open and unbound for another bind and listen.
        const exc = withErrnoClass(fromSystemError(e, 'listen'));
        this.listenWaiter = null;
        this.listenFailed(exc);
        return Promise.reject(exc);
      }
    }
    // Bound already (a path, an IP literal: see listenNow): the kernel's address and the
    // descriptor are known now, as after Python's bind and on weft's own descriptor, not only
    // once 'listening' is emitted.
    if (server.listening) this.noteListening(server);
    return w.block();
  }

  /** Node's server has bound: its address and descriptor are the socket's. */
  private noteListening(server: NetServer): void {
    const a = server.address();
    this.local = typeof a === 'string' ? a : a === null ? this.getsockname() : [a.address, a.port];
    this.fd = handleFd(server);
  }

  /**
   * The address to listen on with weft's own descriptor, or null for Node's server: the weft_io
   * addon is there, the socket is AF_INET with an IPv4 literal or AF_INET6 with an IPv6 one
   * (IPv6-only, as on net: an addon built before it could say so is not used for IPv6), and
   * WEFT_SOCKET_TRANSPORT is not 'net'.
   */
  private rawAddress(): [string, number] | null {
    if (io === null || process.env.WEFT_SOCKET_TRANSPORT === 'net') return null;
    const v6 = this.family === AF_INET6;
    if (!v6 && this.family !== AF_INET) return null;
    if (v6 && io.setsockoptInt === undefined) return null;
    const any = v6 ? '::' : '0.0.0.0';
    const [host, port] = (this.bound as [string, number] | null) ?? [any, 0];
    const h = host === '' ? any : host;
    return (v6 ? isIPv6(h) : isIPv4(h)) ? [h, port] : null;
  }

  /**
   * Listens on a descriptor of weft's own (src/streams/raw-transport.ts, as weft/streams does):
   * connections are accepted from weft's epoll set and read and written with recv(2)/send(2),
   * without Node's stream machinery per message. Everything above the transport (the reader,
   * the writer, the verbs) is the same. Binding errors come at once.
   */
  private listenRaw(host: string, port: number, backlog: number): Promise<void> {
    const fd = (io as NonNullable<typeof io>).listen(host, port, backlog, this.family === AF_INET6);
    if (fd < 0) {
      const exc = withErrnoClass(fromErrno(-fd, 'listen'));
      this.listenFailed(exc);
      return Promise.reject(exc);
    }
    let listener: RawListener;
    try {
      listener = new RawListener(fd, host); // closes fd if epoll refuses it
    } catch (e) {
      this.listenFailed(e);
      return Promise.reject(e);
    }
    this.server = listener;
    this.state = LISTENING;
    listener.on('connection', (t: RawTransport) => this.onConnection(t as unknown as NetSocket));
    this.local = [host, (listener.address() as { port: number }).port];
    this.fd = fd;
    return Promise.resolve();
  }

  /**
   * Binding or listening failed: as after Python's failed `bind` (bind and listen are one step
   * here), the socket is open, unbound and not listening — `bind` and `listen` may be called
   * again.
   */
  private listenFailed(exc: unknown): void {
    this.server = null;
    this.state = FRESH;
    this.bound = null;
    this.local = null;
    this.fd = -1;
    // An accept made while a Node listen was under way (its failure comes later) ends with the
    // listen's error, and a select() watching the socket wakes, as when the socket failed.
    this.failWaiters(exc);
    this.notify();
  }

  /** A Node server feeding this socket's accept queue; `w` learns how listening went. */
  private serve(w: Waiter<void> | null): NetServer {
    const server = createServer({ allowHalfOpen: true });
    this.server = server;
    this.state = LISTENING;
    server.on('connection', (ns) => this.onConnection(ns));
    const onError = (err: Error): void => {
      // Stopped by shutdown() before it listened: its listen() has ended already.
      if (this.server !== server && this.state !== CLOSED) return;
      const exc = withErrnoClass(
        fromSystemError(err, 'listen'),
        this.family === AF_UNIX && typeof this.bound === 'string' ? this.bound : null,
      );
      // A listen() call learns it failed; the socket stays open for another bind and listen.
      if (w !== null && this.state === LISTENING && this.server === server) {
        this.listenFailed(exc);
        if (this.listenWaiter === w) this.listenWaiter = null;
        w.fail(exc);
        return;
      }
      this.fail(exc);
      if (this.listenWaiter === w) this.listenWaiter = null;
      w?.fail(exc);
    };
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      // Stopped (shutdown) or closed before it listened: not this socket's server any more.
      if (this.server !== server) return;
      server.on('error', (err) => this.fail(fromSystemError(err, 'accept')));
      this.noteListening(server);
      if (this.listenWaiter === w) this.listenWaiter = null;
      w?.wake(undefined);
    });
    return server;
  }

  private onConnection(ns: NetSocket): void {
    if (this.state !== LISTENING) {
      ns.destroy();
      return;
    }
    // Until accept() wires it, a connection that fails is dropped, not an uncaught error.
    ns.on('error', noop);
    // A raw connection emits what it reads at once, to nobody yet: it reads nothing until
    // accept() has wired its reader (a net.Socket buffers in its own stream instead).
    if (ns instanceof RawTransport) ns.pause();
    ns.once('close', () => this.pending.delete(ns));
    this.pending.add(ns);
    this.acceptWaiters.shift()?.wake(undefined);
    this.notify();
  }

  /**
   * Waits for a connection and resolves to `[conn, address]`. The new socket is blocking.
   * @throws {BlockingIOError} non-blocking and no connection is waiting.
   */
  accept(options?: SocketWaitOptions): Promise<[Socket, SocketAddress]> {
    return this._accept(OBEY, options);
  }

  /** `accept()` that never waits. @throws {BlockingIOError} when no connection is waiting. */
  acceptNowait(): [Socket, SocketAddress] {
    this.needState(LISTENING, 'accept');
    const ns = this.takePending();
    if (ns === null) throw new BlockingIOError();
    return this.wrapAccepted(ns);
  }

  /** @internal */
  async _accept(mode: number, options?: SocketWaitOptions): Promise<[Socket, SocketAddress]> {
    for (;;) {
      this.needState(LISTENING, 'accept');
      const ns = this.takePending();
      if (ns !== null) return this.wrapAccepted(ns);
      if (mode === OBEY && this.timeoutMs === 0) throw new BlockingIOError();
      const w = new Waiter<void>(this);
      this.acceptWaiters.push(w);
      // A wake-up refused by a cancelled task goes to the next acceptor.
      w.onRevoke = () => this.acceptWaiters.shift()?.wake(undefined);
      await this.block(w, mode, options);
    }
  }

  private takePending(): NetSocket | null {
    for (const ns of this.pending) {
      this.pending.delete(ns);
      ns.off('error', noop);
      return ns;
    }
    return null;
  }

  private wrapAccepted(ns: NetSocket): [Socket, SocketAddress] {
    // weft's accept(2) turns TCP_NODELAY on (weft/streams wants it); a socket's default is
    // Python's and net's: off until setsockopt says otherwise.
    if (ns instanceof RawTransport) ns.setNoDelay(false);
    const s = new Socket(this.family, SOCK_STREAM, this.proto);
    // Linux's accepted socket inherits the listener's SO_REUSEADDR (Python's getsockopt shows
    // it); Nagle and keep-alive start off, as on the descriptor.
    s.opts.reuseAddr = this.opts.reuseAddr;
    s.attach(ns, this.family === AF_UNIX ? { peername: '', sockname: this.local as string } : null);
    if (ns instanceof RawTransport) ns.resume();
    return [s, s.peer ?? ''];
  }

  // ── client side ──────────────────────────────────────────────────────────────────────────

  /**
   * Connects to `address`. Non-blocking: starts connecting and raises `BlockingIOError`
   * (EINPROGRESS); the socket turns writable when the connection is made, or when it failed:
   * the failure is then pending once, for the first recv, send, `getsockopt(SO_ERROR)` or
   * connect (a connect after it was taken raises ConnectionAbortedError). A failed connect
   * leaves the socket open, to connect again (as on Linux); a cancelled or timed-out one closes
   * it.
   * @throws {ConnectionRefusedError} nothing listens there.
   */
  connect(address: SocketAddress, options?: SocketWaitOptions): Promise<void> {
    return this._connect(address, OBEY, options);
  }

  /** @internal */
  async _connect(address: SocketAddress, mode: number, options?: SocketWaitOptions): Promise<void> {
    this.checkOpen();
    if (this.state === CONNECTED && this.connectUnreported) {
      // As connect(2) on Linux: the first call after a non-blocking connect completed reports
      // success (a `while: try connect / except BlockingIOError: select` loop ends there); the
      // ones after it EISCONN.
      this.connectUnreported = false;
      return;
    }
    if (this.state === CONNECTED || this.state === LISTENING) {
      throw new OSError('Transport endpoint is already connected', 'EISCONN');
    }
    const already = this.state === CONNECTING;
    const addr = already ? null : checkAddress(this.family, address, 'connect');
    // A connect that failed with nobody waiting for it (a non-blocking one): this call reports
    // the failure, as connect(2) reports the pending SO_ERROR — or ConnectionAbortedError
    // (ECONNABORTED) once a recv, a send or getsockopt(SO_ERROR) has taken it, as Linux's — and
    // the next one starts afresh.
    if (this.state === FAILED && isConnectFailure(this.failure)) {
      const exc = this.failureReported
        ? new ConnectionAbortedError(
            'Software caused connection abort: the connect failed, and its error was reported',
          )
        : this.failure;
      this.afterFailedConnect(this.failure);
      throw exc;
    }
    // A connect aborted by shutdown(): its reset is dropped, as connect(2) starts afresh.
    this.pendingError = null;
    if (this.state === FRESH) this.startConnect(addr as SocketAddress);
    // Failed at once (weft's own descriptor: connect(2) refused it synchronously) or earlier.
    // (State changes behind TypeScript's back, in startConnect.)
    if ((this.state as State) !== CONNECTING) throw this.afterFailedConnect(this.failure);
    if (mode === OBEY && this.timeoutMs === 0) {
      this.connectUnreported = true;
      // connect(2)'s errno for a second call while the first is under way: EALREADY.
      if (already) throw new BlockingIOError('Operation already in progress', 'EALREADY');
      throw new BlockingIOError('Operation now in progress', 'EINPROGRESS');
    }
    while (this.state === CONNECTING) {
      const w = new Waiter<void>(this);
      this.stateWaiters.push(w);
      try {
        await this.block(w, mode, options);
      } catch (e) {
        if (isConnectFailure(e)) throw this.afterWaitedConnect(e);
        // Cancelled or timed out: the connection may still be made, by nobody's request.
        this.close();
        throw e;
      }
    }
    // State changes behind TypeScript's back (in event handlers) while we wait.
    if ((this.state as State) !== CONNECTED) throw this.afterWaitedConnect(this.failure);
    // This call reported the connection: the next one raises EISCONN.
    this.connectUnreported = false;
  }

  /** A connect failed (refused, unreachable…) and `exc` is being raised for it: as on Linux,
   * the socket stays open and may connect again. Its descriptor is gone (a failed connection's
   * socket cannot be reused with Node's net, nor, portably, with connect(2)); the next connect
   * makes a new one. Returns `exc`. */
  private afterFailedConnect(exc: unknown): unknown {
    if (this.state === FAILED && this.failure === exc && isConnectFailure(exc)) {
      this.connectUnreported = false;
      this.failureReported = false;
      this.readShut = false;
      this.writeShut = false;
      this.shutConnected = false;
      this.state = FRESH;
      this.failure = null;
      this.netSock = null;
      this.fd = -1;
    }
    return exc;
  }

  /**
   * A connect that waited for the handshake failed with `exc`, raised now. On a socket that is
   * not blocking — timeout mode, or a non-blocking one given to `sockConnect` — Python connects
   * without blocking, polls, and takes the error with getsockopt(SO_ERROR): the socket is left
   * as a failed non-blocking connect whose error was reported — recv gives b'', send raises
   * BrokenPipeError, the next connect ConnectionAbortedError (ECONNABORTED) and the one after it
   * starts afresh. On a blocking socket (`connect`, or `sockConnect`, whose connect(2) blocks
   * there) connect(2) reports the error itself and leaves the socket unconnected
   * (`afterFailedConnect`), as a Unix socket's does in every mode: it fails at once. (A
   * non-blocking `connect` never waits: `mode` is OBEY only in timeout mode here.) Only an
   * error of the handshake takes the first path: a lookup's (GaiError) or one connect(2) returned
   * at once (ENETUNREACH, EADDRNOTAVAIL…) leaves the socket unconnected in every mode — recv
   * raises ENOTCONN and the next connect starts afresh — as Python shows.
   */
  private afterWaitedConnect(exc: unknown): unknown {
    if (
      this.timeoutMs !== null &&
      this.family !== AF_UNIX &&
      this.state === FAILED &&
      this.failure === exc &&
      isConnectFailure(exc) &&
      HANDSHAKE_FAILURES.has(exc as object)
    ) {
      this.connectUnreported = false;
      this.failureReported = true;
      return exc;
    }
    return this.afterFailedConnect(exc);
  }

  /**
   * The connect in progress failed with `exc`: its waiters raise it, the socket stays open.
   * `handshake`: the error is the handshake's (SO_ERROR's), not a lookup's or connect(2)'s own.
   */
  private failConnect(exc: unknown, handshake = false): void {
    if (typeof exc === 'object' && exc !== null) {
      CONNECT_FAILURES.add(exc);
      if (handshake) HANDSHAKE_FAILURES.add(exc);
    }
    this.fail(exc);
  }

  private startConnect(address: SocketAddress): void {
    if (typeof address !== 'string' && this.startConnectRaw(address[0], address[1])) return;
    let ns: NetSocket;
    if (typeof address === 'string') {
      ns = netConnect({ path: address, allowHalfOpen: true });
    } else {
      const local = this.bound as [string, number] | null;
      ns = netConnect({
        host: address[0],
        port: address[1],
        allowHalfOpen: true,
        ...(local !== null ? { localAddress: local[0], localPort: local[1] } : {}),
      });
    }
    this.state = CONNECTING;
    this.netSock = ns;
    const onError = (err: Error): void => {
      const { code, syscall } = err as NodeJS.ErrnoException;
      this.failConnect(
        withErrnoClass(fromSystemError(err, 'connect')),
        syscall === 'connect' && typeof code === 'string' && HANDSHAKE_CODES.has(code),
      );
      ns.destroy();
    };
    ns.once('error', onError);
    ns.once('connect', () => {
      ns.off('error', onError);
      if (this.state !== CONNECTING) {
        ns.destroy();
        return;
      }
      this.attach(ns, typeof address === 'string' ? { peername: address, sockname: '' } : null);
      for (let w = this.stateWaiters.shift(); w !== null; w = this.stateWaiters.shift()) {
        w.wake(undefined);
      }
      this.notify();
    });
  }

  /**
   * connect() on weft's own descriptor (as `listenRaw`): an IP literal of the socket's family,
   * no local address given to `bind`, the addon built with `connect`. The descriptor waits in
   * weft's epoll set for writability, then SO_ERROR says how connecting went. False when this
   * does not apply (Node's `net` connects instead).
   */
  private startConnectRaw(host: string, port: number): boolean {
    const b = io;
    if (b === null || b.connect === undefined || b.getsockoptInt === undefined) return false;
    if (process.env.WEFT_SOCKET_TRANSPORT === 'net' || this.bound !== null) return false;
    if (!(this.family === AF_INET ? isIPv4(host) : this.family === AF_INET6 && isIPv6(host))) {
      return false;
    }
    this.state = CONNECTING;
    const fd = b.connect(host, port);
    if (fd < 0) {
      this.failConnect(withErrnoClass(fromErrno(-fd, 'connect')));
      return true;
    }
    const r = watch(fd, EPOLLOUT, () => this.onConnectReady(fd));
    if (r < 0) {
      b.close(fd);
      this.failConnect(fromErrno(-r, 'epoll_ctl'));
      return true;
    }
    this.connectingFd = fd;
    return true;
  }

  /** The connecting descriptor turned writable (or failed): connected, or why not. */
  private onConnectReady(fd: number): void {
    const b = io as NonNullable<typeof io>;
    unwatch(fd);
    this.connectingFd = -1;
    const err = (b.getsockoptInt as NonNullable<typeof b.getsockoptInt>)(fd, SOL_SOCKET, SO_ERROR);
    if (err !== 0) {
      b.close(fd);
      this.failConnect(fromErrno(err < 0 ? -err : err, 'connect'), true);
      return;
    }
    // Its 'error' (epoll refused it) comes on the next tick, to the reader wired here.
    const t = new RawTransport(fd, false); // connect(2) leaves Nagle on
    this.attach(t as unknown as NetSocket, null);
    for (let w = this.stateWaiters.shift(); w !== null; w = this.stateWaiters.shift()) {
      w.wake(undefined);
    }
    this.notify();
  }

  private attach(ns: NetSocket, unix: { peername: string; sockname: string } | null): void {
    this.netSock = ns;
    this.state = CONNECTED;
    const [reader, writer] = wireStreams(ns, {}, unix ?? undefined, false);
    this.reader = reader;
    this.writer = writer;
    reader._onActivity = () => this.notify();
    ns.on('drain', this.notifyBound);
    ns.on('close', this.notifyBound);
    if (this.opts.noDelay) ns.setNoDelay(true);
    if (this.opts.keepAlive) ns.setKeepAlive(true);
    const peer = writer.getExtraInfo('peername');
    const local = writer.getExtraInfo('sockname');
    this.peer = peer;
    this.local = local;
    this.fd = handleFd(ns);
    // shutdown(SHUT_WR) made while the kernel had connected and this socket not yet learnt it.
    if (this.writeShut) writer.writeEof();
  }

  // ── data ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Resolves to up to `bufsize` bytes: what has arrived, waiting if nothing has; an empty
   * buffer at EOF. Bytes are never lost or reordered between calls.
   * @throws {ConnectionResetError} the peer reset the connection.
   * @throws {BlockingIOError} non-blocking and nothing has arrived.
   */
  recv(bufsize: number, options?: SocketWaitOptions): Promise<Buffer> {
    return this._recv(bufsize, OBEY, options);
  }

  /** `recv` that never waits. @throws {BlockingIOError} when nothing has arrived. */
  recvNowait(bufsize: number): Buffer {
    checkSize('recv', bufsize);
    if (this.state === CONNECTING) {
      // shutdown(SHUT_RD) made there applied to the connection the kernel had made: recv(2)
      // returns 0 (this socket holds none of its bytes yet), as Python shows.
      if (this.readShut && this.shutConnected) return EMPTY;
      throw new BlockingIOError();
    }
    const early = this.recvUnconnected();
    if (early !== null) return early;
    const r = this.connected('recv');
    if (bufsize === 0) return EMPTY;
    const got = this.takeNow(r, bufsize);
    if (got === null) {
      if (this.readShut) return EMPTY;
      throw new BlockingIOError();
    }
    return got;
  }

  /** @internal */
  async _recv(bufsize: number, mode: number, options?: SocketWaitOptions): Promise<Buffer> {
    checkSize('recv', bufsize);
    if (this.state === CONNECTING) {
      if (this.readShut && this.shutConnected) return EMPTY; // as recvNowait's
      await this.untilConnected(mode, options);
    }
    const t = mode === OBEY ? this.timeoutMs : null;
    // The timeout bounds the whole call, a turn waited behind another task's recv included.
    const deadline = t === null || t === 0 ? null : performance.now() + t;
    let r: StreamReader;
    // The turn (`recvBusy`) passes from one recv to the next in line directly (`passRecvTurn`),
    // so a task that calls recv again at once queues behind those already waiting rather than
    // taking the turn back before they resume (it starved them). A recv woken from the queue
    // holds the turn; one that leaves without waiting on the reader (bytes were there, or an
    // error) passes it on.
    let turn = false;
    let reading = false;
    try {
      for (;;) {
        const early = this.recvUnconnected();
        if (early !== null) return early;
        r = this.connected('recv');
        if (bufsize === 0) return EMPTY;
        if (this.recvBusy && !turn && t !== 0) {
          const w = new Waiter<void>(this);
          this.recvWaiters.push(w);
          // A turn refused by a cancelled task goes to the next one.
          w.onRevoke = () => this.passRecvTurn();
          await this.block(w, mode, options, remaining(deadline));
          turn = true;
          continue;
        }
        const got = this.takeNow(r, bufsize);
        if (got !== null) return got;
        // After shutdown(SHUT_RD) Linux's recv(2) returns what the kernel holds (it goes on taking
        // the peer's bytes) and 0 instead of waiting when it holds nothing, as Python's recv shows.
        if (this.readShut) return EMPTY;
        if (t === 0) throw new BlockingIOError();
        reading = true;
        break;
      }
    } finally {
      if (turn && !reading) this.passRecvTurn();
    }
    this.recvBusy = true;
    try {
      return await r.read(bufsize, {
        ...(options?.signal ? { signal: options.signal } : {}),
        timeout: remaining(deadline),
      });
    } catch (e) {
      if (e instanceof TimeoutError && t !== null) throw new TimeoutError('timed out');
      return this.recvFailed(r, e);
    } finally {
      this.passRecvTurn();
    }
  }

  /** The recv turn goes to the first recv waiting for it, or is free when none waits. */
  private passRecvTurn(): void {
    for (let w = this.recvWaiters.shift(); w !== null; w = this.recvWaiters.shift()) {
      if (w.wake(undefined)) return;
    }
    this.recvBusy = false;
  }

  /**
   * recv on a socket that never connected or whose connect failed, as Linux's recv(2): the
   * pending error first (once: a failed non-blocking connect's, an aborted connect's reset), then
   * b'' after a failed connect and ENOTCONN (from `connected`) after an aborted one. Null when
   * this does not apply.
   */
  private recvUnconnected(): Buffer | null {
    if (this.state === FRESH && this.pendingError !== null) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
    if (this.state === FAILED && isConnectFailure(this.failure)) {
      if (this.failureReported) return EMPTY;
      this.failureReported = true;
      throw this.failure;
    }
    return null;
  }

  /** What the reader holds now (null: nothing yet), or the connection's failure, reported once. */
  private takeNow(r: StreamReader, bufsize: number): Buffer | null {
    try {
      return r._recvNowait(bufsize);
    } catch (e) {
      return this.recvFailed(r, e);
    }
  }

  /**
   * A recv met `e`. The connection's failure is raised once, as recv(2) reports the pending
   * error once (then 0 for ever), and never as EPIPE, which only a send reports: a reset is
   * `ConnectionResetError` for the first recv and `b''` after it, as Python's; a send that
   * failed with EPIPE leaves recv with `b''`. Anything else (the socket was closed, the wait was
   * cancelled) is raised as it is.
   */
  private recvFailed(r: StreamReader, e: unknown): Buffer {
    if (this.state !== CONNECTED || e !== r.exception() || !(e instanceof OSError)) throw e;
    if (e instanceof BrokenPipeError || this.failureReported) return EMPTY;
    this.failureReported = true;
    throw e;
  }

  /**
   * The connection's failure for a send to raise: the failure itself the first time (a
   * `ConnectionResetError`, as send(2) reports the pending error), `BrokenPipeError` once a recv
   * or a send has reported it, as Python's.
   */
  private sendFailure(what: string, failure: unknown): unknown {
    if (
      !this.failureReported &&
      failure instanceof OSError &&
      !(failure instanceof BrokenPipeError) &&
      failure === this.reader?.exception()
    ) {
      this.failureReported = true;
      return failure;
    }
    if (failure instanceof BrokenPipeError) this.failureReported = true;
    return new BrokenPipeError(`Broken pipe: ${what}() on a closed connection`, {
      cause: failure,
    });
  }

  /**
   * Sends `data` and resolves to the number of bytes taken (all of them: Node queues what the
   * kernel cannot take yet). Waits first while the send queue is full.
   * @throws {BrokenPipeError} the connection is closed.
   */
  async send(data: Uint8Array | string, options?: SocketWaitOptions): Promise<number> {
    // (After shutdown(SHUT_WR) there, `writable` raises EPIPE at once, as send(2).)
    if (this.state === CONNECTING && !(this.writeShut && this.shutConnected)) {
      checkData('send', data);
      await this.untilConnected(OBEY, options);
    }
    const w = this.writable('send', data);
    if (!w._writable()) {
      if (this.timeoutMs === 0) throw new BlockingIOError();
      await this.drain(w, OBEY, options);
      this.writable('send', data);
    }
    w.write(data);
    return byteLength(data);
  }

  /** `send` that never waits. @throws {BlockingIOError} while the send queue is full. */
  sendNowait(data: Uint8Array | string): number {
    const w = this.writable('send', data);
    if (!w._writable()) throw new BlockingIOError();
    w.write(data);
    return byteLength(data);
  }

  /**
   * @internal `sendNowait` of one whole message (a multiprocessing Connection's frame), made
   * for a peer that is waiting for it: on weft's own descriptor with nothing queued, send(2)
   * here, in the call, as Python's send does — where a small write otherwise waits in the
   * transport's batch for the end of the loop's turn (one phase and a setImmediate later).
   * What the kernel does not take goes to the transport's queue, as any write's rest; a send
   * that fails closes the transport with its error, as the transport's own failed send does,
   * and the next send or recv raises it. Never waits, and never refuses for back pressure:
   * past the high-water mark the frame is queued all the same, as a Connection's send queues.
   * @throws as `sendNowait` for a socket that cannot send (closed, shut down, failed).
   */
  _sendMessage(frame: Buffer): void {
    const w = this.writable('send', frame);
    const ns = this.netSock;
    // `writable` is false once the transport is ended or destroyed: its descriptor number may
    // be another connection's by then. Anything queued (a batched write among it) goes first.
    if (ns instanceof RawTransport && ns.writable && ns.writableLength === 0) {
      const n = (io as IoBinding).send(ns.fd, frame, 0, frame.length);
      if (n === frame.length) return;
      if (n < 0 && n !== -EAGAIN) {
        ns.destroy(fromErrno(-n, 'send'));
        // As after the transport's own failed send: the next send raises the kernel's error.
        w._noticeFailedSend();
        return;
      }
      if (n > 0) {
        w.write(frame.subarray(n));
        return;
      }
    }
    w.write(frame);
  }

  /**
   * Sends all of `data`, then waits while the send queue is above its high-water mark (back
   * pressure: a peer that does not read makes `sendall` wait).
   * @throws {BrokenPipeError} the connection is closed.
   */
  sendall(data: Uint8Array | string, options?: SocketWaitOptions): Promise<void> {
    return this._sendall(data, OBEY, options);
  }

  /** @internal */
  async _sendall(
    data: Uint8Array | string,
    mode: number,
    options?: SocketWaitOptions,
  ): Promise<void> {
    if (this.state === CONNECTING && !(this.writeShut && this.shutConnected)) {
      checkData('sendall', data);
      await this.untilConnected(mode, options);
    }
    const w = this.writable('sendall', data);
    if (mode === OBEY && this.timeoutMs === 0) {
      if (!w._writable()) throw new BlockingIOError();
      w.write(data);
      return;
    }
    w.write(data);
    if (!w._writable()) await this.drain(w, mode, options);
  }

  private async drain(w: StreamWriter, mode: number, options?: SocketWaitOptions): Promise<void> {
    const t = mode === OBEY ? this.timeoutMs : null;
    try {
      await w.drain({ ...(options?.signal ? { signal: options.signal } : {}), timeout: t });
    } catch (e) {
      if (e instanceof TimeoutError && t !== null) throw new TimeoutError('timed out');
      // The connection failed while the bytes waited: reported once, as by `writable`.
      if (this.state === CONNECTED && e instanceof OSError && e === this.reader?.exception()) {
        throw this.sendFailure('sendall', e);
      }
      throw e;
    }
  }

  /**
   * Shuts down reading (`SHUT_RD`), writing (`SHUT_WR`: sends EOF) or both.
   * @throws {OSError} EINVAL for another `how`; ENOTCONN when not connected, or no longer: after
   *   a reset, or once both directions are shut down and the peer's EOF came (as Linux's).
   */
  shutdown(how: number): void {
    checkInt('shutdown(): how', how);
    // shutdown(2)'s order, as Python shows it: EBADF, then EINVAL for `how`, then ENOTCONN.
    this.checkOpen();
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) {
      throw new OSError(
        `Invalid argument: shutdown() how must be SHUT_RD, SHUT_WR or SHUT_RDWR: received ${how}`,
        'EINVAL',
      );
    }
    if (this.state === LISTENING) {
      // Linux: SHUT_WR leaves a listening socket alone; SHUT_RD or SHUT_RDWR stops its listening.
      if (how !== SHUT_WR) this.stopListening();
      return;
    }
    if (this.state === CONNECTING) {
      this.shutdownConnecting(how);
      return;
    }
    // A failed connect leaves the socket unconnected (its error stays pending for recv).
    if (this.state === FAILED && isConnectFailure(this.failure)) {
      throw new OSError('Transport endpoint is not connected (shutdown)', 'ENOTCONN');
    }
    const reader = this.connected('shutdown');
    if (this.connectionClosed()) {
      throw new OSError('Transport endpoint is not connected (shutdown)', 'ENOTCONN');
    }
    if (how !== SHUT_WR && !this.readShut) {
      this.readShut = true;
      // As shutdown(2): a recv blocked now returns b'' (it would otherwise wait for bytes that
      // no recv may return).
      reader._wakeReader();
    }
    if (how !== SHUT_RD) {
      this.writeShut = true;
      this.writer?.writeEof();
    }
  }

  /**
   * shutdown() while this socket's connect is under way, as Linux's shutdown(2) there. If the
   * kernel has connected already (this socket learns it on the loop's next turn: the common case
   * on loopback), the shutdown applies to the connection: recorded now, done when it is wired.
   * If the handshake is still going on (SYN_SENT), the kernel abandons it: the socket is left
   * unconnected with ECONNRESET pending (the next recv, send or getsockopt(SO_ERROR) raises or
   * returns it, once; recv raises ENOTCONN after it and send BrokenPipeError) and a new
   * `connect` starts afresh. A `connect`, `recv` or `send` waiting for the connection raises the
   * ECONNRESET.
   */
  private shutdownConnecting(how: number): void {
    let connected: boolean;
    // Whether the kernel's connection is known to be made (not just assumed, below).
    let confirmed = true;
    if (this.connectingFd >= 0) {
      // Refused already (the kernel knows, this socket learns it on the loop's next turn):
      // getpeername fails there as in SYN_SENT, but Linux's shutdown(2) says ENOTCONN and keeps
      // the refusal pending for the next recv, send or getsockopt(SO_ERROR).
      const fd = this.connectingFd;
      const err = io?.getsockoptInt?.(fd, SOL_SOCKET, SO_ERROR) ?? 0;
      if (err !== 0) {
        unwatch(fd);
        io?.close(fd);
        this.connectingFd = -1;
        this.failConnect(fromErrno(err < 0 ? -err : err, 'connect'), true);
        throw new OSError('Transport endpoint is not connected (shutdown)', 'ENOTCONN');
      }
      connected = Array.isArray(io?.addressOf(fd, true));
    } else if (this.family === AF_UNIX) {
      // A Unix connect(2) completes at once or not at all: there is no handshake to abandon.
      connected = true;
    } else {
      // Node's net calls connect(2) on the next tick (its descriptor is -1 until then): that
      // connect is as good as made (Python's would have gone out with the call), but whether it
      // succeeds is unknown — the shutdown is recorded, and recv and send wait for the outcome
      // (`shutConnected` stays false). After it, the kernel says whether the handshake is done.
      const ns = this.netSock as NetSocket;
      const h = (ns as unknown as { _handle?: { getpeername?: (o: object) => number } })._handle;
      const issued = handleFd(ns) >= 0 && typeof h?.getpeername === 'function';
      connected = !issued || (h as { getpeername: (o: object) => number }).getpeername({}) === 0;
      confirmed = issued;
    }
    if (connected) {
      if (confirmed) this.shutConnected = true;
      if (how !== SHUT_WR) this.readShut = true;
      if (how !== SHUT_RD) this.writeShut = true;
      return;
    }
    if (this.connectingFd >= 0) {
      unwatch(this.connectingFd);
      io?.close(this.connectingFd);
      this.connectingFd = -1;
    }
    const ns = this.netSock;
    this.netSock = null;
    ns?.removeAllListeners('connect');
    ns?.removeAllListeners('error');
    ns?.on('error', noop);
    ns?.destroy();
    this.state = FRESH;
    this.fd = -1;
    this.connectUnreported = false;
    const exc = new ConnectionResetError(
      'Connection reset by peer: shutdown() abandoned the connect under way',
    );
    CONNECT_FAILURES.add(exc);
    // Those waiting for the connection learn of it (the first of them takes the pending error).
    const waited = !this.stateWaiters.empty;
    this.pendingError = waited ? null : exc;
    this.failWaiters(exc);
    this.notify();
  }

  /**
   * shutdown(SHUT_RD) of a listening socket, as Linux's (Python shows it): it stops listening
   * — an accept waiting fails with EINVAL, as every accept after it does, the queued connections
   * are closed, a connect to the address is refused — and stays open, to `listen()` again (on
   * the address given to `bind`: a port 0 picks a new port). `getsockname()` still answers.
   */
  private stopListening(): void {
    const exc = new OSError(
      'Invalid argument: accept() on a socket that stopped listening (shutdown)',
      'EINVAL',
    );
    this.server?.close();
    this.server = null;
    // A listen() still waiting for Node's server ends: it listened, and the shutdown stopped it
    // (Node reports nothing for a server closed before it listened).
    const lw = this.listenWaiter;
    this.listenWaiter = null;
    lw?.wake(undefined);
    for (const ns of this.pending) {
      if (typeof ns.resetAndDestroy === 'function' && !(ns instanceof RawTransport)) {
        ns.resetAndDestroy();
      } else ns.destroy();
    }
    this.pending.clear();
    this.state = FRESH;
    this.fd = -1;
    this.failWaiters(exc);
    this.notify();
  }

  /**
   * Closes the socket. Queued bytes are still sent (as the kernel does after `close(2)`);
   * calls waiting on the socket fail with `OSError` (EBADF). Idempotent.
   */
  close(): void {
    this.shut('closed', true);
  }

  /** Closes this copy; `flush` sends what is queued and then FIN, else the descriptor just goes. */
  private shut(why: string, flush: boolean): void {
    if (this.state === CLOSED) return;
    const prev = this.state;
    this.state = CLOSED;
    const exc = new OSError(`Bad file descriptor: the socket was ${why}`, 'EBADF');
    // (A listening socket handed to children: later Process.start() calls get this error too;
    // every child must be started in the step that handed it over.)
    this.failure = exc;
    if (this.connectingFd >= 0) {
      unwatch(this.connectingFd);
      io?.close(this.connectingFd);
      this.connectingFd = -1;
    }
    if (prev === LISTENING) {
      // A listen() still waiting for Node's server fails as every call waiting on the socket
      // does (Node reports nothing for a server closed before it listened: it waited for ever).
      const lw = this.listenWaiter;
      this.listenWaiter = null;
      lw?.fail(exc);
      this.server?.close();
      for (const ns of this.pending) ns.destroy();
      this.pending.clear();
    }
    if (this.reader !== null && this.reader.exception() === null) this.reader.setException(exc);
    // A sendall waiting for room (a peer that does not read) fails now, as every call waiting
    // on the socket does; the queued bytes still go out after close(), as the kernel's do.
    this.writer?._failDrains(exc);
    if (this.writer !== null && flush) this.writer.close();
    else this.netSock?.destroy();
    this.failWaiters(exc);
    this.notify();
  }

  // ── adopted by weft/streams (openConnection({ sock }), startServer({ sock })) ──────────────

  private readonly notifyBound = (): void => this.notify();

  /**
   * @internal weft/streams takes this socket over (asyncio's `open_connection(sock=)`,
   * `start_server(sock=)`): a connected socket (`want` 'connection') gives its transport, with
   * the bytes received and not yet read and the failure behind them; a listening one
   * ('listener') its listener and the connections waiting for accept() — or, not listening nor
   * connected yet, `{ kind: 'fresh' }`: listen() first, as asyncio listens on the socket it is
   * given. Nothing is taken when the state does not fit, nor when `check` (a connection only:
   * shown what the reader holds) throws. This socket is closed from then on (EBADF): the
   * stream or the server owns the descriptor.
   * @throws {OSError} ENOTCONN (a connection wanted) or EINVAL (a listener wanted) when the
   *   socket is not that; EBADF when closed. What `check` throws.
   */
  _giveToStreams(
    want: 'connection' | 'listener',
    check?: (held: { buffered: number; error: unknown; eof: boolean }) => void,
  ): GivenToStreams {
    if (this.state === CLOSED) throw this.failure;
    if (want === 'connection') {
      if (this.state !== CONNECTED || this.detached !== null) {
        throw new OSError(
          'Transport endpoint is not connected: weft/streams needs a connected socket here',
          'ENOTCONN',
        );
      }
      const ns = this.netSock as NetSocket;
      const reader = this.reader as StreamReader;
      check?.({ buffered: reader.buffered, error: reader.exception(), eof: reader.atEof() });
      // recv's order: the bytes that came before a failure, then the failure.
      const buffered = reader.buffered > 0 ? reader._recvNowait(reader.buffered) : null;
      const error = reader.exception();
      const eof = reader.atEof();
      (this.writer as StreamWriter)._release();
      ns.off('drain', this.notifyBound);
      ns.off('close', this.notifyBound);
      const unix =
        this.family === AF_UNIX
          ? { peername: String(this.peer ?? ''), sockname: String(this.local ?? '') }
          : null;
      this.netSock = null;
      this.reader = null;
      this.writer = null;
      this.givenAway();
      return { kind: 'connection', ns, buffered, error, eof, unix };
    }
    if (this.state === FRESH) return { kind: 'fresh' };
    if (this.state !== LISTENING || this.server === null || this.listenWaiter !== null) {
      throw new OSError(
        'Invalid argument: weft/streams needs a listening socket here (await its listen() first), or one neither listening nor connected',
        'EINVAL',
      );
    }
    const server = this.server;
    // Only this socket listens to its listener: the server takes both events from here on.
    server.removeAllListeners('connection');
    server.removeAllListeners('error');
    const pending = [...this.pending];
    this.pending.clear();
    for (const ns of pending) ns.off('error', noop);
    const unixPath = this.family === AF_UNIX ? String(this.local ?? '') : null;
    this.server = null;
    this.givenAway();
    return { kind: 'listener', server, pending, unixPath };
  }

  /** Closed for its caller: what it owned was taken (and nulled) already, so none of it closes. */
  private givenAway(): void {
    this.fd = -1;
    this.shut('handed to weft/streams', false);
  }

  // ── hand-off to a child process (socket-handoff.ts) ──────────────────────────────────────

  /**
   * @internal How a socket in a Process's args reaches the child: its descriptor is passed at
   * fork and this copy is released here. Anywhere else (pool tasks, queues, threads) this throws
   * NotCloneableError.
   */
  [kShared](): SharedState {
    const out: PassedSocket = {
      slot: -1,
      family: this.family,
      proto: this.proto,
      listening: false,
      backlog: this.backlog,
      peer: this.peer,
      local: this.local,
      buffered: null,
      error: null,
      readShut: this.readShut,
      writeShut: this.writeShut,
    };
    out.slot = claimFdSlot(
      {
        prepare: () => this.prepareHandoff(out),
        commit: () => this.commitHandoff(),
        abort: () => this.abortHandoff(out),
      },
      'socket',
    );
    return { kind: SOCKET_KIND, state: out as unknown as Record<string, unknown> };
  }

  private prepareHandoff(out: PassedSocket): number {
    if (this.state === LISTENING) {
      const server = this.server as NetServer | RawListener;
      const fd = server instanceof RawListener ? server.fileno() : handleFd(server);
      if (fd < 0) {
        throw new OSError(
          'Bad file descriptor: the socket is not listening yet: await listen() before handing it to a child process',
          'EBADF',
        );
      }
      out.listening = true;
      return fd;
    }
    if (this.state !== CONNECTED) {
      if (this.state === CLOSED || this.state === FAILED) throw this.failure;
      throw new OSError(
        'Transport endpoint is not connected: only a connected or listening socket can be handed to a child process',
        'ENOTCONN',
      );
    }
    const ns = this.netSock as NetSocket;
    if (ns instanceof RawTransport) {
      const d = detachRawConnection(ns, this.reader as StreamReader, out);
      this.detached = d;
      return d.fd;
    }
    const d = detachConnection(ns, this.reader as StreamReader, out);
    this.detached = d;
    return d.handle.fd;
  }

  private commitHandoff(): void {
    const d = this.detached;
    if (d !== null) {
      this.detached = null;
      // close(2) of this copy only (the transport's destroy does that for a raw one).
      if ('handle' in d) d.handle.close();
      this.shut('handed to a child process', false);
      return;
    }
    // A listening socket: the children accept now. The parent's copy goes once the current
    // synchronous code is done, so that every child started in the same step gets it, and
    // before the event loop can accept a connection here that a child should have had.
    if (this.releasing) return;
    this.releasing = true;
    queueMicrotask(() => this.shut('handed to child processes', false));
  }

  private abortHandoff(out: PassedSocket): void {
    const d = this.detached;
    if (d === null) return;
    this.detached = null;
    if ('handle' in d)
      reattachConnection(this.netSock as NetSocket, this.reader as StreamReader, d, out);
    else reattachRawConnection(this.reader as StreamReader, d, out);
  }

  /** @internal The child's side: adopts the descriptor the parent passed at fork. */
  static _adoptPassed(p: PassedSocket): Socket {
    const s = new Socket(p.family, SOCK_STREAM, p.proto);
    const fd = passedFd(p.slot);
    s.local = p.local;
    if (p.listening) {
      s.backlog = p.backlog;
      s.fd = fd;
      s.serve(null).listen({ fd, backlog: p.backlog });
      return s;
    }
    const ns = new NetSocket({ fd, readable: true, writable: true, allowHalfOpen: true });
    const release = holdExitUntilSent(() => untilSent(ns));
    ns.once('close', release);
    s.attach(
      ns,
      p.family === AF_UNIX
        ? { peername: String(p.peer ?? ''), sockname: String(p.local ?? '') }
        : null,
    );
    const r = s.reader as StreamReader;
    // Older than anything the descriptor will give: fed before the first read can happen.
    if (p.buffered !== null) {
      r._feedOwned(Buffer.from(p.buffered.buffer, p.buffered.byteOffset, p.buffered.byteLength));
    }
    if (p.error !== null) r.setException(p.error);
    s.readShut = p.readShut;
    s.writeShut = p.writeShut;
    return s;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return `socket (fd ${this.fd})`;
  }

  /** @internal True when this socket runs on weft's own descriptor (see `listenRaw`). */
  _rawTransport(): boolean {
    return this.server instanceof RawListener || this.netSock instanceof RawTransport;
  }

  // ── readiness (weft/selectors) ───────────────────────────────────────────────────────────

  /** @internal The Node socket of a connected socket (weft/sendfile writes through it). */
  _net(): NetSocket | null {
    return this.state === CONNECTED ? this.netSock : null;
  }

  /** @internal Calls `fn` whenever readiness may have changed; returns the unsubscribe. */
  _watch(fn: () => void): () => void {
    this.watchers ??= new Set();
    this.watchers.add(fn);
    return () => this.watchers?.delete(fn);
  }

  /**
   * @internal A read (or accept) would not wait. A closed socket is never ready: its descriptor
   * left the kernel's epoll sets when it closed, so Python's selectors (epoll on Linux) do not
   * report a socket closed before it was unregistered, nor wake a select() waiting for it.
   */
  _readable(): boolean {
    switch (this.state) {
      case LISTENING:
        return this.pending.size > 0;
      case CONNECTED:
        return this.readShut || (this.reader as StreamReader)._ready();
      case CONNECTING:
      case CLOSED:
        return false;
      default:
        return true;
    }
  }

  /** @internal A send would not wait (or would fail at once); never for a closed socket. */
  _writable(): boolean {
    switch (this.state) {
      case CONNECTED: {
        const w = this.writer as StreamWriter;
        return w._writable() || w._failure() !== null;
      }
      case CONNECTING:
      case LISTENING:
      case CLOSED:
        return false;
      default:
        return true;
    }
  }

  private notify(): void {
    const ws = this.watchers;
    if (ws === null) return;
    for (const fn of ws) fn();
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────

  private fail(exc: unknown): void {
    if (this.state === CLOSED) return;
    this.state = FAILED;
    this.failure = exc;
    this.failWaiters(exc);
    this.notify();
  }

  private failWaiters(exc: unknown): void {
    for (let w = this.acceptWaiters.shift(); w !== null; w = this.acceptWaiters.shift())
      w.fail(exc);
    for (let w = this.stateWaiters.shift(); w !== null; w = this.stateWaiters.shift()) w.fail(exc);
    for (let w = this.recvWaiters.shift(); w !== null; w = this.recvWaiters.shift()) w.fail(exc);
  }

  private async block(
    w: Waiter<void>,
    mode: number,
    options: SocketWaitOptions | undefined,
    ms?: number | null,
  ): Promise<void> {
    const signal = options?.signal;
    if (signal) {
      if (signal.aborted) w.cancel(signal.reason);
      else w.setSignal(signal);
    }
    const t = ms !== undefined ? ms : mode === OBEY ? this.timeoutMs : null;
    // Python's socket.timeout says 'timed out' for every verb (recv and sendall here too).
    if (t !== null) w.setTimeout(t, (x) => x.withdraw(false, new TimeoutError('timed out')));
    await w.block();
  }

  private checkOpen(): void {
    if (this.state === CLOSED)
      throw new OSError('Bad file descriptor: the socket is closed', 'EBADF');
  }

  private needState(state: State, what: string): void {
    if (this.state === state) return;
    if (this.state === CLOSED || this.state === FAILED) throw this.failure;
    throw new OSError(
      `Invalid argument: ${what}() needs a ${state === LISTENING ? 'listening' : 'connected'} socket`,
      'EINVAL',
    );
  }

  private connected(what: string): StreamReader {
    if (this.state === CONNECTED) return this.reader as StreamReader;
    if (this.state === CLOSED || this.state === FAILED) throw this.failure;
    throw new OSError(`Transport endpoint is not connected (${what})`, 'ENOTCONN');
  }

  private writable(what: string, data: unknown): StreamWriter {
    checkData(what, data);
    if (this.state === CLOSED)
      throw new BrokenPipeError(`Broken pipe: ${what}() on a closed socket`);
    if (this.state !== CONNECTED) {
      // A failed connect's error, or an aborted connect's reset, is reported once, as send(2)
      // reports the pending error; EPIPE after it.
      if (this.state === FAILED && isConnectFailure(this.failure)) {
        if (!this.failureReported) {
          this.failureReported = true;
          throw this.failure;
        }
        throw new BrokenPipeError(`Broken pipe: ${what}() after a failed connect`);
      }
      if (this.state === FAILED) throw this.failure;
      if (this.state === FRESH && this.pendingError !== null) {
        const e = this.pendingError;
        this.pendingError = null;
        throw e;
      }
      // send(2) while connecting: EAGAIN (the blocking verbs wait in `untilConnected` first) —
      // unless shutdown(SHUT_WR) was made there, which the kernel, connected already, applied
      // to the connection: EPIPE, as Python shows.
      if (this.state === CONNECTING) {
        if (this.writeShut && this.shutConnected) {
          throw new BrokenPipeError(`Broken pipe: ${what}() after shutdown(SHUT_WR)`);
        }
        throw new BlockingIOError();
      }
      // Linux's send(2) on a socket neither connected nor connecting (fresh, listening) says
      // EPIPE, as Python shows.
      throw new BrokenPipeError(`Broken pipe: ${what}() on a socket that is not connected`);
    }
    const w = this.writer as StreamWriter;
    // send(2) reports the connection's pending error (a reset) before the EPIPE of our own
    // shutdown(SHUT_WR), as Python shows: ConnectionResetError once, then BrokenPipeError.
    let failure = w._failure();
    if (failure === null && this.writeShut) {
      const e = this.reader?.exception();
      if (e instanceof OSError) failure = e;
    }
    if (failure !== null) throw this.sendFailure(what, failure);
    if (this.writeShut) {
      throw new BrokenPipeError(`Broken pipe: ${what}() after shutdown(SHUT_WR)`);
    }
    return w;
  }

  /**
   * A recv or send on a socket still connecting: as recv(2)/send(2) there, a blocking call waits
   * for the connection and goes on, a non-blocking one raises BlockingIOError (Python's EAGAIN);
   * a connect that fails ends the wait with its error.
   */
  private async untilConnected(mode: number, options?: SocketWaitOptions): Promise<void> {
    while (this.state === CONNECTING) {
      if (mode === OBEY && this.timeoutMs === 0) throw new BlockingIOError();
      const w = new Waiter<void>(this);
      this.stateWaiters.push(w);
      try {
        await this.block(w, mode, options);
      } catch (e) {
        // The connect failed while this call waited: it reports the failure, as recv(2) and
        // send(2) report the pending error; the next recv gives b'', the next send EPIPE.
        // (State changes behind TypeScript's back while we wait.)
        if ((this.state as State) === FAILED && e === this.failure && isConnectFailure(e)) {
          this.failureReported = true;
        }
        throw e;
      }
    }
  }
}

/** Python's lower-case class name: `new socket(AF_INET, SOCK_STREAM)`. */
export { Socket as socket };

registerSharedKind(
  SOCKET_KIND,
  (state) => Socket._adoptPassed(state as unknown as PassedSocket),
  import.meta.url,
);

function optionKey(level: number, optname: number): 'reuseAddr' | 'noDelay' | 'keepAlive' {
  checkInt('setsockopt()/getsockopt(): level', level);
  checkInt('setsockopt()/getsockopt(): optname', optname);
  if (level === SOL_SOCKET && optname === SO_REUSEADDR) return 'reuseAddr';
  if (level === SOL_SOCKET && optname === SO_KEEPALIVE) return 'keepAlive';
  if (level === IPPROTO_TCP && optname === TCP_NODELAY) return 'noDelay';
  throw new OSError(
    `Protocol not available: option ${optname} at level ${level} is not supported (SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY are)`,
    'ENOPROTOOPT',
  );
}

function checkAddress(family: number, address: unknown, what: string): SocketAddress {
  if (family === AF_UNIX) {
    if (typeof address !== 'string' || address === '') {
      throw new TypeError(
        `${what}(): an AF_UNIX address must be a path: received ${describeValue(address)}`,
      );
    }
    checkUnixPathLength(`${what}()`, address);
    return address;
  }
  if (!Array.isArray(address) || address.length < 2 || typeof address[0] !== 'string') {
    throw new TypeError(
      `${what}(): an AF_INET address must be a [host, port] pair: received ${describeValue(address)}`,
    );
  }
  const port = address[1];
  checkInt(`${what}(): port`, port);
  if (port < 0 || port > 65535) throw rangeError(`${what}(): port must be 0-65535`, port);
  // Node's net takes either family's literal from any socket; Python's getaddrinfo refuses the
  // other family's (an AF_INET socket bound to '::1' is not an AF_INET socket any more).
  const host = address[0];
  if (family === AF_INET ? isIPv6(host) : isIPv4(host)) {
    throw new GaiError(
      `${what}(): address family for hostname not supported: ${host} is an ${family === AF_INET ? 'IPv6' : 'IPv4'} address and the socket is ${family === AF_INET ? 'AF_INET' : 'AF_INET6'}`,
      'EAI_ADDRFAMILY',
      'ERR_WEFT_GAI',
    );
  }
  return [host, port];
}

/** Python's TypeError for a value that is not an int (a string, a float, NaN). */
function checkInt(what: string, n: unknown): asserts n is number {
  if (!Number.isInteger(n)) throw argumentError(`${what} must be an integer`, n);
}

function checkSize(what: string, n: unknown): void {
  checkInt(`${what}(): bufsize`, n);
  if (n < 0) throw rangeError(`negative buffersize in ${what}`, n);
}

function checkData(what: string, data: unknown): void {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`${what}() expects bytes or a string: received ${describeValue(data)}`);
  }
}

function byteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** The descriptor of a Node handle (libuv exposes it on Unix; -1 where it does not). */
function handleFd(x: NetSocket | NetServer): number {
  const fd = (x as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/** The ms left until `deadline` (a `performance.now()` time; null: none), never negative. */
function remaining(deadline: number | null): number | null {
  return deadline === null ? null : Math.max(0, deadline - performance.now());
}
