/**
 * A socket handed to a child process (Python's `Process(target=handle, args=(conn, addr))`):
 * the Node-level half of it. The descriptor itself travels at fork (src/internal/process/
 * fd-handoff.ts); this file makes sure no byte is lost or reordered on the way.
 *
 * Implementation notes
 * --------------------
 * Node reads a connection as soon as it exists, so by the time the parent hands it over, bytes
 * may sit in user space: in the weft socket's StreamReader and in the net.Socket's own
 * readable buffer. The hand-off, all synchronous (no event-loop turn, so libuv reads nothing
 * in between):
 *
 *   1. readStop() on the libuv handle: from now on the parent reads nothing from the descriptor;
 *      whatever the kernel holds, and whatever arrives later, is the child's to read.
 *   2. detach the handle from the net.Socket (as Node's own handle sending does), so that
 *      draining the readable buffer cannot start reading again (`_read` → `readStart`);
 *   3. drain the net.Socket into the StreamReader, then take the StreamReader's bytes: they are
 *      older than anything still in the kernel, and go into the payload;
 *   4. the child adopts descriptor PASSED_FD_BASE + slot and feeds those bytes to its reader
 *      before it reads the descriptor, so the order is the order they arrived in.
 *
 * Once the child holds the descriptor the parent closes its copy with close(2) only — never
 * shutdown(2), which would end the connection for the child too. Bytes the parent wrote and
 * Node has not yet sent cannot be recovered from libuv's queue, so a socket with any is refused.
 */
import type { Socket as NetSocket } from 'node:net';
import { encodeError } from '../internal/serialize.js';
import type { RawTransport } from '../streams/raw-transport.js';
import type { StreamReader } from '../streams/stream-reader.js';
import { BlockingIOError, OSError } from './errors.js';

export const SOCKET_KIND = 'weft:socket';

/** What the payload carries for one socket (cloned by the v8 serializer). */
export interface PassedSocket {
  /** Descriptor slot at fork: the child's descriptor is PASSED_FD_BASE + slot. */
  slot: number;
  family: number;
  proto: number;
  listening: boolean;
  backlog: number;
  peer: [string, number] | string | null;
  local: [string, number] | string | null;
  /** Bytes the parent had read and nobody had received: the child reads them first. */
  buffered: Uint8Array | null;
  /** A failure the parent had seen, after `buffered` (a reset is reported once by the kernel). */
  error: unknown;
  readShut: boolean;
  writeShut: boolean;
}

/** The libuv stream handle under a net.Socket (Node's TCPWrap/PipeWrap). */
export interface StreamHandle {
  readonly fd: number;
  reading: boolean;
  readStart(): number;
  readStop(): number;
  close(cb?: () => void): void;
}

interface HandleOwner {
  _handle: StreamHandle | null;
}

/** A connection taken away from the parent's event loop, ready to be released or restored. */
export interface DetachedConnection {
  handle: StreamHandle;
  wasReading: boolean;
}

/**
 * A connection on weft's own descriptor (a RawTransport, see src/streams/raw-transport.ts) taken
 * away the same way: it has no bytes of its own in user space (each read is emitted at once), so
 * step 1 is to stop reading it and step 3 takes the StreamReader's bytes only. The hand-off
 * happens in user code, never inside the poller's dispatch, so no byte read ahead for it is in
 * flight.
 */
export interface DetachedRaw {
  transport: RawTransport;
  fd: number;
  wasReading: boolean;
}

/** `detachConnection` for a RawTransport. @throws as detachConnection. */
export function detachRawConnection(
  t: RawTransport,
  reader: StreamReader,
  out: PassedSocket,
): DetachedRaw {
  if (t.destroyed || t._handle === null) {
    throw new OSError('Bad file descriptor: the connection is already closed', 'EBADF');
  }
  const queued = t.writableLength;
  if (queued > 0) {
    throw new BlockingIOError(
      `Cannot hand the socket to a child process while ${queued} bytes written to it still wait to be sent: let them go first (for example, await the peer's reply), then start the Process`,
    );
  }
  const wasReading = !t.isPaused();
  takeReader(reader, out);
  // After the take: a reader that had paused the transport resumes it as it empties.
  t.pause();
  return { transport: t, fd: t.fd, wasReading };
}

/** `reattachConnection` for a RawTransport. */
export function reattachRawConnection(
  reader: StreamReader,
  d: DetachedRaw,
  out: PassedSocket,
): void {
  if (out.buffered !== null) reader._feedOwned(Buffer.from(out.buffered));
  out.buffered = null;
  out.error = null;
  if (d.wasReading) d.transport.resume();
}

/**
 * Steps 1-3 above. Fills `out.buffered` and `out.error` and returns the detached handle.
 * @throws BlockingIOError while written bytes wait to be sent (nothing has changed then).
 */
export function detachConnection(
  ns: NetSocket,
  reader: StreamReader,
  out: PassedSocket,
): DetachedConnection {
  const owner = ns as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null || ns.destroyed) {
    throw new OSError('Bad file descriptor: the connection is already closed', 'EBADF');
  }
  const queued = ns.writableLength;
  if (queued > 0) {
    throw new BlockingIOError(
      `Cannot hand the socket to a child process while ${queued} bytes written to it still wait to be sent: let them go first (for example, await the peer's reply), then start the Process`,
    );
  }
  const wasReading = handle.reading;
  handle.reading = false;
  handle.readStop();
  owner._handle = null;
  // Each chunk read() returns is also emitted as 'data', which feeds the reader.
  while (ns.readableLength > 0 && ns.read() !== null);
  takeReader(reader, out);
  return { handle, wasReading };
}

/** Undoes `detachConnection` (the fork failed): the same bytes, in the same order, reading again. */
export function reattachConnection(
  ns: NetSocket,
  reader: StreamReader,
  d: DetachedConnection,
  out: PassedSocket,
): void {
  (ns as unknown as HandleOwner)._handle = d.handle;
  // The reader was emptied by the detach: feeding the bytes back restores it exactly.
  if (out.buffered !== null) reader._feedOwned(Buffer.from(out.buffered));
  out.buffered = null;
  out.error = null;
  if (d.wasReading) {
    d.handle.reading = true;
    d.handle.readStart();
  }
}

/** Resolves once `ns` has no bytes queued in user space (sent to the kernel) or is gone. */
export async function untilSent(ns: NetSocket): Promise<void> {
  while (!ns.destroyed && ns.writableLength > 0) {
    // 'drain' comes only after a write that filled the queue; the timer covers the others.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        ns.off('drain', done);
        ns.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      ns.once('drain', done);
      ns.once('close', done);
    });
  }
}

/** Trade-off: how late a child notices a queue that emptied without 'drain' vs. wake-ups. */
const POLL_MS = 20;

/** Moves what nobody has received yet into `out`: the bytes, then the failure behind them (recv
 * hands out bytes that arrived before a reset first: src/socket/socket.ts). */
function takeReader(reader: StreamReader, out: PassedSocket): void {
  if (reader.buffered > 0) out.buffered = reader._recvNowait(reader.buffered);
  const exc = reader.exception();
  if (exc !== null) out.error = encodeError(exc);
}
