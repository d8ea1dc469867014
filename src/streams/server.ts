/**
 * asyncio's `start_server` and `Server` on Node's `net.Server`.
 *
 * Each accepted connection gets a reader/writer pair (src/streams/protocol.ts) and its handler
 * runs as a weft Task, as asyncio runs `client_connected_cb` in a task of its own: the handler
 * can be cancelled, and its reads wait through the waiter engine.
 */
import { statSync, unlinkSync } from 'node:fs';
import {
  createServer,
  isIP,
  type ListenOptions,
  type Server as NetServer,
  type Socket as NetSocket,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type EventLoop, installedRunningLoop } from '../asyncio/event-loop.js';
import { createTask, type Task } from '../asyncio/task.js';
import { argumentError, describeValue, RuntimeError, TimeoutError } from '../internal/errors.js';
import { handleClosed, handleOpened } from '../internal/live-handles.js';
import { reportException } from '../internal/scheduler.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { C_INT_MAX } from '../socket/constants.js';
import { withErrnoClass } from '../socket/errno-class.js';
import { checkUnixPathLength, fromErrno, fromSystemError } from '../socket/errors.js';
import { io } from '../socket/native-io.js';
import type { Socket } from '../socket/socket.js';
import {
  type AddressOptions,
  checkAddressOptions,
  checkReuse,
  listenHost,
  listenHosts,
  netHasReusePort,
} from './address-options.js';
import { adoptListener, checkSockArgs } from './adopt.js';
import { bindEach, ListenerSet } from './listener-set.js';
import {
  type ConnectionOptions,
  checkConnectionOptions,
  checkPort,
  closeWithLoop,
  wireStreams,
} from './protocol.js';
import { RawListener, RawTransport } from './raw-transport.js';
import { parseReadOptions, type ReadOptions, type StreamReader } from './stream-reader.js';
import { type Address, namesOf, type StreamWriter } from './stream-writer.js';
import type { TlsSetup } from './tls.js';
import {
  checkTlsOptions,
  type TlsConnectOptions,
  type TlsInfo,
  type TlsRequest,
  tlsInfoOf,
} from './tls-options.js';
import { isWeftWorker, type Listener, WorkerGroup, type WorkerMessage } from './worker-group.js';

const noop = (): void => {};

export type ClientConnectedHandler = (
  reader: StreamReader,
  writer: StreamWriter,
) => void | Promise<void>;

export interface StartServerOptions
  extends ConnectionOptions,
    Omit<TlsConnectOptions, 'serverHostname'>,
    AddressOptions {
  /** Listen backlog (default 100, as asyncio). */
  backlog?: number;
  signal?: AbortSignal;
  /**
   * A socket to serve on instead of binding `host:port` (asyncio's `sock=`; `host` and `port`
   * null then): a weft/socket `Socket` — listening, or bound and not listening yet (the server
   * listens on it), or neither (any address, a free port) — whose connections waiting for
   * accept() are served first; the `Socket` itself is closed, its listener the server's. Or a
   * listening Node `net.Server`. `close()` closes it.
   */
  sock?: Socket | NetServer | null;
  /**
   * SO_REUSEADDR (asyncio's `reuse_address`): true, the default on POSIX as in Python. `false`
   * is a RangeError: Node sets it on every listening TCP socket.
   */
  reuseAddress?: boolean | null;
  /**
   * SO_REUSEPORT (asyncio's `reuse_port`): several servers (processes) bind the same port and
   * the kernel spreads connections. Set by weft's raw transport (the weft_io addon, an IP-literal
   * host) on any Node, by Node's net from 22.12; a RangeError where neither can.
   */
  reusePort?: boolean | null;
  /**
   * Serve from this many worker processes sharing the port (default 1: this process serves).
   * The program is re-run in each worker, where the same `startServer` call listens; in this
   * process it resolves to a Server standing for the group.
   */
  workers?: number;
  /** How workers share connections: `'rr'` round robin by this process (default), `'os'` the kernel. */
  workerScheduling?: 'rr' | 'os';
  /**
   * `false`: the server listens but accepts nothing until `startServing()` or `serveForever()`
   * (asyncio's `start_serving=False`); connections made meanwhile wait, unanswered, in the
   * listen backlog, where asyncio's, not listening yet, refuses them. Default `true`.
   */
  startServing?: boolean;
  /**
   * `'raw'`: connections on descriptors weft owns, read and written by weft's epoll loop
   * (the weft_io addon) — the lean path; `'net'`: Node's `net.Server`. `'auto'` (default) takes
   * raw for an IP-literal host when the addon is built, net otherwise (and for workers and Unix
   * sockets). `WEFT_STREAMS_TRANSPORT=net` makes `'auto'` take net.
   */
  transport?: 'auto' | 'net' | 'raw';
}

