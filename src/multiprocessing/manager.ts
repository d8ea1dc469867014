import { describeError, describeValue, RuntimeError } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { refuseDetached, toWire } from '../internal/process/broker-item.js';
import {
  decode,
  encode,
  kShared,
  readBytes,
  readNeedsDecode,
  type SharedState,
} from '../internal/serialize.js';
import type { TypeCode } from '../threading/typecodes.js';
import { type SharedArray, sharedArray } from './array.js';
import { Barrier, type BarrierOptions } from './barrier.js';
import { BoundedSemaphore } from './bounded-semaphore.js';
import { Condition } from './condition.js';
import { Connection } from './connection.js';
// The broker raises IndexError, KeyError and AttributeError by name: registered there, they
// decode as their class in any process or thread that has a proxy.
import { KeyError, refuseToSend } from './errors.js';
import { Event } from './event.js';
import { JoinableQueue } from './joinable-queue.js';
import { Lock } from './lock.js';
import { Queue, type QueueOptions } from './queue.js';
import { RLock } from './rlock.js';
import { Semaphore } from './semaphore.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';
import { type SharedOptions, type SharedValue, Value } from './value.js';

/** Whether `v` holds a Pipe end (looked for before encoding, which would count it as sent). */
function holdsConnection(v: unknown, seen = new Set<object>()): boolean {
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  if (v instanceof Connection) return true;
  if (kShared in v || ArrayBuffer.isView(v)) return false;
  if (v instanceof Map) {
    for (const [k, x] of v) if (holdsConnection(k, seen) || holdsConnection(x, seen)) return true;
    return false;
  }
  if (v instanceof Set) {
    for (const x of v) if (holdsConnection(x, seen)) return true;
    return false;
  }
  for (const x of Object.values(v)) if (holdsConnection(x, seen)) return true;
  return false;
}

/**
 * What the manager stores for `v`: weft's shared objects in it (a Queue, a Lock, a Value, a
 * proxy) as the descriptors a queue item carries, so that a read anywhere gets them back
 * connected, as Python's nested proxies; they were copied as their fields and came back as
 * plain objects (`q.put is not a function`). A Pipe end is refused: a handle stored there would
 * count as open for ever, and every read would revive another.
 *
 * An object (a string starting with U+00FF too) is stored as its bytes, in a queue item's wire
 * form (broker-item.ts), which the broker keeps without reading: read there with the broker
 * thread's stack, a value nested deeper than that stack can read (a thread with a larger
 * `threading.stackSize()` can write one) made its whole frame unreadable, and the broker closed
 * the sender's connection, failing every request of that thread. Now a reader that cannot read
 * it fails only its own call (`revived`). A primitive, a typed array or an ArrayBuffer nests
 * nothing: it goes as itself, as before (and costs nothing more).
 */
function stored(v: unknown, what: string): unknown {
  if (holdsConnection(v))
    throw new TypeError(
      'A Pipe Connection cannot be stored in a Manager dict, list or Namespace: pass it to the process in args or through a Queue',
    );
  if (typeof v === 'object' && (ArrayBuffer.isView(v) || v instanceof ArrayBuffer)) {
    refuseDetached(v, what);
    return encode(v, 'message');
  }
  return toWire(v, [], what);
}

/** The first byte of V8's format: the first character of a value stored as bytes. */
const FF = 0xff;

/**
 * A value the manager answered (as `stored` made it), revived. `removed`: the call took it out
 * of the manager (a pop).
 * @throws RuntimeError `ERR_WEFT_UNREADABLE_MESSAGE` naming `what` when this thread cannot read
 *   it (nested deeper than its stack can read).
 */
function revived(w: unknown, what: string, removed = false): unknown {
  let bytes: Uint8Array;
  if (typeof w === 'string') {
    if (w.charCodeAt(0) !== FF) return w;
    bytes = Buffer.from(w, 'latin1');
  } else if (Array.isArray(w)) {
    // A large value: [bytes, no tokens]. V8 reads a typed array in it as a view of the memory it
    // reads: of bytes of its own, not of the frame's (shared with whatever came with it).
    const b = w[0] as Uint8Array;
    bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
  } else return decode(w);
  try {
    const value = readBytes(bytes);
    return readNeedsDecode() ? decode(value) : value;
  } catch (e) {
    if (!(e instanceof RangeError && e.message.includes('call stack'))) throw e;
    throw new RuntimeError(
      `${what}: the value could not be read in this thread (${describeError(e)}): it is nested too deeply for this thread's stack; ${removed ? 'it was removed from the manager' : 'it stays in the manager'}: store flatter data, or read it in a thread with a larger stack (threading.stackSize())`,
      'ERR_WEFT_UNREADABLE_MESSAGE',
      { cause: e },
    );
  }
}

