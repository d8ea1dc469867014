import { describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
// The broker raises IndexError, KeyError and AttributeError by name: registered there, they
// decode as their class in any process or thread that has a proxy.
import './errors.js';
import { registerKind, type SharedInit, SharedObject } from './shared-object.js';

/**
 * A dict living in the manager (the broker): every method is one atomic operation there, and
 * returns a Promise. Keys and values are structured-cloned.
 */
export class DictProxy<K = unknown, V = unknown> extends SharedObject {
  constructor(init?: Iterable<[K, V]> | Record<string, V> | null, shared?: SharedInit) {
    const map = shared
      ? null
      : init == null
        ? new Map()
        : Symbol.iterator in Object(init)
          ? new Map(init as Iterable<[K, V]>)
          : new Map(Object.entries(init as object));
    super('data', { init: map }, shared);
  }
  protected _kind(): string {
    return 'mp:Dict';
  }
  #op(op: string, ...a: unknown[]): Promise<unknown> {
    return broker().request('dataOp', this._id, [op, ...a]);
  }
  /** Python's `d.get(key, fallback)`: the value under `key`, or `fallback` if it has none. */
  async get(key: K, fallback?: V): Promise<V | undefined> {
    const found = (await this.#op('lookup', key)) as [V] | [];
    return found.length > 0 ? found[0] : fallback;
  }
  async set(key: K, value: V): Promise<void> {
    await this.#op('setItem', key, value);
  }
  async delete(key: K): Promise<boolean> {
    return (await this.#op('delItem', key)) as boolean;
  }
  async has(key: K): Promise<boolean> {
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
    return (await this.#op('add', key, n)) as number;
  }
  async clear(): Promise<void> {
    await this.#op('clear');
  }
  /** A copy of the whole dict, as a Map. */
  async toMap(): Promise<Map<K, V>> {
    return (await broker().request('dataGet', this._id, [])) as Map<K, V>;
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
    super('data', { init: shared ? null : [...(init ?? [])] }, shared);
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
    return (await this.#op('getItem', i)) as T;
  }
  /**
   * Python's `l[i] = v`: replaces an item, never grows the list (`append` does).
   * @throws IndexError when `i` is out of range. @throws TypeError when `i` is not an integer.
   */
  async set(i: number, v: T): Promise<void> {
    await this.#op('setItem', i, v);
  }
  /** Appends; resolves to the new length. */
  async append(...items: T[]): Promise<number> {
    return (await this.#op('push', ...items)) as number;
  }
  /** Removes and resolves to the last item. @throws IndexError when the list is empty. */
  async pop(): Promise<T> {
    return (await this.#op('pop')) as T;
  }
  async length(): Promise<number> {
    return (await this.#op('size')) as number;
  }
  async toArray(): Promise<T[]> {
    return (await broker().request('dataGet', this._id, [])) as T[];
  }
  /** @internal */
  static _revive(init: SharedInit): ListProxy {
    return new ListProxy(null, init);
  }
}
registerKind('mp:List', (s) => ListProxy._revive(s), import.meta.url);

/** Python's manager `Namespace`: named attributes shared by processes (`get`/`set`, Promises). */
export class NamespaceProxy extends SharedObject {
  constructor(init?: Record<string, unknown> | null, shared?: SharedInit) {
    super('data', { init: shared ? null : { ...(init ?? {}) } }, shared);
  }
  protected _kind(): string {
    return 'mp:Namespace';
  }
  /** Python's `ns.name`. @throws AttributeError when `name` was never set. */
  async get(name: string): Promise<unknown> {
    return broker().request('dataOp', this._id, ['getItem', name]);
  }
  async set(name: string, value: unknown): Promise<void> {
    await broker().request('dataOp', this._id, ['setItem', name, value]);
  }
  async toObject(): Promise<Record<string, unknown>> {
    return (await broker().request('dataGet', this._id, [])) as Record<string, unknown>;
  }
  /** @internal */
  static _revive(init: SharedInit): NamespaceProxy {
    return new NamespaceProxy(null, init);
  }
}
registerKind('mp:Namespace', (s) => NamespaceProxy._revive(s), import.meta.url);

/**
 * What `Manager()` returns (Python's SyncManager): factories for shared dicts, lists and
 * namespaces. The manager's process is the broker every weft process already shares, so
 * `shutdown()` only stops this manager from making more.
 */
export class SyncManager {
  #shut = false;
  #check(): void {
    if (this.#shut) throw new TypeError('Manager is shut down');
  }
  dict<K = unknown, V = unknown>(
    init?: Iterable<[K, V]> | Record<string, V> | null,
  ): DictProxy<K, V> {
    this.#check();
    return new DictProxy<K, V>(init);
  }
  list<T = unknown>(init?: Iterable<T> | null): ListProxy<T> {
    this.#check();
    if (init != null && typeof (init as Iterable<T>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`Manager.list expects an iterable: received ${describeValue(init)}`);
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
}

/** Python's `multiprocessing.Manager()`. */
export function Manager(): SyncManager {
  return new SyncManager();
}
