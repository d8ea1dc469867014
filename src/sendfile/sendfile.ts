/**
 * `sendfile(socket, file, { offset, count })`: sends part of a file over a connected socket,
 * with the kernel's `sendfile(2)` (zero copy) when the addon is built, an ordinary copy loop
 * otherwise. See docs/sendfile.md for what the kernel path saves.
 *
 * Implementation notes
 * --------------------
 *   holdWrites(socket)          at the call, before any await: other writes are queued from
 *                               now on; transfers on one socket take turns
 *   flush Node's send queue     so the file's bytes follow everything written before
 *   kernel: (not over TLS: the descriptor carries TLS records; the copy loop writes through
 *           the TLSSocket, as Python's SSLSocket.sendfile falls back to send())
 *           one native transfer (native/sendfile.c): sendfile(2) loops on the libuv pool,
 *           partial sends and EAGAIN are handled there (poll(2) in the pool thread, or a wait
 *           on the event loop for a slow reader); one callback at the end. The event loop never
 *           blocks; the socket closing or a cancel stops it through sendfileCancel
 *   copy:   read 256 KiB at an offset ─► socket.write ─► wait for 'drain' when Node's queue is
 *           full (back pressure) ─► … ─► wait until the last chunk reached the kernel
 *   release                     queued writes go out, in order, after the file — those made
 *                               before the next transfer's call, then that transfer's turn
 *
 * Each step is awaited through a Waiter, so cancelling the task (or aborting `signal`) stops
 * the transfer: one waiting for its turn at once, sending nothing; the kernel path between two sendfile(2) calls or out of a wait for room, the
 * copy loop between two chunks or out of a wait for 'drain'; a file read or sendfile(2) call in
 * flight finishes first, as its descriptors and buffer are in use. Either way the socket stays
 * open and what was handed to it stays: on the copy loop that includes Node's send queue, which
 * still drains to the peer, before the writes held during the transfer. A weft Socket's timeout
 * is one more cancel: a StallTimer (stall-timer.ts) aborts the waits with TimeoutError once the
 * socket had no room for that long.
 *
 * The end of the file is where sendfile(2) or a read first returns 0, not the size fstat gave
 * at the call (Python's loop, too, sends what was appended meanwhile); the size only says
 * whether there is anything at all (Python's "empty file" check).
 */
import { read as fsRead, fstat } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { Socket as NetSocket } from 'node:net';
import { constants } from 'node:os';
import { TLSSocket } from 'node:tls';
import { describeValue } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { BrokenPipeError, fromErrno, fromSystemError, OSError } from '../socket/errors.js';
import { Socket } from '../socket/socket.js';
import { StreamWriter } from '../streams/stream-writer.js';
import { binding, type SendfileTransfer } from './native-binding.js';
import { StallTimer, sendQueueProbe } from './stall-timer.js';
import { holdWrites, rawWrite } from './write-hold.js';

/** A connected socket: weft's `Socket`, a streams `StreamWriter`, or Node's `net.Socket`. */
export type SendfileSocket = Socket | StreamWriter | NetSocket;
/** A path, an open descriptor, or a `FileHandle` (the file's own position is not used). */
export type SendfileFile = string | number | FileHandle;

export interface SendfileOptions {
  /** Where in the file to start (default 0). */
  offset?: number;
  /** How many bytes to send (default: to the end of the file, bytes appended meanwhile included). */
  count?: number | null;
  signal?: AbortSignal;
}

const COPY_CHUNK = 256 * 1024;
/** `count` left out: up to the end of the file, wherever the transfer finds it. */
const TO_EOF = Number.MAX_SAFE_INTEGER;
const ECANCELED = constants.errno.ECANCELED;
/** What sendfile(2) says of a file it cannot send from (the copy loop may still read it). */
const REFUSED_FILE = new Set([
  constants.errno.EINVAL,
  constants.errno.ENOSYS,
  constants.errno.EOPNOTSUPP,
]);
/** `kernelTransfer` sent nothing: sendfile(2) refused the file, the copy loop takes over. */
const GIVE_UP = -1;
/** The largest descriptor a C int holds. */
const MAX_FD = 0x7fffffff;
const EMPTY = Buffer.alloc(0);
const OWNER = { describe: () => 'sendfile' };

