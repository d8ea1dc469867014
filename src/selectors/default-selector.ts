/**
 * `selectors.DefaultSelector` over weft sockets.
 *
 * Implementation notes
 * --------------------
 * This is not a second event loop. A weft socket's transport already waits for readiness and
 * reads what arrives into user space (weft's own epoll set for a TCP socket listening on an IP
 * address and the connections it accepts, Node's loop for the others: src/socket/socket.ts); a weft socket
 * tells its watchers whenever its state may have changed (bytes or EOF arrived, a connection
 * was queued, the send queue drained, it closed). The selector turns those notifications into
 * Python's level-triggered answer:
 *
 *   socket event ──_watch──► candidates.add(sock) ──► wake the waiting select()
 *   select(): for each candidate, mask = events ∩ (readable? | writable?)
 *             ready → reported (and stays a candidate: still ready next time unless drained)
 *             not ready → dropped until its next notification
 *
 * So `select()` costs O(sockets that had activity), not O(registered sockets), and a callback
 * that leaves bytes unread sees its key again at the next `select()`, as with epoll in
 * level-triggered mode. "Readable" means a `recvNowait`/`acceptNowait` will not raise
 * `BlockingIOError`; "writable" that `sendNowait` will not.
 */
import { argumentError, describeValue, rangeError } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { OSError } from '../socket/errors.js';
import { Socket } from '../socket/socket.js';
import {
  closedSelector,
  invalidFileObject,
  KeyError,
  selectBusy,
  selectorClosed,
} from './errors.js';
import { EVENT_READ, EVENT_WRITE, SelectorKey, SelectorMapping } from './selector-key.js';

export interface SelectOptions {
  /**
   * Milliseconds; null/undefined waits until a socket is ready; <= 0 polls: what arrived up to
   * the next poll of Node's loop is reported (one turn of the loop when nothing was ready).
   */
  timeout?: number | null;
  signal?: AbortSignal;
}

/** `wait()`'s limit for a poll: one turn of Node's loop. */
const POLL = -1;

function endWait(w: Waiter<void>): void {
  w.withdraw(true, undefined);
}

interface Entry<D> {
  key: SelectorKey<D | undefined>;
  unwatch: () => void;
}

/**
 * Waits for readiness of several weft sockets at once: `register(sock, EVENT_READ, data)`, then
 * `for (const [key, mask] of await sel.select()) …`.
 *
 * **Cancellation:** a cancelled `select()` reports nothing and loses nothing: the ready sockets
 * are reported by the next call.
 *
 * `D` is the type of the `data` registered with the sockets (Python's anything, so `unknown` by
 * default), as the keys give it back: `new DefaultSelector<Callback>()` types `key.data` as
 * `Callback | undefined` (undefined for a socket registered without data).
 *
 * @example
 * const sel = new DefaultSelector<(sock: Socket, mask: number) => void>();
 * sel.register(srv, EVENT_READ, accept);
 * for (;;) for (const [key, mask] of await sel.select()) key.data?.(key.fileobj, mask);
 */
export class DefaultSelector<D = unknown> {
  private readonly entries = new Map<Socket, Entry<D>>();
  private readonly candidates = new Set<Socket>();
  private waiter: Waiter<void> | null = null;
  private closed = false;
  private mapping: SelectorMapping<Socket, SelectorKey<D | undefined>> | null = null;

  /**
   * Starts watching `fileobj` for `events` (`EVENT_READ | EVENT_WRITE`), with `data` attached.
   * @throws {KeyError} already registered. {RangeError} a bad events mask, a closed socket
   *   (Python's ValueError "Invalid file descriptor: -1"), or a closed selector. {TypeError} not
   *   a weft socket, or events not an integer.
   */
  register<E extends D>(fileobj: Socket, events: number, data?: E): SelectorKey<E | undefined> {
    this.checkOpen();
    checkSocket('register', fileobj);
    checkEvents(events);
    checkNotClosed(fileobj);
    if (this.entries.has(fileobj)) {
      throw new KeyError(`${fileobj.describe()} is already registered`);
    }
    const key = new SelectorKey(fileobj, fileobj.fileno(), events, data);
    const unwatch = fileobj._watch(() => this.onActivity(fileobj));
    this.entries.set(fileobj, { key, unwatch });
    this.candidates.add(fileobj);
    this.waiter?.wake(undefined);
    return key;
  }