/**
 * `key` as a dict key, as Python hashes it. The manager keeps a dict's keys in a Map, and a key
 * reaches it as a copy: an object or array key was stored under that copy's identity, which no
 * later call could name again (`set([1, 2], v)` then `get([1, 2])` found nothing, and the entry
 * stayed, unreachable). Refused instead, as Python refuses a list or dict key ("unhashable
 * type"); Python's tuple keys, compared by value, have no such counterpart here.
 * @throws TypeError for an object or array key (a function or symbol cannot be sent at all:
 *   NotCloneableError when it is).
 */
function checkKey(key: unknown, what: string): void {
  if (key !== null && typeof key === 'object') {
    throw new TypeError(
      `${what}: unhashable key (${describeValue(key)}): a key is copied to the manager, so an object or array key could never be found again; use a string, number, bigint, boolean, null or undefined (for a tuple key, a string such as JSON.stringify([a, b]))`,
    );
  }
}

/**
 * The entries `init` gives a dict, as Python's `dict(init)`: an iterable of [key, value] pairs
 * (a Map) or a plain object's own properties. Anything else is refused — a number or a boolean
 * made an empty dict, and a pair of the wrong length a key mapped to undefined. So is any other
 * object: its own fields are not a mapping's items. A DictProxy gave its handle's `_id` and
 * `_params` as keys, and a Promise (a `toMap()` not awaited) or a Date made an empty dict, all
 * silently.
 */
function dictEntries(init: unknown, what = 'Manager.dict'): Map<unknown, unknown> {
  if (init === null || init === undefined) return new Map();
  if (typeof init === 'object' && Symbol.iterator in init) {
    const map = new Map();
    let i = 0;
    for (const entry of init as Iterable<unknown>) {
      if (!Array.isArray(entry))
        throw new TypeError(
          `${what}: element #${i} of the sequence is not a [key, value] pair: received ${describeValue(entry)}`,
        );
      if (entry.length !== 2)
        throw new RangeError(
          `${what}: element #${i} of the sequence has length ${entry.length}; 2 is required`,
        );
      checkKey(entry[0], `${what}: element #${i} of the sequence`);
      map.set(entry[0], stored(entry[1], what));
      i++;
    }
    return map;
  }
  const expects = `${what} expects a Map, an iterable of [key, value] pairs or a plain object`;
  if (typeof init === 'object') {
    const proto = Object.getPrototypeOf(init);
    if (proto === Object.prototype || proto === null)
      return new Map(Object.entries(init).map(([k, v]) => [k, stored(v, what)]));
    if (init instanceof DictProxy)
      throw new TypeError(
        `${expects}: received a DictProxy, whose items are in the manager: pass await other.toMap()${what === 'Manager.dict' ? '' : ' (or the proxy itself to DictProxy.update)'}`,
      );
    if (typeof (init as { then?: unknown }).then === 'function')
      throw new TypeError(
        `${expects}: received a Promise (or another thenable): await it first, e.g. await other.toMap()`,
      );
    throw new TypeError(
      `${expects}: received ${describeValue(init)}, whose own fields are not a mapping's items; pass Object.entries(value) if they are meant`,
    );
  }
  throw new TypeError(`${expects}: received ${describeValue(init)}`);
}

/**
 * A dict living in the manager (the broker): every method is one atomic operation there, and
 * returns a Promise. Keys and values are structured-cloned. A key is a primitive (a string, a
 * number, a bigint, a boolean, null or undefined): an object or array key is a TypeError, as
 * Python's list or dict key is unhashable.
 */
