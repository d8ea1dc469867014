/**
 * RawSocket: a non-blocking TCP socket whose descriptor belongs to weft, not to Node — the lean
 * path under `EpollSelector` (weft/selectors).
 *
 * A `Socket` (src/socket/socket.ts) lets Node read every arriving byte into a fresh Buffer and
 * push it through its stream machinery. A RawSocket calls recv(2) and send(2) itself
 * (native/io.c), into and from buffers the caller reuses, and gets readiness from an epoll set
 * of its own: two system calls and no allocation per echoed message. The price is Python's
 * non-blocking contract in full — every call returns at once or raises `BlockingIOError`, and a
 * selector says when to call again — and Linux only (`RawSocket.native` tells).
 *
 * Read-ahead: an `EpollSelector` that finds this socket readable may already have called
 * recv(2) for it, in the one native call that drained its epoll set (see
 * src/selectors/epoll-selector.ts). Those bytes — or the EOF or error that recv returned —
 * wait in the fields below, and every recv verb takes them first, so the stream the caller
 * sees is exactly the kernel's, in order:
 *
 *   | field     | meaning                                                                  |
 *   | --------- | ------------------------------------------------------------------------ |
 *   | _ra       | buffer holding the bytes read ahead (the selector's, or an owned copy)   |
 *   | _raPos    | first byte not yet received; _ra[_raPos, _raEnd) is pending             |
 *   | _raEnd    | end of the pending bytes                                                 |
 *   | _raTail   | what recv said after them: 0 nothing, RA_EOF, or -errno (a reset…)       |
 *   | _raOwner  | the selector to tell once all of it was received (it reads ahead again)  |
 *
 * Invariants: `_ra === null` exactly when no byte is pending; a tail is delivered only after
 * every pending byte; a selector reads ahead only for a socket with nothing pending (`_raTag`:
 * the tag it set in its epoll set).
 */
import { argumentError, describeValue, rangeError, TimeoutError } from '../internal/errors.js';
import { fitsCInt, SHUT_RD, SHUT_RDWR, SHUT_WR } from './constants.js';
import { BlockingIOError, fromErrno, OSError } from './errors.js';
import { io } from './native-io.js';
import type { SocketAddress } from './socket.js';

const EAGAIN = 11;
const EMPTY = Buffer.alloc(0);
/** `_raTail`: the read-ahead hit EOF. */
export const RA_EOF = 1;
/** Copies at or below this size are a JavaScript loop (Node 20's Buffer#copy allocates a view). */
const SMALL_COPY = 256;

/** @internal What a RawSocket tells the selector that read ahead for it. */
export interface ReadaheadOwner {
  /** Everything read ahead was received: the selector may read ahead again. */
  _drained(sock: RawSocket): void;
  /** The socket closed with read-ahead state: forget it. */
  _forget(sock: RawSocket): void;
}

function check(r: number, what: string): number {
  if (r >= 0) return r;
  if (-r === EAGAIN) throw new BlockingIOError();
  throw fromErrno(-r, what);
}

/** A …Sync verb's result: -EAGAIN there means the timeout passed. */
function checkSync(r: number, what: string): number {
  if (r === -EAGAIN) throw new TimeoutError(`${what}: timed out`);
  return check(r, what);
}

function timeoutArg(options: { timeout?: number | null } | undefined): number {
  const t = options?.timeout ?? null;
  if (t === null) return -1;
  if (typeof t !== 'number') throw argumentError('timeout must be a number of ms or null', t);
  if (Number.isNaN(t) || t < 0) throw rangeError('timeout must be a number of ms >= 0 or null', t);
  return Math.min(Math.ceil(t), 2 ** 31 - 1);
}

/** Python's TypeError for a size that is not an int, ValueError (RangeError) for a negative one. */
function checkSize(what: string, n: unknown): void {
  if (Number.isInteger(n) && (n as number) >= 0) return;
  if (!Number.isInteger(n)) throw argumentError(`${what} must be an integer`, n);
  throw rangeError(`negative buffersize in ${what}`, n);
}