/**
 * Sends `count` bytes of `file` from `offset` over `socket` and resolves to the number of bytes
 * sent — fewer than `count` when the file is shorter. Without `count` it sends up to the end of
 * the file as the transfer finds it (bytes appended meanwhile go too), as Python's; an empty file
 * (or a pipe, or `/dev/zero`: their size is 0) sends nothing. The file's bytes come after
 * everything written to the socket before the call and before anything written during it.
 *
 * A weft `Socket`'s mode applies as in Python's `socket.sendfile`: with `settimeout(ms)` the
 * call fails with `TimeoutError('timed out')` once the socket had no room for `ms`;
 * non-blocking (`setblocking(false)`) it raises RangeError, Python's ValueError "non-blocking
 * sockets are not supported". A TLS socket gets the copy loop (the kernel would bypass TLS).
 *
 * **Cancellation:** stops between two sendfile(2) calls (the kernel path) or chunks (the copy
 * loop), or out of a wait for the peer to make room, even if the peer never reads. The socket
 * stays open: bytes already handed to it stay sent (some may still sit in Node's send queue on
 * the copy loop), and writes held during the transfer follow them, so the peer cannot tell
 * where the file stopped: close the connection. Closing the socket during the transfer stops
 * it with `BrokenPipeError`.
 * @throws {BrokenPipeError} the socket is closed or shut for writing (`writeEof()`, also one
 *   held behind an earlier transfer), or the peer went away.
 * @throws {ConnectionResetError} the peer reset the connection mid-transfer.
 * @throws {TimeoutError} a weft Socket's timeout passed with no room in the socket.
 * @throws {TypeError} an argument of the wrong type. @throws {RangeError} a bad value, a
 *   non-blocking weft Socket, a closed FileHandle.
 * @example
 * const sent = await sendfile(writer, '/var/www/big.iso', { offset: 0 });
 */
export async function sendfile(
  socket: SendfileSocket,
  file: SendfileFile,
  options: SendfileOptions | null = {},
): Promise<number> {
  const ns = netSocketOf(socket);
  // As every weft call with an options object: null is no options, a non-object a TypeError.
  if (options === null) options = {};
  if (typeof options !== 'object') {
    throw new TypeError(`sendfile: options must be an object: received ${describeValue(options)}`);
  }
  const offset = checkSize('offset', options.offset ?? 0);
  const count =
    options.count === undefined || options.count === null
      ? null
      : checkSize('count', options.count, 1);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `sendfile: signal must be an AbortSignal: received ${describeValue(signal)}`,
    );
  }
  checkFile(file);
  // Python's socket.sendfile reads the socket's timeout once, at the call.
  const timeout = socket instanceof Socket ? socket.gettimeout() : null;
  // Taken before the first await: a write made after this call comes after the file.
  const hold = holdWrites(ns);
  let opened: FileHandle | null = null;
  try {
    let fd: number;
    let size: number;
    // Node's fs errors become Python's classes (OSError with errnoName ENOENT, EBADF, …).
    try {
      if (typeof file === 'string') {
        opened = await open(file, 'r');
        fd = opened.fd;
      } else fd = typeof file === 'number' ? file : file.fd;
      const d = fd;
      size = await new Promise<number>((res, rej) =>
        fstat(d, (err, st) => (err ? rej(err) : res(st.size))),
      );
    } catch (e) {
      throw fromSystemError(e, 'sendfile');
    }
    // The order of Python's checks: an empty file (its size 0: also a pipe, /dev/zero) sends
    // nothing, whatever the socket; then a non-blocking socket is refused.
    if (size === 0) return 0;
    if (timeout === 0) {
      throw new RangeError('sendfile: non-blocking sockets are not supported');
    }
    // The size bounds nothing else: the transfer goes on to the end of the file as it finds it
    // (Python's loop calls sendfile(2) until it returns 0), appended bytes included.
    const want = count ?? TO_EOF - offset;
    await waitTurn(hold.ready, signal);
    if (signal?.aborted) throw signal.reason;
    // A `writeEof()`/`end()`/`close()` made after an earlier transfer's call and before this one
    // was held, and replayed just now: nothing goes after the EOF (sendfile(2) would still send
    // while Node's shutdown waits for its queue; Python's raises before sending a byte).
    if (ns.destroyed || !ns.writable) throw closedError(ns, 'the socket was shut for writing');
    if (offset >= size) return 0;
    const stall = timeout === null ? null : new StallTimer(timeout, signal);
    try {
      const w: Waits = { signal: waitSignal(signal, stall), stall };
      await flush(ns, w);
      const sockFd = handleFd(ns);
      // TLS: the descriptor carries the encrypted stream, so the bytes go through Node's
      // TLSSocket, as Python's SSLSocket.sendfile sends through send().
      if (binding !== null && sockFd >= 0 && !copyOnly && !(ns instanceof TLSSocket)) {
        const sent = await kernelTransfer(ns, sockFd, fd, offset, want, w);
        if (sent !== GIVE_UP) return sent;
        // sendfile(2) refused the file before a byte went (a directory, a file system that
        // cannot splice): the copy loop reads it, as Python's socket.sendfile falls back to
        // send() when os.sendfile fails at once; a file that cannot be read fails there.
      }
      return await copyTransfer(ns, fd, offset, want, w);
    } finally {
      stall?.stop();
    }
  } finally {
    hold.release();
    await opened?.close();
  }
}