export class DictProxy<K = unknown, V = unknown> extends SharedObject {
  constructor(init?: Iterable<[K, V]> | Record<string, V> | null, shared?: SharedInit) {
    super('data', { init: shared ? null : dictEntries(init) }, shared);
  }
  protected _kind(): string {
    return 'mp:Dict';
  }
  #op(op: string, ...a: unknown[]): Promise<unknown> {
    return broker().request('dataOp', this._id, [op, ...a]);
  }
  /** Python's `d.get(key, fallback)`: the value under `key`, or `fallback` if it has none. */
  async get(key: K, fallback?: V): Promise<V | undefined> {
    checkKey(key, 'DictProxy.get');
    const found = (await this.#op('lookup', key)) as [V] | [];
    return found.length > 0 ? (revived(found[0], 'DictProxy.get') as V) : fallback;
  }
  async set(key: K, value: V): Promise<void> {
    checkKey(key, 'DictProxy.set');
    await this.#op('setItem', key, stored(value, 'DictProxy.set'));
  }
  async delete(key: K): Promise<boolean> {
    checkKey(key, 'DictProxy.delete');
    return (await this.#op('delItem', key)) as boolean;
  }
  async has(key: K): Promise<boolean> {
    checkKey(key, 'DictProxy.has');
    return (await this.#op('has', key)) as boolean;
  }
  async keys(): Promise<K[]> {
    return (await this.#op('keys')) as K[];
  }
  async size(): Promise<number> {
    return (await this.#op('size')) as number;
  }
  /**
   * Adds `n` to the number under `key` atomically (Python's `d[key] += n`); resolves to the new
   * value. @throws KeyError when the dict has no `key`. @throws TypeError when `n` or the value
   * under `key` is not a number.
   */
  async add(key: K, n: number): Promise<number> {
    checkKey(key, 'DictProxy.add');
    return (await this.#op('add', key, n)) as number;
  }
  async clear(): Promise<void> {
    await this.#op('clear');
  }
  /**
   * Python's `d.pop(key[, default])`: removes `key` and resolves to its value, in one atomic
   * operation; with no such key, resolves to `fallback` when one is given.
   * @throws KeyError when the dict has no `key` and no `fallback` was given.
   */
  async pop(key: K, ...fallback: [] | [V]): Promise<V> {
    checkKey(key, 'DictProxy.pop');
    const found = (await this.#op('pop', key)) as [V] | [];
    if (found.length > 0) return revived(found[0], 'DictProxy.pop', true) as V;
    if (fallback.length > 0) return fallback[0] as V;
    throw new KeyError(`Key not found in the dict: received ${describeValue(key)}`);
  }
  /** Python's `d.setdefault(key, value)`: the value under `key`, set to `value` first if absent. */
  async setDefault(key: K, value: V): Promise<V> {
    checkKey(key, 'DictProxy.setDefault');
    const what = 'DictProxy.setDefault';
    return revived(await this.#op('setDefault', key, stored(value, what)), what) as V;
  }
  /**
   * Python's `d.update(other)`: sets every pair of `other` (a Map, pairs, a plain object, or
   * another DictProxy, whose items are read first), atomically.
   */
  async update(other: Iterable<[K, V]> | Record<string, V> | DictProxy<K, V>): Promise<void> {
    // Python's `d.update(other_proxy)` copies the other dict's items: read in one operation
    // there, set in one here (so not atomic across the two dicts, as Python's is not either).
    const source = other instanceof DictProxy ? await other.toMap() : other;
    // Checked and encoded here, as a dict's init is: a bad pair sets nothing.
    await this.#op('update', ...dictEntries(source, 'DictProxy.update'));
  }
  /** Python's `d.values()`: a snapshot, in insertion order (one operation, as `toMap`). */
  async values(): Promise<V[]> {
    return [...(await this.toMap()).values()];
  }
  /** Python's `d.items()`: a snapshot of the [key, value] pairs (one operation). */
  async items(): Promise<Array<[K, V]>> {
    return [...(await this.toMap()).entries()];
  }
  /**
   * Python's `for k in d`: the keys, as `for await (const k of d)`. A snapshot taken by one
   * operation when the loop starts (Python's iterator is live, and raises RuntimeError when the
   * dict changes size meanwhile; this one goes on over the keys it took).
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<K, void, undefined> {
    yield* await this.keys();
  }
  /** A copy of the whole dict, as a Map. */
  async toMap(): Promise<Map<K, V>> {
    const m = (await broker().request('dataGet', this._id, [])) as Map<K, unknown>;
    for (const [k, v] of m) m.set(k, revived(v, 'DictProxy.toMap'));
    return m as Map<K, V>;
  }
  /** @internal */
  static _revive(init: SharedInit): DictProxy {
    return new DictProxy(null, init);
  }
}
registerKind('mp:Dict', (s) => DictProxy._revive(s), import.meta.url);

/**
 * A list living in the manager; every method is one atomic operation there (a Promise). An
 * index is an integer; a negative one counts from the end, as Python's `l[-1]`.
 */
export class ListProxy<T = unknown> extends SharedObject {
  constructor(init?: Iterable<T> | null, shared?: SharedInit) {
    super(
      'data',
      { init: shared ? null : [...(init ?? [])].map((v) => stored(v, 'Manager.list')) },
      shared,
    );
  }
  protected _kind(): string {
    return 'mp:List';
  }
  #op(op: string, ...a: unknown[]): Promise<unknown> {
    return broker().request('dataOp', this._id, [op, ...a]);
  }
  /**
   * Python's `l[i]`. @throws IndexError when `i` is out of range. @throws TypeError when `i` is
   * not an integer.
   */
  async get(i: number): Promise<T> {
    return revived(await this.#op('getItem', i), 'ListProxy.get') as T;
  }
  /**
   * Python's `l[i] = v`: replaces an item, never grows the list (`append` does).
   * @throws IndexError when `i` is out of range. @throws TypeError when `i` is not an integer.
   */
  async set(i: number, v: T): Promise<void> {
    await this.#op('setItem', i, stored(v, 'ListProxy.set'));
  }
  /** Appends; resolves to the new length. */
  async append(...items: T[]): Promise<number> {
    return (await this.#op('push', ...items.map((v) => stored(v, 'ListProxy.append')))) as number;
  }
  /**
   * Removes and resolves to the item at `index` (Python's `l.pop(i)`; the last one by default),
   * in one atomic operation. @throws IndexError when the list is empty or `index` is out of
   * range. @throws TypeError when `index` is not an integer.
   */
  async pop(index?: number): Promise<T> {
    const w = await (index === undefined ? this.#op('pop') : this.#op('pop', index));
    return revived(w, 'ListProxy.pop', true) as T;
  }
  /** Python's `l.insert(i, v)`: an index past either end inserts at that end. */
  async insert(index: number, v: T): Promise<void> {
    await this.#op('insert', index, stored(v, 'ListProxy.insert'));
  }
  /**
   * Python's `l.extend(items)`: appends every item, in one operation; resolves to the new length.
   * `items` may be another ListProxy (or this one), whose items are read first.
   */
  async extend(items: Iterable<T> | ListProxy<T>): Promise<number> {
    const source =
      items instanceof ListProxy ? await items.toArray() : listItems(items, 'ListProxy.extend');
    return (await this.#op('push', ...source.map((v) => stored(v, 'ListProxy.extend')))) as number;
  }
  /**
   * Python's `l.remove(v)`: removes the first item equal to `v` (compared by value, as plain
   * data compares with ==). @throws RangeError (Python's ValueError) when none is.
   */
  async remove(v: T): Promise<void> {
    await this.#op('remove', stored(v, 'ListProxy.remove'));
  }
  /** Python's `l.index(v)`: the position of the first item equal to `v`. @throws RangeError when none is. */
  async index(v: T): Promise<number> {
    return (await this.#op('index', stored(v, 'ListProxy.index'))) as number;
  }
  /** Python's `l.count(v)`: how many items equal `v`. */
  async count(v: T): Promise<number> {
    return (await this.#op('count', stored(v, 'ListProxy.count'))) as number;
  }
  async length(): Promise<number> {
    return (await this.#op('size')) as number;
  }
  /** Python's `v in l`: whether an item equals `v` (compared as `index` and `count` compare). */
  async includes(v: T): Promise<boolean> {
    return ((await this.#op('count', stored(v, 'ListProxy.includes'))) as number) > 0;
  }
  /**
   * Python's `for x in l`, as `for await (const x of l)`: the items of a snapshot taken by one
   * operation when the loop starts (Python's loop reads `l[i]` one at a time, a round trip each,
   * and sees what changes meanwhile; this one does not).
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.toArray();
  }
  /**
   * Python's `l[start:stop]`: the items of that slice, in one operation. A missing or null bound
   * is the end, a negative one counts from the end, bounds past the ends are clamped.
   * @throws TypeError when a bound is not an integer.
   */
  async slice(start?: number | null, stop?: number | null): Promise<T[]> {
    const items = (await this.#op('getSlice', start ?? null, stop ?? null)) as unknown[];
    return items.map((w) => revived(w, 'ListProxy.slice')) as T[];
  }
  /**
   * Python's `l[start:stop] = items`: the slice is replaced by `items`, however many (the list
   * grows or shrinks), in one atomic operation. @throws TypeError when a bound is not an integer
   * or `items` is not iterable.
   */
  async setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    items: Iterable<T> | ListProxy<T>,
  ): Promise<void> {
    const source =
      items instanceof ListProxy ? await items.toArray() : listItems(items, 'ListProxy.setSlice');
    const ws = source.map((v) => stored(v, 'ListProxy.setSlice'));
    await this.#op('setSlice', start ?? null, stop ?? null, ws);
  }
  async toArray(): Promise<T[]> {
    const items = (await broker().request('dataGet', this._id, [])) as unknown[];
    return items.map((w) => revived(w, 'ListProxy.toArray')) as T[];
  }
  /** @internal */
  static _revive(init: SharedInit): ListProxy {
    return new ListProxy(null, init);
  }
}
registerKind('mp:List', (s) => ListProxy._revive(s), import.meta.url);

/**
 * The items of `items` for an extend or a slice assignment, read in the call: the caller's
 * request then goes out before any made after the call (a ListProxy, read from the manager
 * first, is the one source that waits; Python's `l.extend(other_proxy)` iterates it).
 * @throws TypeError for what is not iterable.
 */
function listItems<T>(items: Iterable<T>, what: string): T[] {
  if (items === null || typeof (items as Partial<Iterable<T>>)?.[Symbol.iterator] !== 'function')
    throw new TypeError(
      `${what} expects an iterable or a ListProxy: received ${describeValue(items)}${typeof (items as { then?: unknown })?.then === 'function' ? ' (a Promise: await it first)' : ''}`,
    );
  return [...items];
}

/** Python's manager `Namespace`: named attributes shared by processes (`get`/`set`, Promises). */
export class NamespaceProxy extends SharedObject {
  constructor(init?: Record<string, unknown> | null, shared?: SharedInit) {
    if (!shared && init !== undefined && init !== null) {
      const proto = typeof init === 'object' ? Object.getPrototypeOf(init) : undefined;
      // A Map, an array or a number spread to nothing (or to '0', '1'…): say so instead.
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError(
          `Manager.Namespace expects a plain object of attributes: received ${describeValue(init)}`,
        );
    }
    const attrs: Record<string, unknown> = {};
    // Defined, not assigned: an attribute named `__proto__` would change the prototype.
    if (!shared)
      for (const [k, v] of Object.entries(init ?? {}))
        Object.defineProperty(attrs, k, {
          value: stored(v, 'Manager.Namespace'),
          enumerable: true,
          writable: true,
        });
    super('data', { init: shared ? null : attrs }, shared);
  }
  protected _kind(): string {
    return 'mp:Namespace';
  }
  /** Python's `ns.name`. @throws AttributeError when `name` was never set. */
  async get(name: string): Promise<unknown> {
    const w = await broker().request('dataOp', this._id, ['getItem', name]);
    return revived(w, 'NamespaceProxy.get');
  }
  async set(name: string, value: unknown): Promise<void> {
    const w = stored(value, 'NamespaceProxy.set');
    await broker().request('dataOp', this._id, ['setItem', name, w]);
  }
  async toObject(): Promise<Record<string, unknown>> {
    // Attribute by attribute, as each was stored: the record's keys are the caller's names (one
    // may be `$sab` or `__weft$`), not an encoded value's.
    const attrs = (await broker().request('dataGet', this._id, [])) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(attrs))
      Object.defineProperty(out, k, {
        value: revived(attrs[k], 'NamespaceProxy.toObject'),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  /** @internal */
  static _revive(init: SharedInit): NamespaceProxy {
    return new NamespaceProxy(null, init);
  }
}
registerKind('mp:Namespace', (s) => NamespaceProxy._revive(s), import.meta.url);

/**
 * What `Manager()` returns (Python's SyncManager): factories for shared dicts, lists and
 * namespaces, and for the module's queues, locks, events… as Python's `m.Queue()`, `m.Lock()`.
 * The manager's process is the broker every weft process already shares, so the objects it
 * makes are the module's own (a `m.Queue()` is a `Queue`), and `shutdown()` only stops this
 * manager from making more: what it made goes on working.
 */
export class SyncManager {
  #shut = false;
  #check(): void {
    if (this.#shut)
      throw new RuntimeError(
        'This Manager is shut down: it makes no more shared objects (those it made still work); create another with Manager()',
        'ERR_WEFT_MANAGER_SHUTDOWN',
      );
  }
  /** Python's `m.Queue(maxsize)`: a multiprocessing `Queue`. */
  Queue<T = unknown>(maxsize = 0, options: QueueOptions = {}): Queue<T> {
    this.#check();
    return new Queue<T>(maxsize, options);
  }
  /** Python's `m.JoinableQueue(maxsize)`. */
  JoinableQueue<T = unknown>(maxsize = 0, options: QueueOptions = {}): JoinableQueue<T> {
    this.#check();
    return new JoinableQueue<T>(maxsize, options);
  }
  Lock(): Lock {
    this.#check();
    return new Lock();
  }
  RLock(): RLock {
    this.#check();
    return new RLock();
  }
  Semaphore(value = 1): Semaphore {
    this.#check();
    return new Semaphore(value);
  }
  BoundedSemaphore(value = 1): BoundedSemaphore {
    this.#check();
    return new BoundedSemaphore(value);
  }
  Event(): Event {
    this.#check();
    return new Event();
  }
  Condition(lock: Lock | null = null): Condition {
    this.#check();
    return new Condition(lock);
  }
  Barrier(parties: number, options: BarrierOptions = {}): Barrier {
    this.#check();
    return new Barrier(parties, options);
  }
  /** Python's `m.Value(typecode, value)`: a shared `Value` (with its lock, unlike Python's). */
  Value(typecode: TypeCode, value = 0, options: SharedOptions = {}): SharedValue {
    this.#check();
    return Value(typecode, value, options);
  }
  /** Python's `m.Array(typecode, sequence)`: a shared `Array`. */
  Array<C extends TypeCode>(
    typecode: C,
    sizeOrItems: number | ArrayLike<number>,
    options: SharedOptions = {},
  ): SharedArray<C> {
    this.#check();
    return sharedArray(typecode, sizeOrItems, options);
  }
  /**
   * Python's `m.dict(…)`: a shared `DictProxy`, from `[key, value]` pairs or an object's own
   * properties (whose keys are strings).
   */
  dict<K, V>(init: Iterable<readonly [K, V]>): DictProxy<K, V>;
  dict<V>(init: Record<string, V>): DictProxy<string, V>;
  dict<K = unknown, V = unknown>(
    init?: Iterable<[K, V]> | Record<string, V> | null,
  ): DictProxy<K, V>;
  dict<K = unknown, V = unknown>(
    init?: Iterable<[K, V]> | Record<string, V> | null,
  ): DictProxy<K, V> {
    this.#check();
    return new DictProxy<K, V>(init);
  }
  list<T = unknown>(init?: Iterable<T> | null): ListProxy<T> {
    this.#check();
    if (init != null && typeof (init as Iterable<T>)[Symbol.iterator] !== 'function') {
      // A proxy's items are in the manager, read by a Promise: this constructor cannot wait.
      const hint =
        init instanceof ListProxy
          ? ': pass await other.toArray()'
          : typeof (init as { then?: unknown }).then === 'function'
            ? ': await the Promise first'
            : '';
      throw new TypeError(
        `Manager.list expects an iterable: received ${describeValue(init)}${hint}`,
      );
    }
    return new ListProxy<T>(init);
  }
  Namespace(init?: Record<string, unknown>): NamespaceProxy {
    this.#check();
    return new NamespaceProxy(init);
  }
  shutdown(): void {
    this.#shut = true;
  }
  [Symbol.dispose](): void {
    this.shutdown();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.shutdown();
  }

  /** @internal Refused in a Process's args, a queue item, a task's arguments (see refuseToSend). */
  [kShared](): SharedState {
    refuseToSend(
      'A Manager',
      'pass the objects it made (a dict, list, Namespace, Queue…), which arrive connected',
    );
  }
}

/** Python's `multiprocessing.Manager()`. */
export function Manager(): SyncManager {
  return new SyncManager();
}
