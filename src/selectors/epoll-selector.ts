/**
 * `selectors.EpollSelector` over weft's RawSockets: readiness from an epoll set of weft's own
 * (native/io.c), watched by libuv.
 *
 * Implementation notes
 * --------------------
 *   select(): epollWaitRecv(timeout 0) ── events? ──► [key, mask][]
 *                 │ none
 *                 ▼
 *             wait (a Waiter: cancellable, timeout) while libuv watches the epoll fd (uv_poll)
 *                 │ libuv: the set has events ──► wake ──► epollWaitRecv again
 *
 * Read-ahead. A server's turn is "which sockets are readable?", then recv on each of them. The
 * native call that drains the epoll set also calls recv(2) on every readable connected socket,
 * into one buffer of the selector's (`rbuf`), and hands the bytes (or the EOF or error) to the
 * socket (the `_ra*` fields of src/socket/raw-socket.ts): the socket's next `recvInto` copies
 * them out without a system call or a crossing into native code. A turn of k ready sockets then
 * costs one crossing for the reads instead of k. The semantics stay Python's: a socket is
 * reported readable exactly when a recv would not raise `BlockingIOError`.
 *
 *   | state of a socket's read-ahead              | what poll() does                          |
 *   | ------------------------------------------- | ----------------------------------------- |
 *   | none                                        | tag READAHEAD: the native call may read   |
 *   | in rbuf, from the last poll (`lent`)        | copies it out of rbuf (rbuf is reused),   |
 *   |                                             | moves the socket to `holding`             |
 *   | held (owned copy, or an EOF/error pending)  | tag off (no more read-ahead: memory stays |
 *   |                                             | bounded); reported readable every poll    |
 *   | received by the caller (`_drained`)         | tag READAHEAD again                       |
 *
 * A busy loop copies nothing: a server receives what a select reported before it selects again.
 *
 * The set is level-triggered, so a socket that stays ready is reported by every select(), as
 * Python's selectors do. libuv watches the set while a select() waits; between two select()s it
 * goes on watching without keeping the process alive (stopping and starting again would cost two
 * system calls per turn), and it stops when the set turns ready with nobody selecting.
 */
import { argumentError, describeValue, rangeError } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { OSError } from '../socket/errors.js';
import { io, NOREAD, TAG_READAHEAD } from '../socket/native-io.js';
import { RA_EOF, RawSocket, type ReadaheadOwner } from '../socket/raw-socket.js';
import type { SelectOptions } from './default-selector.js';
import {
  closedSelector,
  invalidFileObject,
  KeyError,
  selectBusy,
  selectorClosed,
} from './errors.js';
import { EVENT_READ, EVENT_WRITE, SelectorKey, SelectorMapping } from './selector-key.js';

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x001;
const EPOLLOUT = 0x004;
const EPOLLERR = 0x008;
const EPOLLHUP = 0x010;
/** Tuning: events taken per epoll_wait (the native side caps at 512). */
const MAX_EVENTS = 512;
/** Tuning: the read-ahead buffer of a selector. The native side reads at most 64 KiB a socket
 * and stops reading ahead below 1 KiB of room (those sockets are reported, not read). */
const RBUF_SIZE = 256 * 1024;

function toEpoll(events: number): number {
  return (events & EVENT_READ ? EPOLLIN : 0) | (events & EVENT_WRITE ? EPOLLOUT : 0);
}

/**
 * A selector for `RawSocket`s with Python's interface: `register`, `unregister`, `modify`,
 * `select({ timeout })`, `getMap`, `getKey`, `close`. An error or hang-up on a socket reports
 * it ready for the events it was registered for (the next call then raises), as epoll does.
 *
 * `D` is the type of the registered `data`, as for `DefaultSelector`.
 *
 * **Cancellation:** a cancelled `select()` reports nothing and loses nothing.
 * @throws {OSError} ENOSYS where the addon is not built (see `EpollSelector.native`).
 */
export class EpollSelector<D = unknown> implements ReadaheadOwner {
  /** True when the addon is loaded and EpollSelector works here. */
  static readonly native: boolean = io !== null;
  private readonly poller: object;
  private readonly byFd = new Map<number, SelectorKey<D | undefined, RawSocket>>();
  private readonly out = new Int32Array(MAX_EVENTS * 4);
  private readonly rbuf = Buffer.allocUnsafeSlow(RBUF_SIZE);
  /** Sockets given bytes (or an EOF/error) in rbuf by the last poll. */
  private lent: RawSocket[] = [];
  /** Sockets whose read-ahead outlived a poll: reported readable until received. */
  private readonly holding = new Set<RawSocket>();
  private mark = 0;
  private waiter: Waiter<void> | null = null;
  private closed = false;
  private mapping: SelectorMapping<RawSocket, SelectorKey<D | undefined, RawSocket>> | null = null;