/** What a transfer's waits observe: the caller's signal and the socket's timeout, in one. */
interface Waits {
  signal: AbortSignal | undefined;
  stall: StallTimer | null;
}

/** The caller's signal, or the stall timer's, which follows the caller's (see StallTimer). */
function waitSignal(
  signal: AbortSignal | undefined,
  stall: StallTimer | null,
): AbortSignal | undefined {
  return stall === null ? signal : stall.signal;
}

let copyOnly = false;

/** @internal For tests: run the copy loop even where the addon is loaded. */
export function _forceCopyLoop(on: boolean): void {
  copyOnly = on;
}

/** True when `sendfile` uses the kernel's `sendfile(2)` (but over TLS); false when it copies. */
sendfile.native = binding !== null;

async function kernelTransfer(
  ns: NetSocket,
  sockFd: number,
  fd: number,
  offset: number,
  want: number,
  w: Waits,
): Promise<number> {
  const b = binding as NonNullable<typeof binding>;
  // Checked in the same turn as the descriptor is read and duplicated by the addon: the
  // number still names this socket (after a close it could name anything).
  if (ns.destroyed || handleFd(ns) !== sockFd) throw closedError(ns);
  let transfer: SendfileTransfer | null = null;
  const done = new Promise<{ errno: number; n: number; eof: boolean }>((res) => {
    transfer = b.sendfileStart(sockFd, fd, offset, want, (errno, n, eof) => res({ errno, n, eof }));
  });
  // The addon sends through its duplicate of the descriptor, which keeps the connection open:
  // when the socket closes (JS destroyed it, or Node saw a reset) the transfer must stop too.
  const stop = (): void => {
    if (transfer !== null) b.sendfileCancel(transfer);
  };
  ns.once('close', stop);
  if (w.stall !== null) {
    const t = transfer as unknown as SendfileTransfer;
    w.stall.probe = () => b.sendfileIdle(t);
  }
  let r: { errno: number; n: number; eof: boolean };
  try {
    r = await settle(done, w.signal, stop);
  } finally {
    ns.off('close', stop);
    if (w.stall !== null) w.stall.probe = null;
  }
  if (r.errno === ECANCELED) throw closedError(ns);
  if (r.n === 0 && REFUSED_FILE.has(r.errno)) return GIVE_UP;
  if (r.errno !== 0) throw fromErrno(r.errno, 'sendfile');
  return r.n;
}

