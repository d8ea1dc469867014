/**
 * Wires one Node `net.Socket` to a StreamReader/StreamWriter pair (asyncio's
 * `StreamReaderProtocol`): data and EOF feed the reader, a socket error fails both sides with
 * Python's error class, pausing the reader pauses the socket.
 *
 *   net.Socket ──data──► reader._feedOwned ──(2×limit)──► socket.pause()
 *              ──end───► reader.feedEof            (half-open: the writer still writes)
 *              ──error─► reader.setException(ConnectionResetError …), writer._lost
 *              ──close─► reader.feedEof if nothing else ended it; writer wakes drain/waitClosed
 */
import type { EventEmitter } from 'node:events';
import type { Socket as NetSocket } from 'node:net';
import type { EventLoop } from '../asyncio/event-loop.js';
import { argumentError, TimeoutError } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { withErrnoClass } from '../socket/errno-class.js';
import { fromSystemError } from '../socket/errors.js';
import { checkReaderOptions, StreamReader, type StreamReaderOptions } from './stream-reader.js';
import { type Address, StreamWriter } from './stream-writer.js';
import { fromTlsError } from './tls-errors.js';
import type { TlsInfo } from './tls-options.js';

export interface ConnectionOptions extends StreamReaderOptions {
  /** Close a connection that neither reads nor writes for this many ms (TimeoutError). */
  idleTimeout?: number | null;
}

/** Throws RangeError for an option no connection could be wired with: called before connecting
 * or listening, so that a bad option fails the call instead of every connection. */
export function checkConnectionOptions(options: ConnectionOptions): void {
  checkReaderOptions(options);
  const idle = options.idleTimeout ?? null;
  if (idle !== null && (typeof idle !== 'number' || Number.isNaN(idle) || idle <= 0)) {
    throw new RangeError(`idleTimeout must be a number of ms > 0: received ${String(idle)}`);
  }
}

/**
 * A port: TypeError when it is not an integer (as weft/socket), RangeError out of `min`..65535
 * (Python's OverflowError: a RangeError, as weft/socket raises).
 */
export function checkPort(what: string, port: unknown, min: number): void {
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw argumentError(`${what}: port must be an integer`, port);
  }
  if (port < min || port > 65535) {
    throw new RangeError(`${what}: port must be in ${min}..65535: received ${port}`);
  }
}

/** A reader and writer over `sock`; `options` were checked by the caller with
 * `checkConnectionOptions` once, when it connected or started listening — not per connection.
 * `names`: the addresses to report when `sock` cannot tell them (a Unix socket, TLS over weft's
 * own descriptor); `tls`: the connection is `sock`, a TLSSocket whose handshake is done. */
export function wireStreams(
  sock: NetSocket,
  options: ConnectionOptions,
  names?: { peername: Address | null; sockname: Address | null },
  noDelay = true,
  tls: TlsInfo | null = null,
): [StreamReader, StreamWriter] {
  const reader = new StreamReader(options);
  const writer = new StreamWriter(sock, reader, names, tls);
  const binding = new ProtocolBinding(reader, writer, options.idleTimeout ?? null);
  writer._binding = binding;
  binding.bind(sock);
  // asyncio sets TCP_NODELAY on its transports; a plain weft socket leaves it to setsockopt.
  if (noDelay) sock.setNoDelay(true);
  return [reader, writer];
}

/**
 * The listeners that feed one reader/writer pair from one socket, kept so that they can be
 * taken off again: `startTls` moves the pair to the TLS socket it wraps the connection in, and
 * weft/socket's socket, adopted by weft/streams (`openConnection({ sock })`), lets go of its own.
 */
export class ProtocolBinding {
  private sock: NetSocket | null = null;
  private readonly reader: StreamReader;
  private readonly writer: StreamWriter;
  private readonly idle: number | null;

  constructor(reader: StreamReader, writer: StreamWriter, idle: number | null) {
    this.reader = reader;
    this.writer = writer;
    this.idle = idle;
  }

  private readonly onData = (chunk: Buffer): void => this.reader._feedOwned(chunk);
  private readonly onEnd = (): void => this.reader.feedEof();
  private readonly onError = (err: Error): void => {
    // A TLS connection fails with OpenSSL's errors too (a bad record): Python's SSLError.
    const exc = fromTlsError(err, null);
    if (this.reader.exception() === null) this.reader.setException(exc);
    this.writer._lost(exc);
    // net destroys a socket before its 'error'; a TLSSocket reporting OpenSSL's error (the
    // peer's alert) stays open, and a close() would then wait for ever on its close_notify.
    // asyncio's TLS transport closes on a fatal SSL error.
    if (this.sock !== null && !this.sock.destroyed) this.sock.destroy();
  };
  private readonly onClose = (): void => {
    if (this.reader.exception() === null) this.reader.feedEof();
  };
  private readonly onIdle = (): void => {
    this.sock?.destroy(
      new TimeoutError(`Connection idle for more than ${this.idle} ms (idleTimeout)`),
    );
  };

  bind(sock: NetSocket): void {
    this.sock = sock;
    this.reader._setTransport({
      pauseReading: () => sock.pause(),
      resumeReading: () => sock.resume(),
    });
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    // A socket a server accepted whose peer closed with nothing sent, before anyone listened:
    // Node read the EOF and emitted 'end' already (there was no data to hold it back).
    if (sock.readableEnded) this.reader.feedEof();
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
    if (this.idle !== null) sock.setTimeout(this.idle, this.onIdle);
  }

  /** Takes the listeners off; the socket is left as it is (open, reading or paused). */
  unbind(): void {
    const sock = this.sock;
    if (sock === null) return;
    this.sock = null;
    sock.off('data', this.onData);
    sock.off('end', this.onEnd);
    sock.off('error', this.onError);
    sock.off('close', this.onClose);
    if (this.idle !== null) {
      sock.setTimeout(0);
      sock.off('timeout', this.onIdle);
    }
  }
}

/**
 * Ties something open to the loop it belongs to (the `run()` it was made in): `close` runs when
 * that loop closes, as `run()` closes its loop when it ends, so that a server still listening or
 * a connection left open does not keep Node's process alive after `run()` — CPython's process
 * ends once `asyncio.run()` has returned. Taken off again at `owner`'s 'close' (it closed on its
 * own), so that a long `run()` opening and closing many connections keeps nothing of them.
 * `loop` null (made outside every `run()`: no loop will close it): nothing is registered.
 */
export function closeWithLoop(
  loop: EventLoop | null,
  owner: EventEmitter,
  close: () => void,
): void {
  if (loop === null) return;
  const off = loop._atClose(close);
  owner.once('close', off);
}

/** Waits for `sock` to connect. **Cancellation:** destroys it. */
export async function untilConnected(
  sock: NetSocket,
  signal: AbortSignal | undefined,
): Promise<void> {
  const w = new Waiter<void>(null);
  const onConnect = (): void => {
    w.wake(undefined);
  };
  const onError = (err: Error): void => {
    w.fail(withErrnoClass(fromSystemError(err, 'connect')));
  };
  sock.once('connect', onConnect);
  sock.once('error', onError);
  if (signal) w.setSignal(signal);
  try {
    await w.block();
  } catch (e) {
    sock.destroy();
    throw e;
  } finally {
    sock.off('connect', onConnect);
    sock.off('error', onError);
  }
}
