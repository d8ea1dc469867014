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
import { fromSystemError } from '../socket/errors.js';
import { checkReaderOptions, StreamReader, type StreamReaderOptions } from './stream-reader.js';
import { StreamWriter } from './stream-writer.js';

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
 * `checkConnectionOptions` once, when it connected or started listening — not per connection. */
export function wireStreams(
  sock: NetSocket,
  options: ConnectionOptions,
  unix?: { peername: string; sockname: string },
  noDelay = true,
): [StreamReader, StreamWriter] {
  const idle = options.idleTimeout ?? null;
  const reader = new StreamReader(options);
  const writer = new StreamWriter(sock, reader, unix);
  reader._setTransport({
    pauseReading: () => sock.pause(),
    resumeReading: () => sock.resume(),
  });
  // asyncio sets TCP_NODELAY on its transports; a plain weft socket leaves it to setsockopt.
  if (noDelay) sock.setNoDelay(true);
  sock.on('data', (chunk: Buffer) => reader._feedOwned(chunk));
  sock.on('end', () => reader.feedEof());
  // A socket a server accepted whose peer closed with nothing sent, before anyone listened: Node
  // read the EOF and emitted 'end' already (there was no data to hold it back).
  if (sock.readableEnded) reader.feedEof();
  sock.on('error', (err) => {
    const exc = fromSystemError(err);
    if (reader.exception() === null) reader.setException(exc);
    writer._lost(exc);
  });
  sock.on('close', () => {
    if (reader.exception() === null) reader.feedEof();
  });
  if (idle !== null) {
    sock.setTimeout(idle, () => {
      sock.destroy(new TimeoutError(`Connection idle for more than ${idle} ms (idleTimeout)`));
    });
  }
  return [reader, writer];
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