async function copyTransfer(
  ns: NetSocket,
  fd: number,
  offset: number,
  want: number,
  w: Waits,
): Promise<number> {
  let sent = 0;
  while (sent < want) {
    if (ns.destroyed) throw new BrokenPipeError('Broken pipe: the socket closed during sendfile');
    const n = Math.min(COPY_CHUNK, want - sent);
    // A fresh buffer per chunk: Node may still hold the previous one in its send queue.
    const buf = Buffer.allocUnsafe(n);
    const got = await settle(
      new Promise<number>((res, rej) =>
        fsRead(fd, buf, 0, n, offset + sent, (err, k) => (err ? rej(err) : res(k))),
      ),
      w.signal,
    );
    if (got === 0) break;
    // The socket may have died while the file was read: its 'close' would not come again.
    if (ns.destroyed) throw closedError(ns);
    sent += got;
    if (!rawWrite(ns, got < n ? buf.subarray(0, got) : buf)) {
      const room = drained(ns);
      if (w.stall !== null) w.stall.probe = sendQueueProbe(ns);
      try {
        await settle(room.done, w.signal, room.abandon);
      } finally {
        if (w.stall !== null) w.stall.probe = null;
      }
    }
  }
  // Only a chunk that reached the kernel counts as sent: a reset shows up here.
  await flush(ns, w);
  return sent;
}

/**
 * Waits until everything queued on `ns` was handed to the kernel. A cancel stops the wait at
 * once: the queued bytes are Node's, and still go out when the peer makes room.
 */
async function flush(ns: NetSocket, w: Waits): Promise<void> {
  // A socket that failed (a refused connect, a reset) says why.
  if (ns.destroyed) throw closedError(ns);
  if (ns.writableLength === 0 && !ns.connecting) return;
  let abandon!: () => void;
  const done = new Promise<void>((res, rej) => {
    abandon = res;
    // The callback cannot be withdrawn; once abandoned, it settles a promise no one awaits.
    rawWrite(ns, EMPTY, (err) => (err ? rej(fromSystemError(err, 'sendfile')) : res()));
  });
  if (w.stall !== null) w.stall.probe = sendQueueProbe(ns);
  try {
    await settle(done, w.signal, abandon);
  } finally {
    if (w.stall !== null) w.stall.probe = null;
  }
}

/**
 * An integer option: TypeError when it is not one (Python: "'float' object cannot be interpreted
 * as an integer"), RangeError when it is below `min` (0 for `offset`; 1 for `count`, as Python's
 * socket.sendfile: "count must be a positive integer (got 0)") or past 2^53.
 */
function checkSize(name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`sendfile: ${name} must be an integer: received ${describeValue(v)}`);
  }
  if (v < min || !Number.isSafeInteger(v)) {
    throw new RangeError(`sendfile: ${name} must be an integer >= ${min}: received ${v}`);
  }
  return v;
}

function checkFile(file: unknown): void {
  if (typeof file === 'string') return;
  if (typeof file === 'number' && Number.isInteger(file)) {
    // os.sendfile's in_fd -1: the system call's EBADF.
    if (file < 0) throw new OSError(`sendfile: bad file descriptor ${file}`, 'EBADF');
    // Python's OverflowError "Python int too large to convert to C int".
    if (file > MAX_FD) {
      throw new RangeError(`sendfile: file descriptor ${file} is out of range (at most ${MAX_FD})`);
    }
    return;
  }
  if (typeof file === 'object' && file !== null && typeof (file as FileHandle).fd === 'number') {
    // Python's file object: ValueError "I/O operation on closed file".
    if ((file as FileHandle).fd < 0) {
      throw new RangeError('sendfile: I/O operation on a closed FileHandle');
    }
    return;
  }
  throw new TypeError(
    `sendfile: file must be a path, a descriptor or a FileHandle: received ${describeValue(file)}`,
  );
}