  /**
   * Stops watching `fileobj`; returns its key.
   * @throws {KeyError} not registered (after `close()` too, as Python). {TypeError} not a weft
   *   socket (Python's ValueError "Invalid file object").
   */
  unregister(fileobj: Socket): SelectorKey<D | undefined> {
    checkSocket('unregister', fileobj);
    const e = this.entries.get(fileobj);
    if (e === undefined) throw notRegistered(fileobj);
    e.unwatch();
    this.entries.delete(fileobj);
    this.candidates.delete(fileobj);
    return e.key;
  }

  /**
   * Changes the events and data of a registered socket.
   * @throws {KeyError} not registered (after `close()` too, as Python). {TypeError} not a weft
   *   socket, or events not an integer. {RangeError} a bad events mask.
   */
  modify<E extends D>(fileobj: Socket, events: number, data?: E): SelectorKey<E | undefined> {
    checkSocket('modify', fileobj);
    const e = this.entries.get(fileobj);
    if (e === undefined) throw notRegistered(fileobj);
    checkEvents(events);
    // Python's DefaultSelector (epoll on Linux) asks epoll_ctl(MOD) for new events: EBADF for a
    // socket closed while registered, which it unregisters; new data alone is recorded.
    if (events !== e.key.events && isClosed(fileobj)) {
      this.unregister(fileobj);
      throw new OSError(
        `Bad file descriptor: modify() of ${fileobj.describe()}, closed while registered (unregister it before closing)`,
        'EBADF',
      );
    }
    // The key keeps its descriptor, as Python's `_replace` does (a closed socket's is -1 now).
    const key = new SelectorKey(fileobj, e.key.fd, events, data);
    e.key = key;
    this.candidates.add(fileobj);
    this.waiter?.wake(undefined);
    return key;
  }

