import type { Socket } from '../socket/socket.js';

/** `EVENT_READ`: readable — bytes, EOF or an error to read; for a listening socket, a connection
 * waiting to be accepted. */
export const EVENT_READ = 1;
/** `EVENT_WRITE`: a send would not wait (or would fail at once). */
export const EVENT_WRITE = 2;

/**
 * What a selector keeps for one registered socket (Python's `SelectorKey` named tuple): frozen.
 *
 * `fd` is the socket's `fileno()` when it was registered. Python's socket has its descriptor
 * from `socket()` on; a weft socket only from `listen()` or `connect()` on — and on Node's net
 * transport, one step later: a connect starts connect(2) on the next tick. A socket registered
 * before it had one gets `fd` -1 until it has one, then that descriptor for good (after
 * `close()` too, as Python's key keeps it).
 */
export class SelectorKey<D = unknown, F = Socket> {
  readonly fileobj: F;
  declare readonly fd: number;
  readonly events: number;
  readonly data: D;

  constructor(fileobj: F, fd: number, events: number, data: D) {
    this.fileobj = fileobj;
    let known = fd;
    Object.defineProperty(this, 'fd', {
      enumerable: true,
      get: (): number => {
        if (known < 0) {
          const now = (fileobj as { fileno?: () => number }).fileno?.() ?? -1;
          if (now >= 0) known = now;
        }
        return known;
      },
    });
    this.events = events;
    this.data = data;
    Object.freeze(this);
  }
}

/**
 * What `getMap()` returns: a read-only, live view of a selector's keys by file object, as
 * Python's `get_map()` mapping is — a socket registered (or unregistered) later shows in (or
 * leaves) a view taken before, and after `close()` the view is empty.
 */
export class SelectorMapping<F, K extends SelectorKey<unknown, F>> implements ReadonlyMap<F, K> {
  readonly #lookup: (fileobj: F) => K | undefined;
  readonly #keys: () => Iterable<K>;
  readonly #count: () => number;

  /** @internal */
  constructor(lookup: (fileobj: F) => K | undefined, keys: () => Iterable<K>, count: () => number) {
    this.#lookup = lookup;
    this.#keys = keys;
    this.#count = count;
  }

  get size(): number {
    return this.#count();
  }

  get(fileobj: F): K | undefined {
    return this.#lookup(fileobj);
  }

  has(fileobj: F): boolean {
    return this.#lookup(fileobj) !== undefined;
  }

  *entries(): MapIterator<[F, K]> {
    for (const k of [...this.#keys()]) yield [k.fileobj, k];
  }

  *keys(): MapIterator<F> {
    for (const k of [...this.#keys()]) yield k.fileobj;
  }

  *values(): MapIterator<K> {
    for (const k of [...this.#keys()]) yield k;
  }

  forEach(cb: (value: K, key: F, map: ReadonlyMap<F, K>) => void, thisArg?: unknown): void {
    for (const k of [...this.#keys()]) cb.call(thisArg, k, k.fileobj, this);
  }

  [Symbol.iterator](): MapIterator<[F, K]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'SelectorMapping';
  }
}