/**
 * The error of a failed sendfile(2), worded as Node words a failed system call (`fromErrno` of
 * src/socket/errors.ts says the call twice: "Broken pipe (sendfile: EPIPE (sendfile))").
 */
function closedError(ns: NetSocket, why = 'the socket closed during sendfile'): Error {
  const err = (ns as unknown as { errored?: Error | null }).errored;
  return err
    ? (fromSystemError(err, 'sendfile') as Error)
    : new BrokenPipeError(`Broken pipe: ${why}`);
}

/**
 * Waits for room in Node's send queue. `abandon()` stops waiting (the chunks queued stay
 * queued and go out when the peer reads): a peer that reads nothing would otherwise hold a
 * cancelled transfer forever.
 */
function drained(ns: NetSocket): { done: Promise<void>; abandon: () => void } {
  if (ns.destroyed) return { done: Promise.reject(closedError(ns)), abandon: () => {} };
  let abandon!: () => void;
  const done = new Promise<void>((res, rej) => {
    const off = (): void => {
      ns.off('drain', onDrain);
      ns.off('error', onError);
      ns.off('close', onClose);
    };
    const onDrain = (): void => {
      off();
      res();
    };
    const onError = (err: Error): void => {
      off();
      rej(fromSystemError(err, 'sendfile'));
    };
    const onClose = (): void => {
      off();
      rej(new BrokenPipeError('Broken pipe: the socket closed during sendfile'));
    };
    abandon = onDrain;
    ns.on('drain', onDrain);
    ns.on('error', onError);
    ns.on('close', onClose);
  });
  return { done, abandon };
}

/**
 * Waits for this transfer's turn on the socket (`ready`) through a Waiter: the transfer before it
 * may wait for ever on a peer that reads nothing, and a cancel (the task's, or `signal`) must
 * end this wait at once. A transfer cancelled here sent nothing; its turn is skipped.
 */
async function waitTurn(ready: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  const w = new Waiter<void>(OWNER);
  void ready.then(() => w.wake(undefined));
  if (signal) {
    if (signal.aborted) w.cancel(signal.reason);
    else w.setSignal(signal);
  }
  await w.block();
}

/**
 * Awaits `p` through a Waiter, so task cancellation and `signal` reach the transfer
 * (`onCancel` tells the work behind `p` to stop, or abandons a wait that holds nothing); a
 * cancel is raised only once `p` settled (a read or a native transfer has its descriptors and
 * buffer in use until then).
 */
async function settle<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  onCancel?: () => void,
): Promise<T> {
  const w = new Waiter<T>(OWNER);
  p.then(
    (v) => w.wake(v),
    (e) => w.fail(e),
  );
  if (signal) {
    if (signal.aborted) w.cancel(signal.reason);
    else w.setSignal(signal);
  }
  try {
    return await w.block();
  } catch (e) {
    onCancel?.();
    await p.catch(() => undefined);
    throw fromSystemError(e, 'sendfile');
  }
}

function netSocketOf(socket: unknown): NetSocket {
  let ns: NetSocket | null = null;
  if (socket instanceof Socket) ns = socket._net();
  else if (socket instanceof StreamWriter) ns = socket.getExtraInfo('socket');
  else if (
    typeof socket === 'object' &&
    socket !== null &&
    typeof (socket as NetSocket).write === 'function' &&
    '_handle' in socket
  ) {
    ns = socket as unknown as NetSocket;
  } else {
    throw new TypeError(
      `sendfile: socket must be a weft Socket, a StreamWriter or a net.Socket: received ${describeValue(socket)}`,
    );
  }
  if (ns === null || ns.destroyed || !ns.writable) {
    throw new BrokenPipeError(
      'Broken pipe: sendfile() on a socket that is not connected or closed',
    );
  }
  return ns;
}

function handleFd(ns: NetSocket): number {
  const fd = (ns as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}