/**
 * The byte count of a `recv_into`, as Python's: `nbytes` 0 (or absent) is the whole buffer, a
 * count larger than the buffer a RangeError (ValueError "buffer too small for requested bytes").
 */
function intoCount(buf: Uint8Array, nbytes: unknown): number {
  checkSize('recv_into', nbytes);
  const n = nbytes as number;
  if (n > buf.length) {
    throw new RangeError(
      `recv_into: buffer too small for requested bytes: ${n} requested, the buffer holds ${buf.length}`,
    );
  }
  return n === 0 ? buf.length : n;
}

/** TypeError unless `data` is bytes: the addon would otherwise report a string as EINVAL. */
function checkBytes(what: string, data: unknown): void {
  if (!(data instanceof Uint8Array)) {
    throw argumentError(`${what}: expected bytes (a Buffer or Uint8Array)`, data);
  }
}

/** `sendNowait`'s span: integers (TypeError) within `data` (RangeError), so that a bad one is not
 * an OSError EINVAL from send(2), nor a NaN length sending nothing. */
function checkSpan(data: Uint8Array, offset: unknown, length: unknown): void {
  if (!Number.isInteger(offset)) throw argumentError('send: offset must be an integer', offset);
  if (!Number.isInteger(length)) throw argumentError('send: length must be an integer', length);
  const o = offset as number;
  const n = length as number;
  if (o < 0 || n < 0 || o + n > data.length) {
    throw new RangeError(
      `send: offset ${o} and length ${n} must lie within the ${data.length} bytes given`,
    );
  }
}

function binding(): NonNullable<typeof io> {
  if (io === null) {
    throw new OSError(
      'RawSocket needs the weft_io addon (Linux, built at install): use Socket instead',
      'ENOSYS',
    );
  }
  return io;
}

/**
 * A non-blocking stream socket on a descriptor weft owns. Create a listening one with
 * `RawSocket.listen([host, port])`; `acceptNowait()` gives connected ones. Every verb is
 * synchronous and never waits.
 * @throws {BlockingIOError} a call would wait. {ConnectionResetError} {BrokenPipeError}
 */
export class RawSocket {
  /** True when the addon is loaded and RawSocket works here. */
  static readonly native: boolean = io !== null;
  private fd: number;
  private readonly listening: boolean;
  /** @internal Read-ahead state: see the table at the top of this file. */
  _ra: Buffer | null = null;
  /** @internal */
  _raPos = 0;
  /** @internal */
  _raEnd = 0;
  /** @internal */
  _raTail = 0;
  /** @internal */
  _raOwner: ReadaheadOwner | null = null;
  /** @internal A selector's mark (which poll last reported this socket). */
  _seen = 0;
  /** @internal The epoll tag its selector last set (TAG_READAHEAD or 0). */
  _raTag = 0;

  private constructor(fd: number, listening: boolean) {
    this.fd = fd;
    this.listening = listening;
  }

  /** Binds and listens on `[host, port]` (an IPv4 or IPv6 literal; port 0 picks one). */
  static listen(address: [string, number], options: { backlog?: number } = {}): RawSocket {
    const b = binding();
    if (
      !Array.isArray(address) ||
      typeof address[0] !== 'string' ||
      !Number.isInteger(address[1])
    ) {
      throw new TypeError(
        `RawSocket.listen: address must be [host, port]: received ${describeValue(address)}`,
      );
    }
    const port = address[1];
    if (port < 0 || port > 65535)
      throw new RangeError(`RawSocket.listen: port must be 0-65535: received ${port}`);
    const backlog = options.backlog ?? 128;
    if (!Number.isInteger(backlog)) {
      throw argumentError('RawSocket.listen: backlog must be an integer', backlog);
    }
    // Python's OverflowError; the addon would take only its low 32 bits.
    if (!fitsCInt(backlog)) {
      throw new RangeError(
        `RawSocket.listen: backlog must fit a C int (32 bits): received ${backlog}`,
      );
    }
    return new RawSocket(check(b.listen(address[0], port, backlog), 'listen'), true);
  }