/** What a Unix server has not: refused by `startUnixServer`. */
const TCP_SERVER_ONLY = ['family', 'flags', 'reusePort', 'reuseAddress', 'transport'] as const;

/** The options of `startUnixServer`: those of `startServer` that a Unix socket has. */
export type StartUnixServerOptions = Omit<StartServerOptions, (typeof TCP_SERVER_ONLY)[number]>;

/** A listening socket of a Server (asyncio's `TransportSocket`, reduced to what it tells). */
export interface ServerSocket {
  readonly family: 'IPv4' | 'IPv6' | 'unix';
  getsockname(): Address;
}

/**
 * A listening server (`asyncio.Server`). It accepts connections from the moment it exists, or,
 * made with `startServing: false`, from `startServing()` or `serveForever()` on.
 * `close()` stops accepting (open connections go on); `waitClosed()` waits until the server is
 * closed *and* every connection has ended (asyncio ≥ 3.12); `serveForever()` waits until the
 * server is closed.
 *
 * A server made inside `run()` is closed when that run's loop closes (when `run()` ends), and
 * its connections still open are aborted: CPython's process ends once `asyncio.run()` returned,
 * Node's would be kept alive by them. (CPython leaves the dead server's `is_serving()` true;
 * weft's is false.)
 *
 * **Cancellation:** cancelling `serveForever()` closes the server and re-raises.
 */
export class Server {
  private readonly net: Listener;
  private readonly handler: ClientConnectedHandler;
  private readonly options: ConnectionOptions;
  private readonly unixPath: string | null;
  private readonly writers = new Set<StreamWriter>();
  private readonly tasks = new Set<Task<void>>();
  private readonly closeWaiters = new WaiterList();
  private readonly serveWaiters = new WaiterList();
  /** Accepting connections has begun (at once, unless made with `startServing: false`). */
  private started: boolean;
  /** `close()` was called, or the listener closed by itself. */
  private closed = false;
  private fullyClosed = false;
  /** Node's listener has closed (every socket of it too). */
  private netClosed = false;
  /** Node's net only: connections accepted before serving began, unread (made paused), in order. */
  private held: NetSocket[] = [];
  /** Node's net made with `startServing: false` (pauseOnConnect): every connection comes paused. */
  private readonly acceptsPaused: boolean;
  /** The loop the server was made in (null outside every run()): its connections close with it. */
  private readonly loop: EventLoop | null;
  /** TLS: every connection's handshake is made before its handler runs; null for plain TCP. */
  private readonly tls: TlsSetup | null;
  /** TLS connections whose handshake is under way: clients already, as asyncio counts them. */
  private readonly handshaking = new Set<NetSocket>();