  constructor() {
    if (io === null) {
      throw new OSError(
        'EpollSelector needs the weft_io addon (Linux, built at install)',
        'ENOSYS',
      );
    }
    const p = io.epollCreate(() => this.onReady());
    if (typeof p === 'number') throw new OSError(`epoll_create1 failed (errno ${-p})`, '');
    this.poller = p;
  }

  register<E extends D>(
    fileobj: RawSocket,
    events: number,
    data?: E,
  ): SelectorKey<E | undefined, RawSocket> {
    this.checkOpen();
    checkRawSocket('register', fileobj);
    checkEvents(events);
    const fd = fileobj.fileno();
    // Python's _fileobj_to_fd: a closed socket has no descriptor (epoll_ctl would say EBADF).
    if (fd < 0) {
      throw new RangeError(`Invalid file descriptor: -1 (${fileobj.describe()} is closed)`);
    }
    if (this.byFd.has(fd)) throw new KeyError(`${fileobj.describe()} is already registered`);
    if (pending(fileobj)) this.hold(fileobj);
    const tag = this.tagFor(fileobj, events);
    const r = (io as NonNullable<typeof io>).epollCtl(
      this.poller,
      EPOLL_CTL_ADD,
      fd,
      toEpoll(events),
      tag,
    );
    if (r < 0) {
      this.holding.delete(fileobj);
      throw new OSError(`epoll_ctl(ADD) failed for fd ${fd} (errno ${-r})`, '');
    }
    fileobj._raTag = tag;
    const key = new SelectorKey(fileobj, fd, events, data);
    this.byFd.set(fd, key);
    return key;
  }

  /** After `close()` a KeyError, as Python's (nothing is registered any more). */
  unregister(fileobj: RawSocket): SelectorKey<D | undefined, RawSocket> {
    checkRawSocket('unregister', fileobj);
    const key = this.keyOf(fileobj);
    if (key === undefined || key.fileobj !== fileobj) throw notRegistered(fileobj);
    this.byFd.delete(key.fd);
    // A socket closed first left the epoll set with its descriptor: nothing to delete there.
    if (fileobj.fileno() >= 0) {
      (io as NonNullable<typeof io>).epollCtl(this.poller, EPOLL_CTL_DEL, key.fd, 0);
    }
    // What was read ahead stays the socket's: out of rbuf, which the next poll reuses.
    this.keepAhead(fileobj);
    this.holding.delete(fileobj);
    fileobj._raOwner = null;
    fileobj._raTag = 0;
    return key;
  }

  /**
   * After `close()` a KeyError, as Python's (nothing is registered any more). A socket closed
   * while registered is found by identity (as `unregister` finds it): new `events` for it raise
   * `OSError` EBADF and unregister it, as Python's epoll_ctl(MOD) of the closed descriptor does;
   * new `data` alone is recorded.
   */
  modify<E extends D>(
    fileobj: RawSocket,
    events: number,
    data?: E,
  ): SelectorKey<E | undefined, RawSocket> {
    checkRawSocket('modify', fileobj);
    const old = this.keyOf(fileobj);
    if (old === undefined || old.fileobj !== fileobj) throw notRegistered(fileobj);
    checkEvents(events);
    if (fileobj.fileno() < 0 && old.events !== events) {
      this.unregister(fileobj);
      throw new OSError(
        `Bad file descriptor: modify() of ${fileobj.describe()}, closed while registered (unregister it before closing)`,
        'EBADF',
      );
    }
    const key = new SelectorKey(fileobj, old.fd, events, data);
    this.byFd.set(old.fd, key);
    if (old.events !== events) this.setTag(key, true);
    return key;
  }

  /** Waits until a registered socket is ready (or `timeout` ms pass): `[key, mask]` pairs. */
  async select(
    options: SelectOptions = {},
  ): Promise<[SelectorKey<D | undefined, RawSocket>, number][]> {
    this.checkOpen();
    const timeout = options.timeout ?? null;
    if (timeout !== null && typeof timeout !== 'number') {
      throw argumentError('select: timeout must be a number of ms or null', timeout);
    }
    if (Number.isNaN(timeout)) throw rangeError('select: timeout must not be NaN', timeout);
    if (this.waiter !== null) throw selectBusy();
    const deadline = timeout === null ? null : performance.now() + Math.max(0, timeout);
    for (;;) {
      const ready = this.poll();
      if (ready.length > 0) return ready;
      let left: number | null = null;
      if (deadline !== null) {
        left = deadline - performance.now();
        if (left <= 0) return ready;
      }
      await this.wait(left, options.signal);
    }
  }