  /**
   * Waits until at least one registered socket is ready (or `timeout` passes) and resolves to
   * `[key, mask]` pairs, `mask` being the ready subset of the key's events. Resolves to `[]` on
   * timeout.
   */
  async select(options: SelectOptions = {}): Promise<[SelectorKey<D | undefined>, number][]> {
    this.checkOpen();
    const timeout = options.timeout ?? null;
    if (timeout !== null && typeof timeout !== 'number') {
      throw argumentError('select: timeout must be a number of ms or null', timeout);
    }
    if (Number.isNaN(timeout)) throw rangeError('select: timeout must not be NaN', timeout);
    if (this.waiter !== null) throw selectBusy();
    if (timeout !== null && timeout <= 0) {
      // A poll (Python's select(0) asks the kernel at once). What the kernel has is seen only
      // when Node's loop polls and runs the sockets' I/O callbacks: answering from what is known
      // without that turn, a poll loop would never see a byte arrive. One turn (setImmediate:
      // after the loop's next poll phase) is the cost of a poll that finds nothing.
      const ready = this.collect();
      if (ready.length > 0) return ready;
      await this.wait(POLL, options.signal);
      return this.collect();
    }
    const deadline = timeout === null ? null : performance.now() + timeout;
    for (;;) {
      const ready = this.collect();
      if (ready.length > 0) return ready;
      if (deadline === null) {
        await this.wait(null, options.signal);
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return ready;
      await this.wait(left, options.signal);
    }
  }

  /**
   * The registered sockets and their keys: a read-only live view, as Python's mapping (a
   * socket registered later is in it; after `close()` it is empty). Its `get` and `has` of a
   * closed socket that is not registered raise RangeError (Python's ValueError "Invalid file
   * descriptor: -1"), as `getKey` does; a closed socket still registered is found.
   */
  getMap(): ReadonlyMap<Socket, SelectorKey<D | undefined>> {
    this.mapping ??= new SelectorMapping(
      (s: Socket) => {
        const e = this.entries.get(s);
        if (e !== undefined) return e.key;
        // A closed socket that is not registered: Python's lookup fails on its descriptor
        // (ValueError "Invalid file descriptor: -1") before it searches the keys.
        if (s instanceof Socket && isClosed(s)) throw notRegistered(s);
        return undefined;
      },
      () => [...this.entries.values()].map((e) => e.key),
      () => this.entries.size,
    );
    return this.mapping;
  }

  /**
   * The key of `fileobj`.
   * @throws {KeyError} not registered. {RuntimeError} after `close()` (Python's "Selector is
   *   closed"). {TypeError} not a weft socket (Python's ValueError "Invalid file object").
   */
  getKey(fileobj: Socket): SelectorKey<D | undefined> {
    if (this.closed) throw selectorClosed('getKey()');
    checkSocket('getKey', fileobj);
    const e = this.entries.get(fileobj);
    if (e === undefined) throw notRegistered(fileobj);
    return e.key;
  }

  /** Unregisters everything; a waiting `select()` raises. The sockets stay open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.unwatch();
    this.entries.clear();
    this.candidates.clear();
    this.waiter?.fail(closedSelector('select'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  describe(): string {
    return 'DefaultSelector';
  }

  private onActivity(sock: Socket): void {
    // A key made before the socket had a descriptor takes it now (see SelectorKey), so that it
    // keeps it after the socket is closed.
    void this.entries.get(sock)?.key.fd;
    this.candidates.add(sock);
    const w = this.waiter;
    if (w !== null) w.wake(undefined);
  }

  private collect(): [SelectorKey<D | undefined>, number][] {
    const ready: [SelectorKey<D | undefined>, number][] = [];
    for (const sock of this.candidates) {
      const e = this.entries.get(sock);
      if (e === undefined) {
        this.candidates.delete(sock);
        continue;
      }
      const ev = e.key.events;
      let mask = 0;
      if (ev & EVENT_READ && sock._readable()) mask |= EVENT_READ;
      if (ev & EVENT_WRITE && sock._writable()) mask |= EVENT_WRITE;
      if (mask !== 0) ready.push([e.key, mask]);
      else this.candidates.delete(sock);
    }
    return ready;
  }

  /** Waits for activity, `ms` at most (null: no limit; POLL: one turn of Node's loop). */
  private async wait(ms: number | null, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    const w = new Waiter<void>(this);
    this.waiter = w;
    if (signal) w.setSignal(signal);
    let turn: NodeJS.Immediate | null = null;
    if (ms === POLL) turn = setImmediate(endWait, w);
    else if (ms !== null) w.setTimeout(ms, endWait);
    try {
      await w.block();
    } finally {
      if (turn !== null) clearImmediate(turn);
      this.waiter = null;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw closedSelector('the call');
  }
}

/**
 * Python's selectors refuse a socket without a descriptor (ValueError "Invalid file descriptor:
 * -1"): a closed one would be reported ready by every select(). A weft socket not yet listening
 * or connecting has none either and may be registered (see SelectorKey); of the two, only a
 * closed one raises OSError EBADF from getsockname().
 */
function checkNotClosed(sock: Socket): void {
  if (isClosed(sock)) {
    throw new RangeError(
      `Invalid file descriptor: -1 (${sock.describe()} is closed; register it before closing)`,
    );
  }
}

/** The socket was closed (of the sockets without a descriptor, only a closed one raises EBADF
 * from getsockname()). */
function isClosed(sock: Socket): boolean {
  if (sock.fileno() >= 0) return false;
  try {
    sock.getsockname();
    return false;
  } catch (e) {
    if (e instanceof OSError && e.errnoName === 'EBADF') return true;
    throw e;
  }
}

/**
 * A socket that is not registered: KeyError — or, once closed, Python's ValueError "Invalid file
 * descriptor: -1" (RangeError), as its lookup fails on the descriptor before it searches the
 * keys (a closed socket still registered is found by identity).
 */
function notRegistered(sock: Socket): Error {
  if (isClosed(sock)) {
    return new RangeError(
      `Invalid file descriptor: -1 (${sock.describe()} is closed and not registered)`,
    );
  }
  return new KeyError(`${sock.describe()} is not registered`);
}

function checkSocket(what: string, x: unknown): void {
  if (!(x instanceof Socket)) {
    throw invalidFileObject(
      `DefaultSelector.${what}`,
      describeObj(x),
      'weft sockets (weft/socket)',
    );
  }
}

function checkEvents(events: unknown): void {
  // Python's selectors: a non-int fails its bit test with TypeError, a bad mask is ValueError.
  if (!Number.isInteger(events)) throw argumentError('Invalid events: must be an integer', events);
  if (events === 0 || ((events as number) & ~(EVENT_READ | EVENT_WRITE)) !== 0) {
    throw rangeError('Invalid events (EVENT_READ, EVENT_WRITE or both)', events);
  }
}

function describeObj(x: unknown): string {
  return x instanceof Socket ? x.describe() : describeValue(x);
}