  /**
   * Adopts a descriptor handed over by `detach()` — typically in a worker thread, which shares
   * the process's descriptors (a thread per connection).
   */
  static fromFd(fd: number): RawSocket {
    binding();
    if (!Number.isInteger(fd)) throw argumentError('RawSocket.fromFd: fd must be an integer', fd);
    if (fd < 0) throw rangeError('RawSocket.fromFd: fd must be >= 0', fd);
    return new RawSocket(fd, false);
  }

  /** Gives up the descriptor without closing it and returns it (Python's `detach()`). */
  detach(): number {
    const fd = this.open('detach');
    if (this._ra !== null || this._raTail !== 0) {
      throw new OSError(
        `detach: an EpollSelector already read ${this._raEnd - this._raPos} bytes (or EOF) of this socket ahead; receive them (recvInto) before detaching`,
        'EBUSY',
      );
    }
    this.fd = -1;
    return fd;
  }

  /**
   * `accept()` that parks the calling thread until a connection arrives.
   *
   * **Blocking:** for worker threads; never on the main thread of a server.
   * @throws {TimeoutError} `timeout` ms passed.
   */
  acceptSync(options?: { timeout?: number | null }): [RawSocket, SocketAddress | null] {
    const fd = checkSync(
      binding().acceptBlocking(this.open('accept'), timeoutArg(options)),
      'accept',
    );
    return [new RawSocket(fd, false), null];
  }

  /**
   * `recv_into` that parks the calling thread until bytes (or EOF) arrive: the count, 0 at EOF.
   *
   * **Blocking:** for worker threads; never on the main thread of a server.
   * @throws {TimeoutError} `timeout` ms passed. {ConnectionResetError} the peer reset.
   */
  recvIntoSync(buf: Uint8Array, options?: { nbytes?: number; timeout?: number | null }): number {
    checkBytes('recv_into', buf);
    const n = intoCount(buf, options?.nbytes ?? 0);
    if (n === 0) return this.recvZero().length;
    if (this._ra !== null || this._raTail !== 0) {
      this.open('recv');
      return this.takeAhead(buf, n);
    }
    return checkSync(
      binding().recvBlocking(this.open('recv'), buf, 0, n, timeoutArg(options)),
      'recv',
    );
  }

  /** `recv(n)` that parks the calling thread (see `recvIntoSync`); `recvSync(0)` is b'' at once. */
  recvSync(bufsize: number, options?: { timeout?: number | null }): Buffer {
    checkSize('recv', bufsize);
    if (bufsize === 0) return this.recvZero();
    const buf = Buffer.allocUnsafe(bufsize);
    const n = this.recvIntoSync(buf, { nbytes: bufsize, ...(options ?? {}) });
    return n === 0 ? EMPTY : buf.subarray(0, n);
  }

  /**
   * `sendall` that parks the calling thread until the kernel took every byte.
   *
   * **Blocking:** for worker threads; never on the main thread of a server.
   * @throws {TimeoutError} `timeout` ms passed. {BrokenPipeError} the peer is gone.
   */
  sendallSync(data: Uint8Array, options?: { timeout?: number | null }): void {
    checkBytes('sendall', data);
    checkSync(
      binding().sendallBlocking(this.open('sendall'), data, 0, data.length, timeoutArg(options)),
      'sendall',
    );
  }

  /** Takes a waiting connection. @throws {BlockingIOError} none is waiting. */
  acceptNowait(): [RawSocket, SocketAddress | null] {
    const fd = check(binding().accept(this.open('accept')), 'accept');
    return [new RawSocket(fd, false), null];
  }