  /**
   * A read-only live view of the keys by socket, as Python's mapping (see DefaultSelector: a
   * closed socket not registered makes `get` and `has` raise RangeError).
   */
  getMap(): ReadonlyMap<RawSocket, SelectorKey<D | undefined, RawSocket>> {
    this.mapping ??= new SelectorMapping(
      (s: RawSocket) => {
        if (!(s instanceof RawSocket)) return undefined;
        const key = this.keyOf(s);
        if (key !== undefined) return key;
        // A closed socket that is not registered: RangeError, as getKey's (Python's ValueError).
        if (s.fileno() < 0) throw notRegistered(s);
        return undefined;
      },
      () => this.byFd.values(),
      () => this.byFd.size,
    );
    return this.mapping;
  }

  /** After `close()` a RuntimeError, as Python's "Selector is closed". */
  getKey(fileobj: RawSocket): SelectorKey<D | undefined, RawSocket> {
    if (this.closed) throw selectorClosed('getKey()');
    checkRawSocket('getKey', fileobj);
    const key = this.keyOf(fileobj);
    if (key === undefined) throw notRegistered(fileobj);
    return key;
  }

  /**
   * The key of `fileobj`, by its descriptor — or, once it is closed (fileno -1), by identity,
   * as Python's selectors search when the descriptor is gone, so that a socket closed before it
   * was unregistered can still be unregistered (and its descriptor number reused).
   */
  private keyOf(fileobj: RawSocket): SelectorKey<D | undefined, RawSocket> | undefined {
    const fd = fileobj.fileno();
    if (fd >= 0) return this.byFd.get(fd);
    for (const key of this.byFd.values()) if (key.fileobj === fileobj) return key;
    return undefined;
  }

  /** Closes the epoll set; the sockets stay open. A waiting select() raises. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.lent) this.keepAhead(s);
    for (const s of this.holding) s._raOwner = null;
    this.lent = [];
    this.holding.clear();
    this.byFd.clear();
    (io as NonNullable<typeof io>).epollClose(this.poller);
    this.waiter?.fail(closedSelector('select'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return 'EpollSelector';
  }

  /** The epoll tag a socket should have: read ahead for connected sockets registered for
   * reading that hold nothing. */
  private tagFor(sock: RawSocket, events: number): number {
    return events & EVENT_READ && !sock.isListening && !pending(sock) ? TAG_READAHEAD : 0;
  }

  /** Brings the socket's epoll registration in line with its key (`force`: the events changed). */
  private setTag(key: SelectorKey<unknown, RawSocket>, force: boolean): void {
    const s = key.fileobj;
    const tag = this.tagFor(s, key.events);
    if (!force && tag === s._raTag) return;
    s._raTag = tag;
    (io as NonNullable<typeof io>).epollCtl(
      this.poller,
      EPOLL_CTL_MOD,
      key.fd,
      toEpoll(key.events),
      tag,
    );
  }

  private hold(s: RawSocket): void {
    this.holding.add(s);
    s._raOwner = this;
  }

  /** Moves a socket's read-ahead out of rbuf (which the next poll reuses) into its own buffer. */
  private keepAhead(s: RawSocket): void {
    if (s._ra !== this.rbuf) return;
    s._ra = Buffer.from(this.rbuf.subarray(s._raPos, s._raEnd));
    s._raPos = 0;
    s._raEnd = s._ra.length;
  }