  /** @internal Use `startServer`. */
  constructor(
    net: Listener,
    handler: ClientConnectedHandler,
    options: ConnectionOptions,
    unixPath: string | null,
    startServing = true,
    tls: TlsSetup | null = null,
  ) {
    this.net = net;
    this.tls = tls;
    this.handler = handler;
    this.options = options;
    this.unixPath = unixPath;
    this.started = startServing;
    this.acceptsPaused = !startServing && !isRawListener(net) && !(net instanceof WorkerGroup);
    this.loop = installedRunningLoop();
    if (this.acceptsPaused) {
      // node:cluster closes a worker's server itself (its group is closing) and waits for its
      // connections: one held unread, before serving began, would never end. Its close() drops
      // them, as ours does.
      const netServer = net as NetServer;
      const closeNet = netServer.close.bind(netServer);
      netServer.close = (cb?: (err?: Error) => void) => {
        this.dropHeld();
        return closeNet(cb);
      };
    }
    handleOpened('server');
    net.on('connection', (sock: NetSocket) => this.onConnection(sock));
    if (!isRawListener(net) && !(net instanceof WorkerGroup)) {
      // Node reports an accept(2) that failed (ENOBUFS, ENOMEM, EMFILE once libuv's spare
      // descriptor is gone) as the listener's 'error': with nobody listening, that would end
      // the process. asyncio logs a failed accept and keeps serving; so does this.
      net.on('error', (err: Error) =>
        reportException(
          'Error accepting a connection (the server keeps listening)',
          fromSystemError(err, 'accept'),
        ),
      );
    }
    // A group's workers are told to abort their connections, or the group would wait for them.
    closeWithLoop(this.loop, net, () => {
      if (net instanceof WorkerGroup) this.abortClients();
      this.close();
    });
    net.once('close', () => {
      this.closed = true;
      this.netClosed = true;
      handleClosed('server');
      // Closed without close(): by node:cluster in a worker whose group is closing, or a
      // group whose workers have all exited. A serveForever() must not wait for ever.
      for (let w = this.serveWaiters.shift(); w !== null; w = this.serveWaiters.shift()) {
        w.wake(undefined);
      }
      this.closedFully();
    });
  }

  /**
   * The listener has closed (Node's net waits for the sockets still open): the server is closed
   * once no writer lingers after both EOFs either (see `serve`).
   */
  private closedFully(): void {
    if (this.fullyClosed || this.writers.size > 0) return;
    this.fullyClosed = true;
    for (let w = this.closeWaiters.shift(); w !== null; w = this.closeWaiters.shift()) {
      w.wake(undefined);
    }
  }

  private onConnection(sock: NetSocket): void {
    // Only Node's net accepts before serving has begun (the raw listener leaves the connections
    // in the backlog): made paused (pauseOnConnect), it reads nothing until it is served. A raw
    // listener adopted from a weft socket accepts already: its connections are paused here.
    if (!this.started) {
      if (sock instanceof RawTransport) sock.pause();
      // One a weft socket had accepted reads on (it was not accepted paused): the peer's reset
      // would be an 'error' nobody listens to, ending the process.
      sock.on('error', noop);
      this.held.push(sock);
      return;
    }
    this.accept(sock);
  }

  /** @internal Connections a weft socket had accepted before it was adopted (`sock=`), in order. */
  _adoptPending(pending: NetSocket[]): void {
    for (const sock of pending) this.onConnection(sock);
  }

  /** A connection to serve: at once, or once its TLS handshake is done. */
  private accept(sock: NetSocket): void {
    const tls = this.tls;
    if (tls === null) {
      this.serve(sock);
      return;
    }
    const names =
      this.unixPath === null ? namesOf(sock) : { peername: '', sockname: this.unixPath };
    this.handshaking.add(sock);
    sock.once('close', () => this.handshaking.delete(sock));
    // Aborted with the loop while the handshake runs (serve registers the TLS socket after).
    closeWithLoop(this.loop, sock, () => sock.destroy());
    sock.setNoDelay(true);
    if (this.acceptsPaused || sock instanceof RawTransport) sock.resume();
    tls.accept(sock, (t: TLSSocket) => {
      this.handshaking.delete(sock);
      this.serve(t, names, tlsInfoOf(t, tls));
    });
  }

  private serve(
    sock: NetSocket,
    names?: { peername: Address | null; sockname: Address | null },
    tlsInfo: TlsInfo | null = null,
  ): void {
    let reader: StreamReader;
    let writer: StreamWriter;
    try {
      [reader, writer] = wireStreams(
        sock,
        this.options,
        names ?? (this.unixPath === null ? undefined : { peername: '', sockname: this.unixPath }),
        true,
        tlsInfo,
      );
    } catch (e) {
      sock.destroy();
      reportException('Cannot set up a client connection', e);
      return;
    }
    writer._serverSide = true;
    this.writers.add(writer);
    // Until the writer has ended as asyncio counts it: one lingering after both EOFs (its socket
    // closed by Node) is still a client, as the transport in asyncio's `_clients`.
    writer._onEnded = () => {
      this.writers.delete(writer);
      if (this.netClosed) this.closedFully();
    };
    closeWithLoop(this.loop, sock, () => writer.abort());
    // Accepted paused (`startServing: false`, or held from a weft socket's accept queue): it
    // reads from now on.
    if (this.acceptsPaused || (sock instanceof RawTransport && sock.isPaused())) sock.resume();
    const task = createTask(() => this.handler(reader, writer));
    this.tasks.add(task);
    task.addDoneCallback((t) => {
      this.tasks.delete(task);
      // asyncio's done callback on the handler's task (gh-110894, 3.12): a cancelled handler
      // closes its connection, as a failed one does, or the peer would wait on it for ever.
      // transport.close(): what the handler wrote before it ended still goes out.
      if (t.cancelled()) {
        writer.close();
        return;
      }
      const exc = t.exception();
      if (exc !== null && exc !== undefined) {
        reportException('Unhandled exception in client_connected_cb', exc);
        writer.close();
      }
    });
  }