  /**
   * Reads into `buf` (from 0, at most `nbytes`; 0 or absent: its length, as Python's
   * `recv_into`): the count read, 0 at EOF.
   * @throws {BlockingIOError} nothing has arrived. {ConnectionResetError} the peer reset.
   *   {RangeError} `nbytes` larger than `buf` (Python's ValueError).
   */
  recvInto(buf: Uint8Array, nbytes = 0): number {
    checkBytes('recv_into', buf);
    const n = intoCount(buf, nbytes);
    if (n === 0) return this.recvZero().length; // an empty buffer: 0, as Python's
    if (this._ra !== null || this._raTail !== 0) {
      this.open('recv');
      return this.takeAhead(buf, n);
    }
    return check(binding().recv(this.open('recv'), buf, 0, n), 'recv');
  }

  /** Receives from the read-ahead state (see the top of this file) instead of the kernel. */
  private takeAhead(buf: Uint8Array, n: number): number {
    const ra = this._ra;
    if (ra !== null) {
      const pos = this._raPos;
      const k = Math.min(n, this._raEnd - pos);
      if (k <= SMALL_COPY) {
        for (let i = 0; i < k; i++) buf[i] = ra[pos + i] as number;
      } else {
        ra.copy(buf, 0, pos, pos + k);
      }
      this._raPos = pos + k;
      if (this._raPos === this._raEnd) {
        this._ra = null;
        if (this._raTail === 0) this._raOwner?._drained(this);
      }
      return k;
    }
    const tail = this._raTail;
    this._raTail = 0;
    this._raOwner?._drained(this);
    if (tail === RA_EOF) return 0;
    throw fromErrno(-tail, 'recv');
  }

  /** Reads up to `bufsize` bytes into a new buffer (empty at EOF); `recvNowait(0)` is b''. */
  recvNowait(bufsize: number): Buffer {
    checkSize('recv', bufsize);
    if (bufsize === 0) return this.recvZero();
    const buf = Buffer.allocUnsafe(bufsize);
    const n = this.recvInto(buf, bufsize);
    return n === 0 ? EMPTY : buf.subarray(0, n);
  }

  /** Sends what the kernel takes now; returns the count. @throws {BlockingIOError} it takes none. */
  sendNowait(data: Uint8Array, offset = 0, length: number = data.length - offset): number {
    checkBytes('send', data);
    checkSpan(data, offset, length);
    return check(binding().send(this.open('send'), data, offset, length), 'send');
  }

  /** @throws {OSError} EBADF when closed, then EINVAL for another `how`, as shutdown(2) orders them. */
  shutdown(how: number): void {
    if (!Number.isInteger(how)) throw argumentError('shutdown: how must be an integer', how);
    const fd = this.open('shutdown');
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) {
      throw new OSError(
        `Invalid argument: shutdown() how must be SHUT_RD, SHUT_WR or SHUT_RDWR: received ${how}`,
        'EINVAL',
      );
    }
    check(binding().shutdown(fd, how), 'shutdown');
  }

  /** The local address, `[host, port]`, as `Socket.getsockname()` gives it. */
  getsockname(): SocketAddress {
    const a = binding().addressOf(this.open('getsockname'), false);
    if (typeof a === 'number') check(a, 'getsockname');
    return [(a as [string, number])[0], (a as [string, number])[1]];
  }

  fileno(): number {
    return this.fd;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Closes the descriptor (unregister it from selectors first). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    binding().close(this.fd);
    this.fd = -1;
    this._ra = null;
    this._raTail = 0;
    this._raOwner?._forget(this);
    this._raOwner = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return `raw socket (fd ${this.fd})`;
  }

  /**
   * `recv(0)`: b'' without a system call, as CPython's socket answers it (recv(2) of 0 bytes
   * could say EAGAIN); on a closed socket EBADF, as Python's.
   */
  private recvZero(): Buffer {
    this.open('recv');
    return EMPTY;
  }

  private open(what: string): number {
    if (this.fd < 0)
      throw new OSError(`Bad file descriptor: ${what}() on a closed socket`, 'EBADF');
    return this.fd;
  }
}