  private poll(): [SelectorKey<D | undefined, RawSocket>, number][] {
    const b = io as NonNullable<typeof io>;
    // Read-ahead the caller did not receive since the last poll: keep it, read no more for it.
    const lent = this.lent;
    if (lent.length > 0) {
      for (let i = 0; i < lent.length; i++) {
        const s = lent[i] as RawSocket;
        if (!pending(s)) continue;
        this.keepAhead(s);
        const key = this.byFd.get(s.fileno());
        if (key === undefined || key.fileobj !== s) continue;
        this.hold(s);
        this.setTag(key, false);
      }
      this.lent = [];
    }
    const n = b.epollWaitRecv(this.poller, this.out, this.rbuf);
    if (n < 0) throw new OSError(`epoll_wait failed (errno ${-n})`, '');
    const mark = ++this.mark;
    const ready: [SelectorKey<D | undefined, RawSocket>, number][] = [];
    const out = this.out;
    for (let i = 0; i < n; i++) {
      const key = this.byFd.get(out[4 * i] as number);
      if (key === undefined) continue;
      const ev = out[4 * i + 1] as number;
      const res = out[4 * i + 3] as number;
      let mask = 0;
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) mask |= EVENT_READ;
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) mask |= EVENT_WRITE;
      if (res !== NOREAD) {
        const s = key.fileobj;
        if (res > 0) {
          const off = out[4 * i + 2] as number;
          s._ra = this.rbuf;
          s._raPos = off;
          s._raEnd = off + res;
        } else {
          s._raTail = res === 0 ? RA_EOF : res;
        }
        this.lent.push(s);
      }
      // Held read-ahead is readable whatever the kernel reported now (EPOLLOUT alone, say): a
      // socket seen here is skipped by the holding loop below, so its READ is added here.
      if (this.holding.size > 0 && this.holding.has(key.fileobj)) mask |= EVENT_READ;
      mask &= key.events;
      if (mask !== 0) {
        key.fileobj._seen = mark;
        ready.push([key, mask]);
      }
    }
    // Held read-ahead is readable whether or not the kernel has more.
    if (this.holding.size > 0) {
      for (const s of this.holding) {
        if (s._seen === mark) continue;
        const key = this.byFd.get(s.fileno());
        if (key !== undefined && key.events & EVENT_READ) ready.push([key, EVENT_READ]);
      }
    }
    return ready;
  }

  /** @internal The caller received everything `sock` held: read ahead for it again. */
  _drained(sock: RawSocket): void {
    sock._raOwner = null;
    if (!this.holding.delete(sock) || this.closed) return;
    const key = this.byFd.get(sock.fileno());
    if (key !== undefined && key.fileobj === sock) this.setTag(key, false);
  }

  /** @internal `sock` closed. */
  _forget(sock: RawSocket): void {
    this.holding.delete(sock);
  }

  private onReady(): void {
    const b = io as NonNullable<typeof io>;
    if (this.waiter !== null) this.waiter.wake(undefined);
    else b.epollWatch(this.poller, 0); // ready, and nobody selecting: stop until select() waits
  }

  private async wait(ms: number | null, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.waiter = w;
    if (signal) w.setSignal(signal);
    if (ms !== null) w.setTimeout(ms, (x) => x.withdraw(true, undefined));
    (io as NonNullable<typeof io>).epollWatch(this.poller, 1);
    try {
      await w.block();
    } finally {
      this.waiter = null;
      // Go on watching (a busy loop selects again at once) but let the process exit.
      if (!this.closed) (io as NonNullable<typeof io>).epollWatch(this.poller, 2);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw closedSelector('the call');
  }
}

/** True when the socket holds read-ahead bytes or an EOF/error not yet received. */
function pending(s: RawSocket): boolean {
  return s._ra !== null || s._raTail !== 0;
}

/** Python's ValueError "Invalid file object", a TypeError here as for `register`. */
function checkRawSocket(what: string, x: unknown): void {
  if (!(x instanceof RawSocket)) {
    throw invalidFileObject(`EpollSelector.${what}`, describeValue(x), 'RawSockets (weft/socket)');
  }
}

function checkEvents(events: unknown): void {
  // Python's selectors: a non-int fails its bit test with TypeError, a bad mask is ValueError.
  if (!Number.isInteger(events)) throw argumentError('Invalid events: must be an integer', events);
  if (events === 0 || ((events as number) & ~(EVENT_READ | EVENT_WRITE)) !== 0) {
    throw rangeError('Invalid events (EVENT_READ, EVENT_WRITE or both)', events);
  }
}

/**
 * A socket that is not registered: KeyError — or, once closed (fileno -1), Python's ValueError
 * "Invalid file descriptor: -1" (RangeError), as its lookup fails on the descriptor before it
 * searches the keys (a closed socket still registered is found by identity).
 */
function notRegistered(sock: RawSocket): Error {
  if (sock.fileno() < 0) {
    return new RangeError(
      `Invalid file descriptor: -1 (${sock.describe()} is closed and not registered)`,
    );
  }
  return new KeyError(`${sock.describe()} is not registered`);
}
