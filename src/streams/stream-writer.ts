/**
 * StreamWriter: asyncio's writer over one Node `net.Socket`.
 *
 * Implementation notes
 * --------------------
 * `write` hands the bytes to the socket at once (Node queues them in user space when the kernel
 * buffer is full); `drain` is where back pressure is applied: it waits while the socket's queue
 * is above its high-water mark (`writableNeedDrain`), through a `WaiterList` woken by the
 * socket's `drain` event, or failed when the connection is lost. As in asyncio, a write after
 * the connection is lost is dropped and the loss surfaces at the next `drain`.
 *
 * Both sides sent EOF: Node closes the socket (its descriptor is freed), while asyncio's
 * transport stays open until `close()`. The writer then answers as asyncio's would (`isClosing()`
 * false, `waitClosed()` waiting for `close()`, `drain()` resolving) with nothing held open:
 * `close()` or `abort()` only finishes what Node did already (`lingering`).
 */
import type { Socket as NetSocket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { argumentError, RuntimeError, TimeoutError } from '../internal/errors.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { ConnectionResetError, fromSystemError } from '../socket/errors.js';
import type { ProtocolBinding } from './protocol.js';
import { RawTransport } from './raw-transport.js';
import { parseReadOptions, type ReadOptions, type StreamReader } from './stream-reader.js';
import {
  checkTlsOptions,
  type SslOptions,
  type TlsConnectOptions,
  type TlsInfo,
  tlsInfoOf,
} from './tls-options.js';

const RESOLVED = Promise.resolve();

export type Address = [host: string, port: number] | string;

/** `startTls`'s options (asyncio's `start_tls` keywords, and a signal for the handshake). */
export interface StartTlsOptions extends Omit<TlsConnectOptions, 'ssl'> {
  signal?: AbortSignal;
}

/**
 * Writes bytes to a stream. `write` never waits; `await drain()` after writing applies back
 * pressure. `close()` flushes what is queued, then closes; `writeEof()` half-closes (sends FIN)
 * and keeps reading.
 *
 * **Cancellation:** a cancelled `drain`/`waitClosed` gives up waiting; the bytes already written
 * stay queued and are still sent.
 *
 * @example
 * const [reader, writer] = await openConnection('127.0.0.1', port);
 * writer.write('ping\n');
 * await writer.drain();
 */
export class StreamWriter {
  /** The socket written to: a TLSSocket once the connection is TLS. */
  private sock: NetSocket;
  private readonly reader: StreamReader | null;
  private readonly drainers = new WaiterList();
  private readonly closeWaiters = new WaiterList();
  private closing = false;
  /** `close()` or `abort()` was called: the connection is going, `drain` raises (as asyncio's). */
  private closeCalled = false;
  private eofWritten = false;
  /** The peer sent EOF ('end'). */
  private peerEnded = false;
  private closed = false;
  /**
   * Closed by Node after both sides sent EOF, nothing failed and nobody called `close()`: open
   * as far as asyncio's transport would tell, until `close()`/`abort()` (see the notes above).
   */
  private lingering = false;
  private lostError: unknown = null;
  /** The connection ended with this error (a reset, a broken pipe): `waitClosed` raises it, as
   * asyncio's connection_lost(exc) fails the close waiter. Null for a clean close. */
  private fatal: unknown = null;
  private readonly peername: Address | null;
  private readonly sockname: Address | null;
  /** The TLS connection, or null for plain TCP or Unix. */
  private tls: TlsInfo | null;
  /** @internal The listeners feeding this writer's reader (protocol.ts), moved by `startTls`. */
  _binding: ProtocolBinding | null = null;
  /** @internal The connection was accepted by a server: `startTls` is the server's side. */
  _serverSide = false;
  /** A `startTls` is under way: the connection is neither plain nor TLS yet. */
  private upgrading = false;

  /** @internal Built by `openConnection`/`startServer`. `names`: the addresses when `sock`
   * cannot tell them (a Unix socket; TLS over weft's own descriptor). */
  constructor(
    sock: NetSocket,
    reader: StreamReader | null,
    names?: { peername: Address | null; sockname: Address | null },
    tls: TlsInfo | null = null,
  ) {
    this.sock = sock;
    this.reader = reader;
    this.tls = tls;
    // Kept now: Node forgets the addresses once the socket is closed.
    const { peername, sockname } = names ?? namesOf(sock);
    this.peername = peername;
    this.sockname = sockname;
    this.bindSocket(sock);
  }

  private readonly onDrain = (): void => this.wakeDrainers(null);
  private readonly onEnd = (): void => {
    this.peerEnded = true;
    // asyncio's TLS transport closes once the peer has closed its side (close_notify or EOF):
    // TLS has no half-open state in asyncio.
    if (this.tls !== null) this.close();
  };
  private readonly onSockClose = (): void => this.onClose();

  private bindSocket(sock: NetSocket): void {
    sock.on('drain', this.onDrain);
    sock.once('end', this.onEnd);
    sock.once('close', this.onSockClose);
  }

  private unbindSocket(sock: NetSocket): void {
    sock.off('drain', this.onDrain);
    sock.off('end', this.onEnd);
    sock.off('close', this.onSockClose);
  }

  /**
   * @internal A socket adopted after it had failed, closed or read the peer's EOF
   * (openConnection({ sock })): its 'error', 'end' and 'close' went to its former owner, so the
   * writer learns them here.
   */
  _adoptedState(error: unknown, eof: boolean): void {
    if (eof) this.peerEnded = true;
    if (error !== null) this._lost(error);
    if (this.sock.destroyed) this.onClose();
  }

  /**
   * @internal Lets go of the socket: the protocol's listeners and this writer's come off, and
   * the socket is left open, as it is (weft/socket's socket, handed to weft/streams).
   */
  _release(): NetSocket {
    this._binding?.unbind();
    this._binding = null;
    this.unbindSocket(this.sock);
    return this.sock;
  }

  /** @internal True when the send queue is below its high-water mark (weft/selectors). */
  _writable(): boolean {
    return !this.sock.writableNeedDrain;
  }

  /** @internal The error a write must raise now (the connection is gone), or null. */
  _failure(): unknown {
    if (this.closed || this.sock.destroyed)
      return this.lostError ?? new ConnectionResetError('Connection lost');
    return this.lostError;
  }

  /** @internal The connection failed with `exc` (already Python-typed). */
  _lost(exc: unknown): void {
    if (this.lostError === null) this.lostError = exc;
    if (this.fatal === null && !this.closed) this.fatal = exc;
    // asyncio's transport is closing from its fatal error on, before connection_lost runs:
    // Node emits 'close' a tick after 'error', and a task woken by the error must not see the
    // writer open (nor have its writes queued on a dead socket).
    this.closing = true;
  }

  /**
   * @internal Fails every waiting `drain` with `exc` (weft/socket's close(): a `sendall` waiting
   * for a peer that never reads would otherwise wait until that peer goes).
   */
  _failDrains(exc: unknown): void {
    this.wakeDrainers(exc);
  }

  /**
   * @internal Called once when the connection has ended as asyncio counts it: Node's socket
   * closed, or, after both EOFs, once `close()`/`abort()` came too. A server keeps the writer
   * among its clients until then (`closeClients()` reaches it, `waitClosed()` waits for it).
   */
  _onEnded: (() => void) | null = null;

  private ended(): void {
    const cb = this._onEnded;
    this._onEnded = null;
    cb?.();
  }

  private onClose(): void {
    // Twice at most, after a failed startTls (see there): the second finds it done.
    if (this.closed) return;
    this.closed = true;
    if (this.lostError === null) this.lostError = new ConnectionResetError('Connection lost');
    if (this.fatal === null && this.eofWritten && this.peerEnded && !this.closeCalled) {
      // Both EOFs went through: everything written went out, so a waiting drain is done.
      this.lingering = true;
      this.wakeDrainers(null);
      return;
    }
    this.closing = true;
    // A drain still waiting when our own close()/abort() ended the connection cleanly resolves,
    // as asyncio's flow control wakes a paused writer on connection_lost(None); the next drain()
    // raises ConnectionResetError('Connection lost'). A failure fails it.
    this.wakeDrainers(this.fatal === null && this.closeCalled ? null : this.lostError);
    for (let w = this.closeWaiters.shift(); w !== null; w = this.closeWaiters.shift()) {
      if (this.fatal === null) w.wake(undefined);
      else w.fail(this.fatal);
    }
    this.ended();
  }

  private wakeDrainers(exc: unknown): void {
    for (let w = this.drainers.shift(); w !== null; w = this.drainers.shift()) {
      if (exc === null) w.wake(undefined);
      else w.fail(exc);
    }
  }

  /** Queues `data` for sending (a string is sent as UTF-8). Never waits. */
  write(data: Uint8Array | string): void {
    checkData('write', data);
    if (this.upgrading) throw upgradeUnderWay('write');
    if (this.eofWritten) {
      throw new RuntimeError('Cannot call write() after writeEof()', 'ERR_WEFT_WRITE_AFTER_EOF');
    }
    if (this.closed || this.closing || this.sock.destroyed) return;
    // Node's net keeps the caller's buffer until the kernel took it; asyncio copies what it
    // queues, so a buffer reused after write() (or after weft/socket's send or sendall returned)
    // would go out changed. The raw transport copies what it queues itself.
    this.sock.write(
      typeof data === 'string' || this.sock instanceof RawTransport ? data : Buffer.from(data),
    );
    this._noticeFailedSend();
  }

  /**
   * A send the kernel refused at once (EPIPE, ECONNRESET: the peer is gone) failed the socket in
   * the call, while Node reports it a tick later. asyncio's write() fails its transport at once
   * (isClosing() is true from here) and runs connection_lost(exc) a turn later, which gives the
   * reader the failure: a drain() before that raises ConnectionResetError('Connection lost'),
   * as asyncio's does (it waits that turn out, then raises), and reads after it the failure.
   * The reader gets it once the code that wrote has yielded (a microtask: before Node's report,
   * which protocol.ts would otherwise turn into the same).
   * @internal Also called by weft/socket's `_sendMessage` after a send(2) of its own failed.
   */
  _noticeFailedSend(): void {
    const failed = (this.sock as { errored?: Error | null }).errored;
    if (!failed || this.lostError !== null) return;
    const exc = fromSystemError(failed);
    this._lost(exc);
    const reader = this.reader;
    if (reader !== null) {
      queueMicrotask(() => {
        if (reader.exception() === null) reader.setException(exc);
      });
    }
  }

  /** Queues every buffer of `data`, in order; nothing when one of them is not bytes or a string. */
  writelines(data: Iterable<Uint8Array | string>): void {
    if (
      data === null ||
      typeof data !== 'object' ||
      typeof (data as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function'
    ) {
      throw new TypeError(
        `StreamWriter.writelines() expects an iterable of bytes or strings: received ${data === null ? 'null' : typeof data}`,
      );
    }
    // Checked before the first write, as asyncio's does: a bad item sends nothing, rather than
    // the items before it with the rest lost.
    const list = Array.from(data);
    for (const d of list) checkData('writelines', d);
    this.sock.cork();
    try {
      for (const d of list) this.write(d);
    } finally {
      this.sock.uncork();
    }
    // Corked, net's socket sent nothing before uncork(): a refused send shows only now.
    this._noticeFailedSend();
  }

  /**
   * Waits until the socket's send queue is below its high-water mark. Resolves at once when it
   * is. Raises the connection's error (`ConnectionResetError('Connection lost')` when it simply
   * closed) if the connection is gone, or going after `close()`/`abort()` with nothing left to
   * flush (as asyncio's). Resolves after a clean close where both sides sent EOF; a drain
   * already waiting when your own `close()`/`abort()` ends the connection resolves too (asyncio
   * wakes a paused writer without error then), and the next one raises.
   */
  drain(options?: ReadOptions): Promise<void> {
    // Not an async function: the common answer (room in the queue) is one shared promise.
    if (options !== undefined) {
      try {
        parseReadOptions('StreamWriter.drain', options);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const exc = this.reader?.exception() ?? null;
    if (exc !== null) return Promise.reject(exc);
    if (this.closed) {
      // Both sides sent EOF and nothing failed: Node closes such a socket, asyncio's transport
      // stays open until close(); everything written went out, so there is nothing to drain.
      if (this.fatal === null && this.eofWritten && !this.closeCalled) return RESOLVED;
      return Promise.reject(this.lostError);
    }
    // Failed and not closed yet (a write met a broken pipe; the reader learns it a tick later):
    // what was queued will not go. asyncio's drain() on its closing transport lets
    // connection_lost(exc) run, then raises ConnectionResetError('Connection lost').
    if (this.fatal !== null) return Promise.reject(new ConnectionResetError('Connection lost'));
    if (!this.sock.writableNeedDrain) {
      // asyncio's drain() on a closing transport lets connection_lost() run, then raises
      // ConnectionResetError('Connection lost'): after close() with nothing left to flush, the
      // connection is gone by then (and writes made after close() are dropped).
      if (this.closeCalled) {
        return Promise.reject(this.lostError ?? new ConnectionResetError('Connection lost'));
      }
      return RESOLVED;
    }
    return this.drainWaiting(options);
  }

  private async drainWaiting(options: ReadOptions | undefined): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.drainers.push(w);
    if (signal) w.setSignal(signal);
    const t = options?.timeout ?? null;
    if (t !== null) {
      w.setTimeout(t, (x) =>
        x.withdraw(false, new TimeoutError(`drain() found no room to write for ${t} ms`)),
      );
    }
    await w.block();
  }

  /** Flushes what is queued, then closes the connection. */
  close(): void {
    if (this.lingering) {
      this.endLingering();
      return;
    }
    if (this.closing) {
      this.closeCalled = true;
      return;
    }
    this.closing = true;
    this.closeCalled = true;
    this.sock.destroySoon();
    if (this.tls !== null) this.limitShutdown(this.tls.shutdownTimeout);
  }

  /**
   * asyncio's `ssl_shutdown_timeout`: a TLS close that cannot send what is queued and its
   * close_notify within `ms` (a peer that does not read) aborts the connection with
   * `TimeoutError`, which `waitClosed()` raises.
   */
  private limitShutdown(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const sock = this.sock;
    const timer = setTimeout(() => sock.destroy(new TimeoutError('SSL shutdown timed out')), ms);
    // The socket keeps the process alive while it is open; the timer need not.
    timer.unref();
    sock.once('close', () => clearTimeout(timer));
  }

  /** Closes at once, dropping whatever is still queued (asyncio's `transport.abort()`). */
  abort(): void {
    if (this.lingering) {
      this.endLingering();
      return;
    }
    this.closing = true;
    this.closeCalled = true;
    this.sock.destroy();
  }

  /** `close()`/`abort()` after both EOFs: the socket is closed already; `waitClosed()` resolves. */
  private endLingering(): void {
    this.lingering = false;
    this.closing = true;
    this.closeCalled = true;
    for (let w = this.closeWaiters.shift(); w !== null; w = this.closeWaiters.shift()) {
      w.wake(undefined);
    }
    this.ended();
  }

  /**
   * True once `close()` was called or the connection is gone — not after both sides merely sent
   * EOF: asyncio's transport is open until `close()` then.
   */
  isClosing(): boolean {
    return this.closing || (this.closed && !this.lingering);
  }

  /**
   * Waits until the connection is closed. A connection that ended with an error (the peer reset
   * it, a write met a broken pipe) raises that error here, every time, as asyncio's
   * `wait_closed()` does — whether or not `close()` was called; a clean close resolves. After
   * both sides sent EOF, it waits for `close()`, as asyncio's does.
   * @throws {ConnectionResetError} (or the `OSError` the connection ended with).
   * @throws {TimeoutError} when `timeout` ms pass first (the connection is left as it is).
   */
  async waitClosed(options?: ReadOptions): Promise<void> {
    const t = parseReadOptions('StreamWriter.waitClosed', options);
    if (this.closed && !this.lingering) {
      if (this.fatal !== null) throw this.fatal;
      return;
    }
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.closeWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (t !== null) {
      w.setTimeout(t, (x) =>
        x.withdraw(false, new TimeoutError(`waitClosed(): the connection was open after ${t} ms`)),
      );
    }
    await w.block();
  }

  /** TCP and Unix streams can be half-closed; TLS ones cannot (as asyncio's). */
  canWriteEof(): boolean {
    return this.tls === null;
  }

  /**
   * Half-closes: flushes and sends EOF; the reader keeps reading what the peer sends. Does
   * nothing once the writer is closing (after `close()`, `abort()` or a failure), as asyncio's
   * `write_eof()`: a `write` after it is then dropped, as every write after `close()` is.
   */
  writeEof(): void {
    if (this.upgrading) throw upgradeUnderWay('writeEof');
    if (this.tls !== null) {
      // asyncio's TLS transport raises NotImplementedError (a RuntimeError) here.
      throw new RuntimeError(
        'writeEof(): a TLS connection cannot be half-closed (canWriteEof() is false)',
        'ERR_WEFT_TLS_WRITE_EOF',
      );
    }
    if (this.eofWritten || this.closed || this.closing) return;
    this.eofWritten = true;
    this.sock.end();
  }

  /**
   * Information about the connection: `'peername'` and `'sockname'` (`[host, port]`, or the path
   * of a Unix socket), `'socket'` (Node's `net.Socket`: the TLSSocket on a TLS connection, so
   * that what is written to it is encrypted). A TLS connection also knows `'ssl_object'` (the
   * TLSSocket), `'sslcontext'` (its `tls.SecureContext`), `'peercert'` (the peer's certificate
   * as Node describes it — `getPeerCertificate()` — or null when it sent none), `'cipher'`
   * (`[name, protocol, secret bits]`, as Python's) and `'compression'` (null: OpenSSL's TLS
   * compression is off, as in Python); these give null there whatever the default, as asyncio's
   * do. Unknown names give `defaultValue`, or null (asyncio's `default=None`), as a name the
   * connection has no value for does.
   */
  getExtraInfo(name: 'peername' | 'sockname'): Address | null;
  getExtraInfo(name: 'socket'): NetSocket;
  getExtraInfo(name: 'ssl_object'): TLSSocket | null;
  getExtraInfo(name: 'sslcontext'): SecureContext | null;
  getExtraInfo(name: 'cipher'): [name: string, protocol: string, bits: number | null] | null;
  getExtraInfo<D = undefined>(name: string, defaultValue?: D): unknown;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case 'peername':
        return this.peername ?? defaultValue ?? null;
      case 'sockname':
        return this.sockname ?? defaultValue ?? null;
      case 'socket':
        return this.sock;
    }
    const tls = this.tls;
    if (tls === null) return defaultValue ?? null;
    switch (name) {
      case 'ssl_object':
        return tls.socket;
      case 'sslcontext':
        return tls.context;
      case 'peercert':
        return peerCertOf(tls.socket);
      case 'cipher':
        return cipherOf(tls.socket);
      case 'compression':
        return null;
      default:
        return defaultValue ?? null;
    }
  }

  /**
   * Upgrades the connection to TLS in place (asyncio's `start_tls`, Python 3.11): waits for what
   * is queued to go out (`drain()`), then makes the handshake — as the client on a connection
   * from `openConnection`, as the server on one a server accepted — and from then on reads and
   * writes go through TLS. Bytes read before the upgrade stay in the reader. `ssl` is a
   * `tls.SecureContext` or TLS options (asyncio wants an `SSLContext`: `true` is a TypeError);
   * a client must name the server (`serverHostname`, `''` for no name check) unless its options
   * bring their own `checkServerIdentity` — Python 3.11's checks no name when none is given.
   *
   * **Cancellation:** cancelling the task (or aborting `signal`) during the handshake closes
   * the connection, as a failed handshake does.
   * @throws {TypeError} the connection is TLS already, or `ssl` is not a context or options.
   * @throws {SSLCertVerificationError} {SSLError} {ConnectionResetError} {ConnectionAbortedError}
   *   the handshake failed (the connection is closed then).
   */
  async startTls(ssl: SecureContext | SslOptions, options: StartTlsOptions = {}): Promise<void> {
    const what = 'StreamWriter.startTls';
    if (this.tls !== null) {
      throw new TypeError(`${what}(): the connection is TLS already`);
    }
    if (typeof ssl !== 'object' || ssl === null) {
      throw argumentError(`${what}(): ssl must be a tls.SecureContext or TLS options`, ssl);
    }
    const side = this._serverSide ? 'server' : 'client';
    const req = checkTlsOptions(`${what}()`, { ...options, ssl }, side) as NonNullable<
      ReturnType<typeof checkTlsOptions>
    >;
    if (
      side === 'client' &&
      req.serverHostname === undefined &&
      typeof (ssl as SslOptions).checkServerIdentity !== 'function'
    ) {
      throw new RangeError(
        `${what}(): serverHostname is needed to check the server's certificate ('' checks no name)`,
      );
    }
    if (this.upgrading) throw upgradeUnderWay('startTls');
    if (this.eofWritten) {
      throw new RuntimeError(`${what}(): called after writeEof()`, 'ERR_WEFT_WRITE_AFTER_EOF');
    }
    this.upgrading = true;
    try {
      await this.upgrade(req, side, options.signal);
    } finally {
      this.upgrading = false;
    }
  }

  private async upgrade(
    req: NonNullable<ReturnType<typeof checkTlsOptions>>,
    side: 'client' | 'server',
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await this.drain(signal ? { signal } : undefined);
    const failure = this._failure();
    if (failure !== null || this.closing) {
      throw failure ?? new ConnectionResetError('Connection lost');
    }
    const { makeTlsSetup, upgradeHandshake } = await import('./tls.js');
    const setup = makeTlsSetup(req);
    const plain = this.sock;
    const binding = this._binding;
    // The plain socket is the TLS socket's now: nothing may read it or react to it beside TLS.
    binding?.unbind();
    this.unbindSocket(plain);
    let t: TLSSocket;
    try {
      t = await upgradeHandshake(plain, setup, side, signal);
    } catch (e) {
      // The handshake closed the connection: the pair learns it as from any failure.
      binding?.bind(plain);
      this.bindSocket(plain);
      const reader = this.reader;
      if (reader !== null && reader.exception() === null) reader.setException(e);
      this._lost(e);
      if (plain.destroyed && (plain as { closed?: boolean }).closed) this.onClose();
      throw e;
    }
    this.tls = tlsInfoOf(t, setup);
    this.sock = t;
    binding?.bind(t);
    this.bindSocket(t);
  }

  /**
   * `await using writer`: closes and waits until closed. Unlike `waitClosed()` it does not raise
   * the error a lost connection ended with: the reader or a `drain` reported that already, and
   * a cleanup that throws would bury the block's own error in a SuppressedError.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    try {
      await this.waitClosed();
    } catch (e) {
      if (e !== this.fatal) throw e;
    }
  }

  describe(): string {
    return 'StreamWriter';
  }
}

function checkData(what: string, data: unknown): void {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(
      `StreamWriter.${what}() expects bytes or a string: received ${data === null ? 'null' : typeof data}`,
    );
  }
}

/**
 * A write (or a second `startTls`) while `startTls` runs: plain bytes would land inside the
 * handshake and break it (asyncio's start_tls lets them through, and the connection fails).
 */
function upgradeUnderWay(what: string): RuntimeError {
  return new RuntimeError(
    `StreamWriter.${what}(): startTls() is under way: await it first`,
    'ERR_WEFT_START_TLS_UNDER_WAY',
  );
}

/** Python's `(name, protocol, secret bits)`: Node does not give the bits, the name does
 * (AES_128 → 128, CHACHA20 → 256); null when it does not say. */
function cipherOf(t: TLSSocket): [string, string, number | null] | null {
  const c = t.getCipher();
  if (!c) return null;
  const m = /(?:AES|CAMELLIA|ARIA)[_-]?(128|256)/.exec(c.name);
  const bits = m !== null ? Number(m[1]) : /CHACHA20/.test(c.name) ? 256 : null;
  return [c.name, c.version, bits];
}

/** The peer's certificate as Node describes it, or null when the peer sent none. */
function peerCertOf(t: TLSSocket): object | null {
  const cert = t.getPeerCertificate();
  return cert && Object.keys(cert).length > 0 ? cert : null;
}

function addressOf(host: string | undefined, port: number | undefined): Address | null {
  return host !== undefined && port !== undefined ? [host, port] : null;
}

/**
 * The addresses `sock` tells (null where it tells none): also those of the plain socket under
 * a TLS one, which a TLSSocket over a RawTransport cannot tell.
 */
export function namesOf(sock: NetSocket): { peername: Address | null; sockname: Address | null } {
  return {
    peername: addressOf(sock.remoteAddress, sock.remotePort),
    sockname: addressOf(sock.localAddress, sock.localPort),
  };
}
