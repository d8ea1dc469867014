/**
 * `selectors.EpollSelector` over weft's RawSockets: readiness from an epoll set of weft's own
 * (native/io.c), watched by libuv.
 *
 * Implementation notes
 * --------------------
 *   select(): epoll_wait(timeout 0) ── events? ──► [key, mask][]
 *                 │ none
 *                 ▼
 *             watch the epoll fd in libuv (uv_poll) and wait (a Waiter: cancellable, timeout)
 *                 │ libuv: the set has events ──► stop watching, wake ──► epoll_wait again
 *
 * The set is level-triggered, so a socket that stays ready is reported by every select(), as
 * Python's selectors do. libuv watches the set only while a select() waits: a ready set that
 * nobody selects on costs nothing and does not keep the process alive.
 */
import { Waiter } from '../internal/waiter.js';
import { OSError } from '../socket/errors.js';
import { io } from '../socket/native-io.js';
import { RawSocket } from '../socket/raw-socket.js';
import type { SelectOptions } from './default-selector.js';
import { KeyError } from './errors.js';
import { EVENT_READ, EVENT_WRITE, SelectorKey } from './selector-key.js';

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x001;
const EPOLLOUT = 0x004;
const EPOLLERR = 0x008;
const EPOLLHUP = 0x010;
/** Tuning: events taken per epoll_wait (the native side caps at 512). */
const MAX_EVENTS = 512;

function toEpoll(events: number): number {
  return (events & EVENT_READ ? EPOLLIN : 0) | (events & EVENT_WRITE ? EPOLLOUT : 0);
}

/**
 * A selector for `RawSocket`s with Python's interface: `register`, `unregister`, `modify`,
 * `select({ timeout })`, `getMap`, `getKey`, `close`. An error or hang-up on a socket reports
 * it ready for the events it was registered for (the next call then raises), as epoll does.
 *
 * **Cancellation:** a cancelled `select()` reports nothing and loses nothing.
 * @throws {OSError} ENOSYS where the addon is not built (see `EpollSelector.native`).
 */
export class EpollSelector {
  /** True when the addon is loaded and EpollSelector works here. */
  static readonly native: boolean = io !== null;
  private readonly poller: object;
  private readonly byFd = new Map<number, SelectorKey<any, RawSocket>>();
  private readonly out = new Int32Array(MAX_EVENTS * 2);
  private waiter: Waiter<void> | null = null;
  private closed = false;

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

  register<D>(fileobj: RawSocket, events: number, data?: D): SelectorKey<D | undefined, RawSocket> {
    this.checkOpen();
    if (!(fileobj instanceof RawSocket)) {
      throw new TypeError('EpollSelector watches RawSockets (weft/socket) only');
    }
    checkEvents(events);
    const fd = fileobj.fileno();
    if (this.byFd.has(fd)) throw new KeyError(`${fileobj.describe()} is already registered`);
    const r = (io as NonNullable<typeof io>).epollCtl(
      this.poller,
      EPOLL_CTL_ADD,
      fd,
      toEpoll(events),
    );
    if (r < 0) throw new OSError(`epoll_ctl(ADD) failed for fd ${fd} (errno ${-r})`, '');
    const key = new SelectorKey(fileobj, fd, events, data);
    this.byFd.set(fd, key);
    return key;
  }

  unregister(fileobj: RawSocket): SelectorKey<unknown, RawSocket> {
    const fd = fileobj.fileno();
    const key = this.byFd.get(fd);
    if (key === undefined || key.fileobj !== fileobj) {
      throw new KeyError(`${fileobj.describe()} is not registered`);
    }
    this.byFd.delete(fd);
    (io as NonNullable<typeof io>).epollCtl(this.poller, EPOLL_CTL_DEL, fd, 0);
    return key;
  }

  modify<D>(fileobj: RawSocket, events: number, data?: D): SelectorKey<D | undefined, RawSocket> {
    this.checkOpen();
    checkEvents(events);
    const fd = fileobj.fileno();
    const old = this.byFd.get(fd);
    if (old === undefined) throw new KeyError(`${fileobj.describe()} is not registered`);
    if (old.events !== events) {
      (io as NonNullable<typeof io>).epollCtl(this.poller, EPOLL_CTL_MOD, fd, toEpoll(events));
    }
    const key = new SelectorKey(fileobj, fd, events, data);
    this.byFd.set(fd, key);
    return key;
  }

  /** Waits until a registered socket is ready (or `timeout` ms pass): `[key, mask]` pairs. */
  async select(options: SelectOptions = {}): Promise<[SelectorKey<any, RawSocket>, number][]> {
    this.checkOpen();
    const timeout = options.timeout ?? null;
    if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
      throw new TypeError(`select: timeout must be a number of ms or null: received ${timeout}`);
    }
    if (this.waiter !== null) throw new Error('select() is already waiting in another task');
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

  getMap(): ReadonlyMap<RawSocket, SelectorKey<unknown, RawSocket>> {
    const m = new Map<RawSocket, SelectorKey<unknown, RawSocket>>();
    for (const k of this.byFd.values()) m.set(k.fileobj, k);
    return m;
  }

  getKey(fileobj: RawSocket): SelectorKey<unknown, RawSocket> {
    const key = this.byFd.get(fileobj.fileno());
    if (key === undefined) throw new KeyError(`${fileobj.describe()} is not registered`);
    return key;
  }

  /** Closes the epoll set; the sockets stay open. A waiting select() raises. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.byFd.clear();
    (io as NonNullable<typeof io>).epollClose(this.poller);
    this.waiter?.fail(new Error('The selector was closed'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return 'EpollSelector';
  }

  private poll(): [SelectorKey<any, RawSocket>, number][] {
    const n = (io as NonNullable<typeof io>).epollWait(this.poller, this.out);
    if (n < 0) throw new OSError(`epoll_wait failed (errno ${-n})`, '');
    const ready: [SelectorKey<any, RawSocket>, number][] = [];
    const out = this.out;
    for (let i = 0; i < n; i++) {
      const key = this.byFd.get(out[2 * i] as number);
      if (key === undefined) continue;
      const ev = out[2 * i + 1] as number;
      let mask = 0;
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) mask |= EVENT_READ;
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) mask |= EVENT_WRITE;
      mask &= key.events;
      if (mask !== 0) ready.push([key, mask]);
    }
    return ready;
  }

  private onReady(): void {
    (io as NonNullable<typeof io>).epollWatch(this.poller, false);
    this.waiter?.wake(undefined);
  }

  private async wait(ms: number | null, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.waiter = w;
    if (signal) w.setSignal(signal);
    if (ms !== null) w.setTimeout(ms, (x) => x.withdraw(true, undefined));
    (io as NonNullable<typeof io>).epollWatch(this.poller, true);
    try {
      await w.block();
    } finally {
      this.waiter = null;
      if (!this.closed) (io as NonNullable<typeof io>).epollWatch(this.poller, false);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('The selector is closed');
  }
}

function checkEvents(events: unknown): void {
  if (
    typeof events !== 'number' ||
    !Number.isInteger(events) ||
    events === 0 ||
    (events & ~(EVENT_READ | EVENT_WRITE)) !== 0
  ) {
    throw new RangeError(`Invalid events: ${String(events)} (EVENT_READ, EVENT_WRITE or both)`);
  }
}