  /** The listening sockets: one per address listened on (no host: `0.0.0.0` and `::`), as asyncio's. */
  get sockets(): ServerSocket[] {
    const net = this.net;
    const all = net instanceof ListenerSet ? net.addresses() : [net.address()];
    const out: ServerSocket[] = [];
    for (const a of all) {
      if (a === null) continue;
      if (typeof a === 'string') out.push({ family: 'unix', getsockname: () => a });
      else {
        out.push({
          family: a.family === 'IPv6' ? 'IPv6' : 'IPv4',
          getsockname: () => [a.address, a.port],
        });
      }
    }
    return out;
  }

  /** True while the server accepts connections: from `startServing()` (or at once) to `close()`. */
  isServing(): boolean {
    return this.started && !this.closed;
  }

  /**
   * Starts accepting connections, for a server made with `startServing: false`; does nothing on
   * one that serves already (asyncio's `start_serving()`).
   * @throws {RuntimeError} when the server is closed (asyncio 3.11's raises a TypeError there).
   */
  startServing(): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new RuntimeError('startServing(): the server is closed', 'ERR_WEFT_SERVER_CLOSED'),
      );
    }
    this.beginServing();
    return Promise.resolve();
  }

  /** The connections held before serving began: reset, as closing a listener resets its backlog. */
  private dropHeld(): void {
    const held = this.held;
    this.held = [];
    for (const sock of held) sock.resetAndDestroy();
  }

  private beginServing(): void {
    if (this.started) return;
    this.started = true;
    if (this.net instanceof RawListener || this.net instanceof ListenerSet) {
      this.net.startAccepting();
    }
    const held = this.held;
    this.held = [];
    for (const sock of held) {
      sock.off('error', noop);
      // Reset while held: its 'error' and 'close' are gone, so its reader would never learn.
      if (sock.destroyed) continue;
      this.accept(sock);
    }
  }

  /**
   * Stops accepting connections; the ones open go on (connections waiting to be served, before
   * serving began, are dropped, as the listening socket's backlog is). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.net.close();
    this.dropHeld();
    for (let w = this.serveWaiters.shift(); w !== null; w = this.serveWaiters.shift()) {
      w.wake(undefined);
    }
  }

  /** Closes every client connection after flushing what it has queued (Python 3.13). */
  closeClients(): void {
    if (this.net instanceof WorkerGroup) this.net.send('closeClients');
    for (const w of this.writers) w.close();
    // A handshake under way has nothing queued to flush: it ends now.
    for (const s of this.handshaking) s.destroy();
  }

  /** Closes every client connection at once (Python 3.13). */
  abortClients(): void {
    if (this.net instanceof WorkerGroup) this.net.send('abortClients');
    for (const w of this.writers) w.abort();
    for (const s of this.handshaking) s.destroy();
  }

  /** Worker processes serving for this server (0 when this process serves). */
  get workers(): number {
    return this.net instanceof WorkerGroup ? this.net.size : 0;
  }

  /**
   * Waits until the server is closed and all its connections have ended.
   * @throws {TimeoutError} when `timeout` ms pass first (nothing is closed by it).
   */
  async waitClosed(options?: ReadOptions): Promise<void> {
    const t = parseReadOptions('Server.waitClosed', options);
    if (this.fullyClosed) return;
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.closeWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (t !== null) {
      w.setTimeout(t, (x) =>
        x.withdraw(false, new TimeoutError(`Server.waitClosed(): still open after ${t} ms`)),
      );
    }
    await w.block();
  }

  /**
   * Serves until the server is closed (by `close()` elsewhere, or by cancelling this call);
   * starts serving first, if the server was made with `startServing: false`. With `timeout`,
   * serves that long: then the server is closed, as a cancel closes it
   * (asyncio's `wait_for(server.serve_forever(), t)`), and the call raises `TimeoutError`.
   * @throws {RuntimeError} when the server is already closed, or another `serveForever()` of it
   *   is waiting (as asyncio's).
   */
  async serveForever(options?: ReadOptions): Promise<void> {
    const t = parseReadOptions('Server.serveForever', options);
    if (this.closed)
      throw new RuntimeError('serveForever(): the server is closed', 'ERR_WEFT_SERVER_CLOSED');
    if (this.serveWaiters.head !== null)
      throw new RuntimeError(
        'serveForever(): the server is already being served by another serveForever() call: await that one, or close() the server',
        'ERR_WEFT_SERVE_FOREVER_BUSY',
      );
    const signal = options?.signal;
    if (signal?.aborted) {
      this.close();
      throw signal.reason;
    }
    this.beginServing();
    const w = new Waiter<void>(this);
    this.serveWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (t !== null) {
      w.setTimeout(t, (x) =>
        x.withdraw(false, new TimeoutError(`serveForever(): served for ${t} ms; server closed`)),
      );
    }
    try {
      await w.block();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  describe(): string {
    return 'Server';
  }
}

/**
 * Starts a TCP server on `host:port` and resolves once it listens (`asyncio.start_server`).
 * `handler(reader, writer)` runs as a task for each connection. `port` 0 picks a free port
 * (see `server.sockets[0].getsockname()`). As asyncio's, it listens on every address of `host`
 * (`server.sockets` lists each): `null` on `0.0.0.0` and `::` (IPv6 only), a name on each
 * address it resolves to; with port 0 they all share the port the first one got.
 *
 * @throws {OSError} the address is in use or cannot be bound.
 * @example
 * await using server = await startServer(async (reader, writer) => {
 *   for await (const line of reader) writer.write(line.toString().toUpperCase());
 *   writer.close();
 * }, '127.0.0.1', 0);
 */
export function startServer(
  handler: ClientConnectedHandler,
  host: string | null = null,
  port: number | null = null,
  options: StartServerOptions = {},
): Promise<Server> {
  // A bad argument rejects, as every verb returning a promise does (docs/socket.md).
  try {
    return startServerNow(handler, host, port, options);
  } catch (e) {
    return Promise.reject(e);
  }
}

function startServerNow(
  handler: ClientConnectedHandler,
  host: string | null,
  port: number | null,
  options: StartServerOptions,
): Promise<Server> {
  const what = 'startServer';
  checkHandler(handler);
  const sock = options.sock ?? null;
  checkSockArgs(what, host !== null || port !== null, sock);
  if (sock === null) {
    if (host !== null && typeof host !== 'string') {
      throw argumentError(`${what}: host must be a string or null`, host);
    }
    checkPort(what, port, 0);
  }
  const lookup = checkAddressOptions(what, options);
  const reusePort = checkReuse(what, options);
  const tls = checkTlsOptions(what, options, 'server');
  if (sock !== null) {
    checkNotWithSock(what, options);
    return serveOn(handler, sock, options, tls);
  }
  const p = port as number;
  if (useRaw(host, options, tls !== null, reusePort)) {
    const backlog = options.backlog ?? 100;
    checkBacklog(backlog);
    const serving = checkStartServing(options);
    // As the net branch does (in listen()): fail now rather than drop every connection later.
    checkConnectionOptions(options);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return listenRaw(handler, host, p, backlog, serving, lookup, reusePort, tls, options);
  }
  if ((options.workers ?? 1) !== 1 || isWeftWorker()) {
    // A group shares one listening socket through node:cluster: one address, as before (no
    // host: Node's dual-stack '::').
    return listen(handler, options, null, tls, async () => {
      const h = await listenHost(host, lookup);
      return [
        {
          port: p,
          ...(h === null ? {} : { host: h }),
          ...(lookup.family === 6 ? { ipv6Only: true } : {}),
          ...(reusePort ? { reusePort: true } : {}),
        },
      ];
    });
  }
  return listen(handler, options, null, tls, async () =>
    (await listenHosts(host, lookup)).map((h) => ({
      port: p,
      host: h,
      // asyncio sets IPV6_V6ONLY on every IPv6 socket it listens on (Node's default is
      // dual-stack): '::' takes IPv6 only, beside its own socket on 0.0.0.0.
      ...(isIP(h) === 6 ? { ipv6Only: true } : {}),
      ...(reusePort ? { reusePort: true } : {}),
    })),
  );
}

/** The raw transport: a descriptor of weft's own, listening on an IP literal. */
async function listenRaw(
  handler: ClientConnectedHandler,
  host: string | null,
  port: number,
  backlog: number,
  serving: boolean,
  lookup: ReturnType<typeof checkAddressOptions>,
  reusePort: boolean,
  tlsRequest: TlsRequest | null,
  options: StartServerOptions,
): Promise<Server> {
  const hosts = await listenHosts(host, lookup);
  const tls = tlsRequest === null ? null : (await import('./tls.js')).makeTlsSetup(tlsRequest);
  const b = io as NonNullable<typeof io>;
  const listeners = await bindEach(
    hosts,
    port,
    async (h, p) => {
      // IPV6_V6ONLY on every IPv6 socket, as asyncio sets it.
      const fd = b.listen(h, p, backlog, isIP(h) === 6, reusePort);
      if (fd < 0) throw withErrnoClass(fromErrno(-fd, `listen on ${h}:${p}`));
      return new RawListener(fd, h, serving); // closes fd if epoll refuses it
    },
    (l) => (l.address() as { port: number }).port,
  );
  const listener = listeners.length === 1 ? listeners[0]! : new ListenerSet(listeners);
  return new Server(listener, handler, options, null, serving, tls);
}

/** `sock=`: a server on a socket the caller made (src/streams/adopt.ts). */
async function serveOn(
  handler: ClientConnectedHandler,
  sock: Socket | NetServer,
  options: StartServerOptions,
  tlsRequest: TlsRequest | null,
): Promise<Server> {
  const backlog = options.backlog ?? 100;
  checkBacklog(backlog);
  const serving = checkStartServing(options);
  checkConnectionOptions(options);
  if (options.signal?.aborted) throw options.signal.reason;
  // Before the socket is taken: a key that does not load leaves it as it was.
  const tls = tlsRequest === null ? null : (await import('./tls.js')).makeTlsSetup(tlsRequest);
  const adopted = await adoptListener('startServer', sock, backlog);
  // Not serving yet: what Node's listener accepts meanwhile is made paused (as `listen` does).
  if (!(adopted.server instanceof RawListener)) {
    (adopted.server as NetServer & { pauseOnConnect: boolean }).pauseOnConnect = !serving;
  }
  const server = new Server(adopted.server, handler, options, adopted.unixPath, serving, tls);
  server._adoptPending(adopted.pending);
  return server;
}

/** What applies only to a socket startServer makes itself: asyncio ignores it with `sock=`,
 * weft says so rather than leave the caller believing it was applied. */
function checkNotWithSock(what: string, options: StartServerOptions): void {
  for (const name of ['family', 'flags', 'reusePort', 'transport'] as const) {
    if (options[name] != null) {
      throw new RangeError(`${what}: ${name} applies to a socket startServer makes: not with sock`);
    }
  }
  if ((options.workers ?? 1) !== 1) {
    throw new RangeError(`${what}: workers and sock can not be specified at the same time`);
  }
}

/** Listeners on weft's own descriptors: connections come paused until served, never net's 'error'. */
function isRawListener(net: Listener): boolean {
  return net instanceof RawListener || (net instanceof ListenerSet && net.raw);
}

function useRaw(
  host: string | null,
  options: StartServerOptions,
  tls: boolean,
  reusePort: boolean,
): boolean {
  let t = options.transport ?? 'auto';
  if (t !== 'auto' && t !== 'net' && t !== 'raw') {
    throw new RangeError(
      `startServer: transport must be 'auto', 'net' or 'raw': received ${String(t)}`,
    );
  }
  // The environment only chooses among what is possible: 'raw' there means "raw where it can",
  // and 'net' is not taken for a reusePort net cannot set.
  const envNet = t === 'auto' && process.env.WEFT_STREAMS_TRANSPORT === 'net';
  if (envNet && !(reusePort && !netHasReusePort())) t = 'net';
  const literal = host === null || host === '' || isIP(host) !== 0;
  // SO_REUSEPORT on weft's descriptor: an addon built with listen's reusePort argument.
  const rawReusePort = io?.listenReusePort === true;
  const possible =
    io !== null && literal && (options.workers ?? 1) === 1 && (!reusePort || rawReusePort);
  if (t === 'raw' && !possible) {
    throw new RangeError(
      'startServer: the raw transport needs the weft_io addon, an IP-literal host, no workers, and for reusePort an addon built with it',
    );
  }
  // Node's net sets SO_REUSEPORT from 22.12 only; before, weft's descriptor is the one way.
  if (reusePort && !netHasReusePort()) {
    if (t !== 'net' && possible) return true;
    throw new RangeError(
      `startServer: reusePort (SO_REUSEPORT) needs Node >= 22.12, whose net can set it, or weft's raw transport (the weft_io addon, an IP-literal host, no workers): this is Node ${process.versions.node}${t === 'net' ? " and transport 'net'" : ''}`,
    );
  }
  if (t === 'net') return false;
  // TLS on weft's descriptor runs through a stream adapter (raw-duplex.ts): only when asked.
  if (t === 'auto' && tls) return false;
  return possible;
}

/**
 * `startServer` on a Unix domain socket at `path` (`asyncio.start_unix_server`). A socket file
 * left at `path` (by a server that did not close it: a crash) is removed first, as asyncio
 * removes it, so that the server can be restarted; any other kind of file there makes the call
 * fail with `OSError` (EADDRINUSE).
 */
export function startUnixServer(
  handler: ClientConnectedHandler,
  path: string | null = null,
  options: StartUnixServerOptions = {},
): Promise<Server> {
  const what = 'startUnixServer';
  let tls: TlsRequest | null;
  try {
    checkHandler(handler);
    const sock = options.sock ?? null;
    checkSockArgs(what, path !== null, sock);
    if (sock === null && (typeof path !== 'string' || path === '')) {
      throw argumentError(`${what}: path must be a non-empty string`, path);
    }
    if (path !== null) checkUnixPathLength(what, path);
    for (const name of TCP_SERVER_ONLY) {
      if ((options as Record<string, unknown>)[name] != null) {
        throw new TypeError(`${what}: ${name} is not an option of a Unix server`);
      }
    }
    tls = checkTlsOptions(what, options, 'server');
    if (sock !== null) {
      checkNotWithSock(what, options);
      return serveOn(handler, sock, options, tls);
    }
  } catch (e) {
    return Promise.reject(e);
  }
  const p = path as string;
  return listen(handler, options, p, tls, async () => [{ path: p }]);
}

/**
 * Removes a socket file left at `path` (asyncio's `create_unix_server` does so before binding):
 * a server that ended without closing leaves it, and bind(2) would fail with EADDRINUSE. Only a
 * socket (followed through a symbolic link, as asyncio's `os.stat`) is removed; an abstract
 * name (a leading NUL) has no file. A failure to look is left to bind(2) to report.
 */
function removeStaleSocket(path: string): void {
  if (path.startsWith('\0')) return;
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isSocket()) unlinkSync(path);
  } catch {
    // EACCES, ENOTDIR, …: listen() meets the same cause and raises it as an OSError.
  }
}

