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
 */
import { describeValue, TimeoutError } from '../internal/errors.js';
import { SHUT_RD, SHUT_RDWR, SHUT_WR } from './constants.js';
import { BlockingIOError, fromErrno, OSError } from './errors.js';
import { io } from './native-io.js';
import type { SocketAddress } from './socket.js';

const EAGAIN = 11;
const EMPTY = Buffer.alloc(0);

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
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    throw new RangeError(`timeout must be a number of ms >= 0 or null: received ${String(t)}`);
  }
  return Math.min(Math.ceil(t), 2 ** 31 - 1);
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
    return new RawSocket(check(b.listen(address[0], port, backlog), 'listen'), true);
  }

  /**
   * Adopts a descriptor handed over by `detach()` — typically in a worker thread, which shares
   * the process's descriptors (a thread per connection).
   */
  static fromFd(fd: number): RawSocket {
    binding();
    if (!Number.isInteger(fd) || fd < 0) {
      throw new RangeError(
        `RawSocket.fromFd: fd must be an integer >= 0: received ${describeValue(fd)}`,
      );
    }
    return new RawSocket(fd, false);
  }

  /** Gives up the descriptor without closing it and returns it (Python's `detach()`). */
  detach(): number {
    const fd = this.open('detach');
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
    const n = Math.min(options?.nbytes ?? buf.length, buf.length);
    return checkSync(
      binding().recvBlocking(this.open('recv'), buf, 0, n, timeoutArg(options)),
      'recv',
    );
  }

  /** `recv(n)` that parks the calling thread (see `recvIntoSync`). */
  recvSync(bufsize: number, options?: { timeout?: number | null }): Buffer {
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
   * Reads into `buf` (from 0, at most `nbytes`, default its length): the count read, 0 at EOF.
   * @throws {BlockingIOError} nothing has arrived. {ConnectionResetError} the peer reset.
   */
  recvInto(buf: Uint8Array, nbytes: number = buf.length): number {
    return check(binding().recv(this.open('recv'), buf, 0, Math.min(nbytes, buf.length)), 'recv');
  }

  /** Reads up to `bufsize` bytes into a new buffer (empty at EOF). */
  recvNowait(bufsize: number): Buffer {
    const buf = Buffer.allocUnsafe(bufsize);
    const n = this.recvInto(buf, bufsize);
    return n === 0 ? EMPTY : buf.subarray(0, n);
  }

  /** Sends what the kernel takes now; returns the count. @throws {BlockingIOError} it takes none. */
  sendNowait(data: Uint8Array, offset = 0, length: number = data.length - offset): number {
    return check(binding().send(this.open('send'), data, offset, length), 'send');
  }

  shutdown(how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) {
      throw new RangeError(`shutdown: how must be SHUT_RD, SHUT_WR or SHUT_RDWR: received ${how}`);
    }
    check(binding().shutdown(this.open('shutdown'), how), 'shutdown');
  }

  /** The local address's port (`getsockname()[1]`). */
  getsockname(): SocketAddress {
    return ['', check(binding().localPort(this.open('getsockname')), 'getsockname')];
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
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return `raw socket (fd ${this.fd})`;
  }

  private open(what: string): number {
    if (this.fd < 0)
      throw new OSError(`Bad file descriptor: ${what}() on a closed socket`, 'EBADF');
    return this.fd;
  }
}