/** The `startServing` option (default true); TypeError unless a boolean. */
function checkStartServing(options: StartServerOptions): boolean {
  const v = options.startServing ?? true;
  if (typeof v !== 'boolean') {
    throw argumentError('startServer: startServing must be a boolean', v);
  }
  return v;
}

function checkBacklog(backlog: unknown): void {
  if (typeof backlog !== 'number' || !Number.isInteger(backlog)) {
    throw argumentError('startServer: backlog must be an integer', backlog);
  }
  if (backlog < 0) {
    throw new RangeError(`startServer: backlog must be >= 0: received ${backlog}`);
  }
  // asyncio's OverflowError (from sock.listen): listen(2) takes a C int.
  if (backlog > C_INT_MAX) {
    throw new RangeError(
      `startServer: backlog must fit a C int (at most ${C_INT_MAX}): received ${backlog}`,
    );
  }
}

function checkHandler(handler: unknown): void {
  if (typeof handler !== 'function') {
    throw new TypeError(
      `startServer: handler must be a function (reader, writer): received ${describeValue(handler)}`,
    );
  }
}

/** `work`'s outcome, or `signal`'s reason once it aborts first (what `work` gives then is dropped). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) throw signal.reason;
  const w = new Waiter<T>(null);
  work.then(
    (v) => w.wake(v),
    (e: unknown) => w.fail(e),
  );
  w.setSignal(signal);
  return w.block();
}

/** A net.Server listening as `options` say. **Cancellation:** `signal` closes it. */
async function listenNet(
  options: ListenOptions,
  serving: boolean,
  signal: AbortSignal | undefined,
): Promise<NetServer> {
  // Aborted in the turn between two binds: a signal already aborted fires no 'abort' event.
  if (signal?.aborted) throw signal.reason;
  // Not serving yet: what is accepted meanwhile is made paused, read from nothing until served.
  const net = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: !serving });
  const w = new Waiter<void>(null);
  // Node's message names the address already ("listen EADDRINUSE: … 127.0.0.1:8080").
  const onError = (err: Error): void => {
    w.fail(withErrnoClass(fromSystemError(err, 'listen'), options.path ?? null));
  };
  net.once('error', onError);
  net.once('listening', () => w.wake(undefined));
  if (signal) w.setSignal(signal);
  net.listen(options);
  try {
    await w.block();
  } catch (e) {
    net.close();
    throw e;
  } finally {
    net.off('error', onError);
  }
  return net;
}

async function listen(
  handler: ClientConnectedHandler,
  options: StartServerOptions,
  unixPath: string | null,
  tlsRequest: TlsRequest | null,
  where: () => Promise<ListenOptions[]>,
): Promise<Server> {
  const backlog = options.backlog ?? 100;
  checkBacklog(backlog);
  const serving = checkStartServing(options);
  // Now, not per connection: a bad option would otherwise drop every connection.
  checkConnectionOptions(options);
  const signal = options.signal;
  if (signal?.aborted) throw signal.reason;
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`startServer: workers must be an integer >= 1: received ${workers}`);
  }
  // Not in a worker: the group's listening socket is bound once, for all of them, by the
  // primary, which removed the stale file before forking; a worker's removal would unlink it.
  if (unixPath !== null && !isWeftWorker()) removeStaleSocket(unixPath);
  // A key or certificate that does not load fails the call, before anything listens.
  const tls = tlsRequest === null ? null : (await import('./tls.js')).makeTlsSetup(tlsRequest);
  if (workers > 1 && !isWeftWorker()) {
    // Each worker runs the same startServer call, with the same startServing, and serves when
    // its own startServing()/serveForever() says (and makes its own TLS handshakes).
    const group = await WorkerGroup.start(workers, options.workerScheduling ?? 'rr');
    return new Server(group, handler, options, unixPath, serving, tls);
  }
  // A host name is looked up now, before any bind: the signal must end that wait too (it is
  // watched by each bind only from its start).
  const addresses = await untilAborted(where(), signal);
  const nets = await bindEach(
    addresses,
    addresses[0]?.port ?? 0,
    (a, port) =>
      listenNet({ ...a, ...(a.path === undefined ? { port } : {}), backlog }, serving, signal),
    // A Unix server has one address (a path): no port to share.
    (n) => {
      const a = n.address();
      return typeof a === 'object' && a !== null ? a.port : 0;
    },
  );
  const net = nets.length === 1 ? nets[0]! : new ListenerSet(nets);
  const server = new Server(net, handler, options, unixPath, serving, tls);
  if (isWeftWorker()) {
    const onMessage = (m: WorkerMessage): void => {
      if (m?.weft !== 'streams') return;
      if (m.op === 'closeClients') server.closeClients();
      else server.abortClients();
    };
    process.on('message', onMessage);
    net.once('close', () => process.off('message', onMessage));
  }
  return server;
}
