/**
 * How values cross a thread boundary. Two carriers:
 *
 * - **message** (`postMessage`, `workerData`): structured clone, which shares SharedArrayBuffers
 *   but forgets classes. Shared weft objects become descriptors `{ [TAG]: kind, s: state }`
 *   (state holding their buffers) and are revived, connected to the same memory, on arrival.
 * - **bytes** (queue items): `v8.serialize`, which cannot carry a SharedArrayBuffer at all; a
 *   descriptor's buffers become registry ids (see shm/sab-registry.ts).
 * - **wire** (a Listener/Client connection): bytes for a process that may belong to another
 *   tree, with another broker, so no shared object can go (`WireRefusal`, raised by the same
 *   walk that looks for errors to encode).
 *
 * Small plain values (primitives, plain objects, arrays) are written and read as bytes by
 * v8-format.ts, in JavaScript and in V8's own format, without `v8.serialize`'s fixed cost; that
 * walk gives up at the first object it does not know, and the value takes the path above.
 *
 * Errors are descriptors too, so that they keep their class, `code`, message and fields, with the
 * remote stack kept as `cause` (CPython's `_RemoteTraceback`); which class a receiver rebuilds
 * one as is error-registry.ts's question.
 *
 * A shared class opts in by implementing `[kShared]()` and registering its kind with
 * `registerSharedKind` from its own module; the module URL is remembered so that a worker can
 * import it (and so register the reviver) before it decodes anything.
 */
import { createRequire } from 'node:module';
import { types } from 'node:util';
import v8 from 'node:v8';
import {
  BUILTIN_ERRORS,
  describeClass,
  type ErrorClass,
  errorClassFor,
  kErrorField,
  registerErrorClass,
  registeredErrorNames,
} from './error-registry.js';
import { brandAs, brandOf, setBrand, WeftError } from './errors.js';
import { lookup, share } from './shm/sab-registry.js';
import { NOT_SMALL, readMarked, readSmall, writeSmall } from './v8-format.js';

export const TAG = '__weft$';
/** The key of a SharedArrayBuffer's registry id in bytes (`{ $sab: id }`). */
const SAB = '$sab';
/**
 * The kind of an escape: `{ [TAG]: ESCAPED, o }` carries `o`, an object of the caller's that has
 * a key of weft's markers (TAG or SAB) of its own, so that the receiver reads it as data and not
 * as a descriptor or a buffer id. Not a kind any module registers.
 */
const ESCAPED = 'escaped';
/** Implemented by every object that must arrive connected rather than copied. */
export const kShared = Symbol.for('weft.shared');

export interface SharedState {
  kind: string;
  state: Record<string, unknown>;
}

export interface Shareable {
  [kShared](): SharedState;
}

type Reviver = (state: Record<string, unknown>) => object;
/**
 * Gives up an encoded object that will never be revived (what its encode counted). A kind that
 * registers one counts its handles (a Pipe end); a handle of it that was revived but that nobody
 * will receive (`decodeOrDiscard` failing after reviving it) is given back by its `close()` —
 * so its reviver must return a new handle, never one this thread already holds.
 */
type Discarder = (state: Record<string, unknown>) => void;

interface Kinds {
  revivers: Map<string, Reviver>;
  discarders?: Map<string, Discarder>;
  modules: Set<string>;
  /** The kinds each module of `modules` registered (see `processModules`). */
  kindsOf?: Map<string, Set<string>>;
  /**
   * Where error classes were registered by name before error-registry.ts: unused here, but an
   * older copy of weft loaded into this process after this one registers into it at import.
   */
  errors: Map<string, unknown>;
}
const KEY = Symbol.for('weft.sharedKinds');
const holder = globalThis as unknown as { [KEY]?: Kinds };
const kinds: Kinds = (holder[KEY] ??= {
  revivers: new Map(),
  modules: new Set(),
  errors: new Map(),
});

// Error classes have their own registry (error-registry.ts), which errors files import without
// loading this module; these two names are kept where the modules already import them from.
export { registerErrorClass, registerUserErrorClass } from './error-registry.js';

export function registerSharedKind(
  kind: string,
  revive: Reviver,
  moduleUrl: string,
  discard?: Discarder,
): void {
  if (!kinds.revivers.has(kind)) kinds.revivers.set(kind, revive);
  if (discard !== undefined) (kinds.discarders ??= new Map()).set(kind, discard);
  kinds.modules.add(moduleUrl);
  const of = (kinds.kindsOf ??= new Map());
  let mine = of.get(moduleUrl);
  if (mine === undefined) of.set(moduleUrl, (mine = new Set()));
  mine.add(kind);
}

/** Modules a worker imports before decoding, so that every kind it may meet has a reviver. */
export function sharedModules(): string[] {
  return [...kinds.modules];
}

/**
 * Kinds whose state is this process's own memory: their descriptors hold SharedArrayBuffers,
 * which every carrier to another process refuses (a child's channel, the multiprocessing
 * broker's frames), so no other process ever receives one: weft/threading's and weft/queue's
 * primitives, and a started threading Timer (its handle carries its `finished` Event). Not the
 * Thread and local handles, which hold none and do cross.
 * test/multiprocessing/child-preload.test.ts checks each kind here against a live instance, and
 * that every other threading or queue kind is one of those two.
 */
export const IN_PROCESS_KINDS: ReadonlySet<string> = new Set([
  'threading.Lock',
  'threading.RLock',
  'threading.Semaphore',
  'threading.BoundedSemaphore',
  'threading.Condition',
  'threading.Event',
  'threading.Barrier',
  'threading.Value',
  'threading.Array',
  'threading.Timer',
  'queue.Queue',
  'queue.LifoQueue',
  'queue.PriorityQueue',
  'queue.SimpleQueue',
  'queue.JoinableQueue',
]);

/**
 * The modules a child process imports before it decodes anything: `sharedModules()` less those
 * that registered kinds of IN_PROCESS_KINDS only. Error classes are not found through these modules
 * (a class is registered by the module that defines it, which a child loads when its code needs it;
 * the test compares the error classes a child knows with its parent's). A child never decodes
 * those kinds, and a parent that used weft/threading or weft/queue besides multiprocessing had
 * each of its children load their primitives before its target ran (112 modules, 94 without).
 */
export function processModules(): string[] {
  const of = kinds.kindsOf;
  return [...kinds.modules].filter((url) => {
    const mine = of?.get(url);
    if (mine === undefined || mine.size === 0) return true;
    for (const kind of mine) if (!IN_PROCESS_KINDS.has(kind)) return true;
    return false;
  });
}

/** @internal The kinds and error classes this thread can revive (tests). */
export function revivable(): { kinds: string[]; errors: string[] } {
  return { kinds: [...kinds.revivers.keys()], errors: registeredErrorNames() };
}

/**
 * Where an encoded value goes: `message` to a thread (structured clone), `bytes` into a shared
 * buffer (v8.serialize), `process` over a child process's channel (Node's v8-based serializer).
 * `process` is `message` plus one refusal: Node's host objects that a thread receives whole but
 * a child process would receive as an empty object (see `hostObjectRefusal`). `wire` is `bytes`
 * to a process that may share nothing with this one (a Listener/Client connection): a shared
 * object or a SharedArrayBuffer anywhere in the value is refused (see `WireRefusal`).
 */
export type Carrier = 'message' | 'bytes' | 'process' | 'wire';

/**
 * Why a value cannot go over a Listener/Client connection; `toBytes` makes it a
 * NotCloneableError naming its caller.
 */
class WireRefusal {
  constructor(readonly message: string) {}
}

function refuseOnWire(o: object): never {
  if (o instanceof SharedArrayBuffer) {
    throw new WireRefusal(
      'a SharedArrayBuffer cannot be sent to another process; share memory between processes with SharedMemory, Array or Value, or send a typed array over it to send a copy',
    );
  }
  throw new WireRefusal(
    `a ${o.constructor?.name || 'shared object'} cannot be sent over a Listener/Client connection (the other end may be a process with another multiprocessing broker, as Python refuses it too): pass it in a Process's args, or through a Pipe or a Queue`,
  );
}

/**
 * On the wire, the shared objects inside an object that `encode` passes on as it is (a class
 * instance, which v8.serialize writes as a plain object of its own fields): refused as anywhere
 * else. A look only, with its own `visited`: nothing in there is encoded. Errors and binary
 * data hold none to look for (a view over a SharedArrayBuffer is copied, as on a Pipe).
 */
function refuseSharedInside(v: object, visited: Set<object>): void {
  if (visited.has(v)) return;
  visited.add(v);
  if (v instanceof Error || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
  const items =
    v instanceof Map ? [...v.keys(), ...v.values()] : v instanceof Set ? [...v] : Object.values(v);
  for (const x of items) {
    if (x === null || typeof x !== 'object') continue;
    if (x instanceof SharedArrayBuffer || isShareable(x)) refuseOnWire(x);
    refuseSharedInside(x, visited);
  }
}

function isShareable(v: object): v is Shareable {
  return typeof (v as Partial<Shareable>)[kShared] === 'function';
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * Node's host objects that structured clone carries between threads, but that v8.serialize (on
 * Node 22) and a child process's channel (on every Node: Node's ChildProcessSerializer copies a
 * host object's own fields) turn into an empty object instead of refusing: a value that would
 * arrive as `{}` is refused where it is sent. Built on first use: most values hold none of these
 * classes, and node:crypto is not loaded for nothing.
 */
let hostClasses: Array<[string, Function, string]> | null = null;

function loadHostClasses(): Array<[string, Function, string]> {
  const req = createRequire(import.meta.url);
  const { KeyObject, X509Certificate } = req('node:crypto') as typeof import('node:crypto');
  const { BlockList, SocketAddress } = req('node:net') as typeof import('node:net');
  const bytes = 'send its bytes instead: new Uint8Array(await blob.arrayBuffer())';
  const list: Array<[string, Function, string]> = [
    ['File', File, bytes],
    ['Blob', Blob, bytes],
    ['KeyObject', KeyObject, 'send its export() instead'],
    ['X509Certificate', X509Certificate, 'send its PEM text (cert.toString()) instead'],
    ['BlockList', BlockList, 'send its rules and build it again there'],
    ['SocketAddress', SocketAddress, 'send its address and port instead'],
  ];
  // Web Crypto's key class is a global from Node 20 on; looked up, not assumed.
  const CryptoKeyClass = (globalThis as { CryptoKey?: Function }).CryptoKey;
  if (typeof CryptoKeyClass === 'function')
    list.push(['CryptoKey', CryptoKeyClass, 'send crypto.subtle.exportKey() output instead']);
  return list;
}

/**
 * Why `v` cannot be carried as bytes or to another process, as a sentence, or null when it is
 * none of Node's host objects that would arrive as an empty object (see `hostClasses`).
 */
export function hostObjectRefusal(v: object): string | null {
  hostClasses ??= loadHostClasses();
  for (const [name, cls, instead] of hostClasses) {
    if (v instanceof cls) {
      return `a ${name} cannot be sent as bytes or to another process (Node would deliver it as an empty object); ${instead}`;
    }
  }
  return null;
}

/**
 * Replaces shared objects and errors inside `value` with descriptors. Copy-on-write: containers
 * holding none are returned as they are, so plain data costs one walk and no allocation.
 */
export function encode(value: unknown, carrier: Carrier): unknown {
  const seen = new Map<object, unknown>();
  const out = walkEncode(value, carrier, seen);
  // A container met again while its own walk was under way was given back as itself; if it was
  // copied afterwards, that reference still points at the original, which holds the raw shared
  // objects. Rare (a cycle and a shared object or error in one value): built again exactly.
  return out !== value && seen.has(CYCLE) ? encodeCyclic(value, carrier, seen, out) : out;
}

/** A SharedArrayBuffer as it travels: itself in a message, a registry id in bytes (`share` is idempotent). */
function encodeSab(sab: SharedArrayBuffer, carrier: Carrier): unknown {
  return carrier === 'bytes' ? { [SAB]: share(sab) } : sab;
}

/** In `walkEncode`'s map: a container whose walk is under way; under CYCLE: one was met again. */
const WALKING = Symbol('walking');
const CYCLE: object = {};

function walkEncode(v: unknown, carrier: Carrier, seen: Map<object, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  const prior = seen.get(v);
  if (prior === WALKING) {
    seen.set(CYCLE, true);
    return v;
  }
  if (prior !== undefined) return prior;
  if (v instanceof SharedArrayBuffer) {
    if (carrier === 'wire') refuseOnWire(v);
    return encodeSab(v, carrier);
  }
  if (isShareable(v)) {
    if (carrier === 'wire') refuseOnWire(v);
    const { kind, state } = v[kShared]();
    const d = { [TAG]: kind, s: walkEncode(state, carrier, seen) };
    seen.set(v, d);
    return d;
  }
  if (v instanceof Error) {
    const d = encodeError(v);
    seen.set(v, d);
    return d;
  }
  if (Array.isArray(v)) {
    seen.set(v, WALKING);
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const e = walkEncode(v[i], carrier, seen);
      if (e !== v[i]) {
        out ??= v.slice();
        out[i] = e;
      }
    }
    seen.set(v, out ?? v);
    return out ?? v;
  }
  if (v instanceof Map) {
    seen.set(v, WALKING);
    let changed = false;
    const entries: Array<[unknown, unknown]> = [];
    for (const [k, x] of v) {
      const ek = walkEncode(k, carrier, seen);
      const ex = walkEncode(x, carrier, seen);
      if (ek !== k || ex !== x) changed = true;
      entries.push([ek, ex]);
    }
    const out = changed ? new Map(entries) : v;
    seen.set(v, out);
    return out;
  }
  if (v instanceof Set) {
    seen.set(v, WALKING);
    let changed = false;
    const items: unknown[] = [];
    for (const x of v) {
      const ex = walkEncode(x, carrier, seen);
      if (ex !== x) changed = true;
      items.push(ex);
    }
    const out = changed ? new Set(items) : v;
    seen.set(v, out);
    return out;
  }
  if (!isPlain(v)) {
    if (carrier !== 'message' && !ArrayBuffer.isView(v)) {
      const host = hostObjectRefusal(v);
      if (host !== null) throw new NotCloneableError(host);
    }
    if (!arrivesPlain(v)) {
      if (carrier === 'wire') refuseSharedInside(v, new Set());
      return v;
    }
  }
  seen.set(v, WALKING);
  let out: Record<string, unknown> | null = null;
  let marked = false;
  for (const k of Object.keys(v)) {
    // The keys are at hand: two comparisons (of internalized strings) are the whole cost of
    // telling a caller's object that looks like a marker from weft's own.
    if (k === TAG || k === SAB) marked = true;
    const x = (v as Record<string, unknown>)[k];
    const e = walkEncode(x, carrier, seen);
    if (e !== x) {
      out ??= { ...(v as Record<string, unknown>) };
      out[k] = e;
    }
  }
  const r = marked ? escaped(out ?? v) : (out ?? v);
  seen.set(v, r);
  return r;
}

function escaped(o: object): object {
  return { [TAG]: ESCAPED, o };
}

/** Whether `v` has a key that a receiver would read as weft's marker (see ESCAPED). */
function hasMark(v: object): boolean {
  return Object.hasOwn(v, TAG) || Object.hasOwn(v, SAB);
}

const toStringTag = Object.prototype.toString;

/**
 * Whether `v`, which is not plain, arrives as a plain object of its own fields: a class
 * instance, which structured clone and v8.serialize write as one (its prototype lost). It is
 * walked as a plain object is — its fields may be, or hold, objects shaped like weft's markers,
 * which the receiver reads as plain objects — and copied to a plain object when any changes.
 * Not Date, RegExp, typed arrays, boxed primitives, Promises, Proxies (their tag is not Object).
 */
function arrivesPlain(v: object): boolean {
  return !types.isProxy(v) && !ArrayBuffer.isView(v) && toStringTag.call(v) === '[object Object]';
}

/** The containers `walkEncode` walks into (it keeps everything else as it is). */
function isContainer(v: object): boolean {
  return (
    !(v instanceof SharedArrayBuffer) &&
    !isShareable(v) &&
    !(v instanceof Error) &&
    (Array.isArray(v) || v instanceof Map || v instanceof Set || isPlain(v) || arrivesPlain(v))
  );
}

/** A container `walkEncode` replaces by its escape (see ESCAPED). */
function isEscaped(v: object): boolean {
  return !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set) && hasMark(v);
}

/** What a container holds: a Map's keys, then its values. */
function childrenOf(c: object): unknown[] {
  if (Array.isArray(c)) return c;
  if (c instanceof Map) return [...c.keys(), ...c.values()];
  if (c instanceof Set) return [...c];
  return Object.values(c);
}

/**
 * `encode` of a value with cycles in which something was replaced: which containers must be
 * copied is a question of reachability (any container from which a replaced object can be
 * reached), so it is answered on the whole graph first; then every such container is copied
 * once, empty, and filled, so that references among copies — cycles included — point at copies.
 * The replacements are the ones the first walk made (`seen`): encoding a shared object again
 * could count its handles twice.
 */
function encodeCyclic(
  root: unknown,
  carrier: Carrier,
  seen: Map<object, unknown>,
  walked: unknown,
): unknown {
  // Only a container can be reached again from inside itself.
  if (root === null || typeof root !== 'object' || !isContainer(root)) return walked;
  const holders = new Map<object, object[]>();
  const copy = new Set<object>();
  // What the first walk put in place of a non-container: shared objects and errors have their
  // replacement in `seen`; anything else it kept as it is.
  const replaced = (x: object): unknown => {
    if (x instanceof SharedArrayBuffer) return encodeSab(x, carrier);
    const r = seen.get(x);
    return r === undefined ? x : r;
  };
  const known = new Set<object>();
  const walk = (c: object): void => {
    known.add(c);
    for (const x of childrenOf(c)) {
      if (x === null || typeof x !== 'object') continue;
      if (isContainer(x)) {
        let hs = holders.get(x);
        if (hs === undefined) holders.set(x, (hs = []));
        hs.push(c);
        // Its holder must point at its escape.
        if (isEscaped(x)) copy.add(c);
        if (!known.has(x)) walk(x);
      } else if (replaced(x) !== x) copy.add(c);
    }
  };
  walk(root);
  const work = [...copy];
  for (let c = work.pop(); c !== undefined; c = work.pop()) {
    for (const h of holders.get(c) ?? []) {
      if (!copy.has(h)) {
        copy.add(h);
        work.push(h);
      }
    }
  }
  const copies = new Map<object, object>();
  for (const c of copy) {
    copies.set(
      c,
      Array.isArray(c)
        ? new Array(c.length)
        : c instanceof Map
          ? new Map()
          : c instanceof Set
            ? new Set()
            : {},
    );
  }
  // One escape per escaped container, as the first walk made: every reference to it, its own
  // cycles included, points at the escape, which the receiver reads back as the object itself.
  const escapes = new Map<object, object>();
  const to = (x: unknown): unknown => {
    if (x === null || typeof x !== 'object') return x;
    if (!isContainer(x)) return replaced(x);
    const c = copies.get(x) ?? x;
    if (!isEscaped(x)) return c;
    let e = escapes.get(x);
    if (e === undefined) escapes.set(x, (e = escaped(c)));
    return e;
  };
  for (const [c, out] of copies) {
    if (Array.isArray(c)) {
      // A hole stays a hole, as structuredClone keeps it.
      for (let i = 0; i < c.length; i++) if (i in c) (out as unknown[])[i] = to(c[i]);
    } else if (c instanceof Map)
      for (const [k, x] of c) (out as Map<unknown, unknown>).set(to(k), to(x));
    else if (c instanceof Set) for (const x of c) (out as Set<unknown>).add(to(x));
    else
      for (const k of Object.keys(c))
        (out as Record<string, unknown>)[k] = to((c as Record<string, unknown>)[k]);
  }
  return to(root);
}

/** Revives descriptors in a freshly cloned value (in place where it can). */
export function decode(value: unknown): unknown {
  return walkDecode(value, new Map());
}

/**
 * `decode` of a value that is consumed by it (a queue item got, a pool task's arguments), all or
 * nothing: when a reviver throws — a kind whose module is not loaded in this thread (TypeError),
 * a SharedMemory block unlinked since the send — the shared objects of `value` revived so far
 * are given back (see `Discarder`), the ones not revived yet are discarded (see `discard`), and
 * the error is thrown. Half-revived, the value would leave handles counted that nobody can close
 * (the other end of a Pipe in it would never see EOF). One walk, as `decode`, when nothing throws.
 */
export function decodeOrDiscard(value: unknown): unknown {
  const seen = new Map<object, unknown>();
  try {
    return walkDecode(value, seen);
  } catch (err) {
    giveBack(value, seen);
    throw err;
  }
}

/**
 * After `walkDecode(value, seen)` threw: closes what it revived of counting kinds, and discards
 * the shared objects it did not revive (still descriptors in `value`, which the walk replaced in
 * place only up to where it stopped). `seen` maps each descriptor the walk revived to its object;
 * one it entered and did not revive (the one that threw, or holds it) maps to itself. What a
 * release or a discarder throws is dropped: the caller throws the reviver's error.
 */
function giveBack(value: unknown, seen: Map<object, unknown>): void {
  const discarders = kinds.discarders;
  if (discarders === undefined) return;
  for (const [d, o] of seen) {
    if (o === d || o === null || typeof o !== 'object') continue;
    const tag = (d as Record<string, unknown>)[TAG];
    if (typeof tag !== 'string' || !discarders.has(tag)) continue;
    const close = (o as { close?: unknown }).close;
    if (typeof close === 'function') {
      try {
        close.call(o);
      } catch {
        // Given back as far as it could be.
      }
    }
  }
  eachShared(value, new Set(), (tag, state, d) => {
    const o = seen.get(d);
    if (o !== undefined && o !== d) return false;
    try {
      discarders.get(tag)?.(state);
    } catch {
      // As above.
    }
    return false;
  });
}

function unrevivable(tag: string): TypeError {
  return new TypeError(
    `Cannot revive a shared ${tag} in this thread: its module was not loaded. Import it (for example weft/threading) in the module that receives it.`,
  );
}

/**
 * Gives up an encoded value that will never be decoded (a pool task withdrawn or stolen after its
 * batch reached a worker): each shared object in it whose kind registered a discarder releases
 * what its encode counted (a Pipe end's token), without being revived.
 */
export function discard(value: unknown): void {
  eachShared(value, new Set(), (tag, state) => {
    kinds.discarders?.get(tag)?.(state);
    return false;
  });
}

/**
 * Calls `visit` for each shared-object descriptor in an encoded value, inner ones (in a
 * descriptor's state) first, until it returns true; returns whether one did.
 */
function eachShared(
  v: unknown,
  seen: Set<object>,
  visit: (tag: string, state: Record<string, unknown>, descriptor: object) => boolean,
): boolean {
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  const tag = (v as Record<string, unknown>)[TAG];
  if (tag === ESCAPED) {
    // The caller's object: its own keys are data, its values may hold shared objects.
    const o = (v as { o: unknown }).o;
    if (o === null || typeof o !== 'object' || seen.has(o)) return false;
    seen.add(o);
    for (const x of childrenOf(o)) if (eachShared(x, seen, visit)) return true;
    return false;
  }
  if (typeof tag === 'string') {
    if (tag === 'Error') return false;
    const state = (v as { s: unknown }).s;
    return eachShared(state, seen, visit) || visit(tag, state as Record<string, unknown>, v);
  }
  if (!isContainer(v)) return false;
  for (const x of childrenOf(v)) if (eachShared(x, seen, visit)) return true;
  return false;
}

/**
 * The object an escape (`{ [TAG]: ESCAPED, o }`, see ESCAPED) carries, its values read by `read`
 * (`walkDecode`'s for items, `decodeField`'s for an error's fields) and its own keys not: they
 * are the caller's data. The escape is weft's wrapper, never the caller's (an object of theirs
 * keyed like one is escaped in turn), so it never arrives itself: an `o` that is not a plain
 * object, or that the frame holds elsewhere too (not what `escaped` makes: a peer's frame), is
 * read as any other value is.
 */
function readEscaped(
  wrapper: object,
  seen: Map<object, unknown>,
  read: (x: unknown) => unknown,
): unknown {
  const o = (wrapper as { o?: unknown }).o;
  seen.set(wrapper, o);
  if (o === null || typeof o !== 'object' || !isPlain(o) || seen.has(o)) {
    const r = read(o);
    seen.set(wrapper, r);
    return r;
  }
  seen.set(o, o);
  for (const k of Object.keys(o))
    (o as Record<string, unknown>)[k] = read((o as Record<string, unknown>)[k]);
  return o;
}

/**
 * `seen`: what each object met so far decoded to (an object met twice is one revived object).
 * `wire`: the value came from a Listener/Client connection, which carries no shared object
 * (`toBytes` refuses them there): only errors are revived, and an object that merely has a
 * descriptor's or a buffer id's key is the peer's data, kept as it came.
 */
function walkDecode(v: unknown, seen: Map<object, unknown>, wire = false): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return seen.get(v);
  seen.set(v, v);
  const tag = (v as Record<string, unknown>)[TAG];
  if (tag === ESCAPED) return readEscaped(v, seen, (x) => walkDecode(x, seen, wire));
  if (typeof tag === 'string' && (tag === 'Error' || !wire)) {
    if (tag === 'Error') {
      const e = decodeError(v as EncodedError);
      seen.set(v, e);
      return e;
    }
    const revive = kinds.revivers.get(tag);
    if (!revive) throw unrevivable(tag);
    const o = revive(walkDecode((v as { s: unknown }).s, seen, wire) as Record<string, unknown>);
    seen.set(v, o);
    return o;
  }
  if (Array.isArray(v)) {
    // Only objects can change: a primitive (or a hole of a sparse array, which an assignment
    // would fill with undefined) is left as it came.
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === 'object') v[i] = walkDecode(x, seen, wire);
    }
    return v;
  }
  if (v instanceof Map) {
    const entries = [...v].map(
      ([k, x]) => [walkDecode(k, seen, wire), walkDecode(x, seen, wire)] as const,
    );
    v.clear();
    for (const [k, x] of entries) v.set(k, x);
    return v;
  }
  if (v instanceof Set) {
    const items = [...v].map((x) => walkDecode(x, seen, wire));
    v.clear();
    for (const x of items) v.add(x);
    return v;
  }
  if (!isPlain(v)) return v;
  const id = (v as Record<string, unknown>)[SAB];
  if (!wire && typeof id === 'number' && Object.keys(v).length === 1) {
    const sab = lookup(id);
    seen.set(v, sab);
    return sab;
  }
  for (const k of Object.keys(v)) {
    (v as Record<string, unknown>)[k] = walkDecode((v as Record<string, unknown>)[k], seen, wire);
  }
  return v;
}

export interface EncodedError {
  [TAG]: 'Error';
  name: string;
  message: string;
  stack: string;
  code?: unknown;
  props?: Record<string, unknown>;
  cause?: unknown;
  /**
   * The class keys of the error's prototype chain, its own class first, down to Error: the
   * receiver rebuilds it as the first class it knows by that chain (a registered class, its own
   * or an ancestor, else a built-in one), so an unregistered `class E extends TypeError` still
   * arrives a TypeError (error-registry.ts's `errorClassFor`).
   */
  chain?: string[];
  /**
   * A weft error's brand (src/internal/errors.ts), which its `instanceof` answers from: the
   * receiver gives it to the error it rebuilds, so `instanceof` holds for the error's own class
   * even where that class was not loaded and a nearer one was rebuilt (error-registry.ts).
   */
  brand?: string[];
  /**
   * The indexes in `chain` of the classes registered on the sender: the receiver takes a class
   * it has under one of the chain's names only for those (error-registry.ts's `errorClassFor`),
   * so that a user's own unregistered `class Empty extends Error` does not come back as weft's.
   */
  known?: number[];
  /**
   * The key of the nearest class of the chain whose whole chain another class has too
   * (error-registry.ts), and its index in `chain` (0 when absent).
   */
  home?: string;
  /** `home`, for a chain where the sender registered a class before it (see `encodeErr`). */
  nearHome?: string;
  homeAt?: number;
  /** An AggregateError's `errors` (an ExceptionGroup's `exceptions`), each encoded. */
  errors?: unknown[];
}

/**
 * A field value that structured clone would empty or demote, as data: a `Headers` or a `URL`
 * (a JavaScript class to the serializer: it arrives as `{}`) and a Buffer (a thread receives a
 * plain Uint8Array), in the fields of the errors weft raises (a response error's headers and
 * request, a BufferTooShort's data, an IncompleteReadError's partial bytes).
 */
interface EncodedField {
  [TAG]: 'Headers' | 'URL' | 'Buffer';
  v: unknown;
}

/**
 * Whether `x` holds a value of `EncodedField` in its plain objects and arrays. `asked` maps each
 * object it looked at to what `asField` gave for it, which `encodeField`'s walk takes from there:
 * an object's `kErrorField` is a method of the caller's (a response builds its data anew), called
 * once a field.
 */
function holdsField(
  x: unknown,
  depth: number,
  asked: Map<object, Record<string, unknown> | null>,
): boolean {
  if (x === null || typeof x !== 'object' || depth > 8 || asked.has(x)) return false;
  if (Buffer.isBuffer(x) || x instanceof Headers || x instanceof URL) {
    asked.set(x, null);
    return true;
  }
  const data = asField(x);
  asked.set(x, data);
  if (data !== null) return true;
  if (!Array.isArray(x) && !isPlain(x)) return false;
  // An object of the caller's keyed like a field's marker is escaped (see ESCAPED).
  if (!Array.isArray(x) && Object.hasOwn(x, TAG)) return true;
  for (const v of Object.values(x)) if (holdsField(v, depth + 1, asked)) return true;
  return false;
}

/** The data an object gives as an error's field (`kErrorField`), or null. */
function asField(x: object): Record<string, unknown> | null {
  const give = (x as { [kErrorField]?: unknown })[kErrorField];
  if (typeof give !== 'function') return null;
  try {
    const data: unknown = give.call(x);
    return typeof data === 'object' && data !== null && isPlain(data)
      ? (data as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * `x` with the values of `EncodedField` replaced (and objects with a `kErrorField` by their
 * data), in plain objects and arrays: copied only when it holds one. Each object is visited once
 * (`copies`), so that a field's graph with shared parts or cycles costs one walk and arrives
 * with the same shape.
 */
function encodeField(x: unknown): unknown {
  if (x === null || typeof x !== 'object') return x;
  const asked = new Map<object, Record<string, unknown> | null>();
  if (!holdsField(x, 0, asked)) return x;
  const copies = new Map<object, unknown>();
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || depth > 8) return v;
    const done = copies.get(v);
    if (done !== undefined) return done;
    const field: EncodedField | null = Buffer.isBuffer(v)
      ? { [TAG]: 'Buffer', v: new Uint8Array(v) }
      : v instanceof Headers
        ? { [TAG]: 'Headers', v: [...v] }
        : v instanceof URL
          ? { [TAG]: 'URL', v: v.href }
          : null;
    if (field !== null) {
      copies.set(v, field);
      return field;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = v.slice();
      copies.set(v, out);
      for (let i = 0; i < v.length; i++) if (i in v) out[i] = walk(v[i], depth + 1);
      return out;
    }
    const data = isPlain(v)
      ? (v as Record<string, unknown>)
      : asked.has(v)
        ? (asked.get(v) as Record<string, unknown> | null)
        : asField(v);
    if (data === null) return v;
    const out: Record<string, unknown> = { ...data };
    // The caller's object keyed like a field's marker goes in an escape, which decodeField
    // reads back as the object itself (its keys are data), as items are escaped.
    const r = Object.hasOwn(out, TAG) ? escaped(out) : out;
    copies.set(v, r);
    for (const k of Object.keys(out)) out[k] = walk(out[k], depth + 1);
    return r;
  };
  return walk(x, 0);
}

/**
 * `encodeField` undone, in place (the value is a fresh copy, as `decode`'s); each object once
 * (`seen`, shared by an error's fields), as a frame may share one object under many keys.
 */
function decodeField(x: unknown, seen: Map<object, unknown>, depth = 0): unknown {
  if (x === null || typeof x !== 'object' || depth > 8) return x;
  if (seen.has(x)) return seen.get(x);
  seen.set(x, x);
  const tag = (x as Partial<EncodedField>)[TAG];
  if ((tag as string | undefined) === ESCAPED)
    return readEscaped(x, seen, (v) => decodeField(v, seen, depth + 1));
  if (tag !== undefined) {
    const v = (x as EncodedField).v;
    let out: unknown = x;
    try {
      if (tag === 'Buffer' && v instanceof Uint8Array)
        out = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      else if (tag === 'Headers' && Array.isArray(v)) out = new Headers(v as [string, string][]);
      else if (tag === 'URL' && typeof v === 'string') out = new URL(v);
    } catch {
      // Not what this side's encodeField makes (a bad header, a bad URL): left as it came.
    }
    seen.set(x, out);
    return out;
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = decodeField(x[i], seen, depth + 1);
    return x;
  }
  if (!isPlain(x)) return x;
  for (const k of Object.keys(x))
    (x as Record<string, unknown>)[k] = decodeField(
      (x as Record<string, unknown>)[k],
      seen,
      depth + 1,
    );
  return x;
}

function encodeItem(x: unknown, seen: Set<Error>, depth: number): unknown {
  if (x instanceof Error) return encodeErr(x, seen, depth);
  if (!cloneable(x)) return safeString(x);
  // A group's item of the caller's keyed like an encoded error is escaped (see ESCAPED).
  return typeof x === 'object' && x !== null && Object.hasOwn(x, TAG) ? escaped(x) : x;
}

function decodeItem(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const tag = (x as { [TAG]?: unknown })[TAG];
  if (tag === 'Error') return decodeError(x as EncodedError);
  return tag === ESCAPED ? (x as { o?: unknown }).o : x;
}

export function encodeError(err: unknown): EncodedError {
  if (!(err instanceof Error)) {
    return {
      [TAG]: 'Error',
      name: 'Error',
      message: `Non-error value thrown: ${safeString(err)}`,
      stack: '',
      props: { thrown: cloneable(err) ? encodeField(err) : safeString(err) },
    };
  }
  return encodeErr(err, new Set(), 0);
}

/**
 * How many errors deep an encoded error nests at most (causes, and the errors of groups): the
 * v8 serializer that carries it recurses once a level, and so does its deserializer, on the
 * receiver's stack: a thread of the least stack weft starts (threading.MIN_STACK_SIZE, 512 KiB)
 * lost a message of groups some 350 deep and of causes some 550 (its future then never
 * settled), where the main thread's overflows near 2,000. The error below the last level arrives
 * as a plain Error saying how many were cut (Python's pickle sends no cause at all).
 */
export const MAX_ERROR_DEPTH = 100;

/** What stands for `err`, `MAX_ERROR_DEPTH` errors down, and the errors below it. */
function cutErr(err: Error, above: Set<Error>): EncodedError {
  // Each error once: causes and groups' errors may share one, or loop back to those above.
  const counted = new Set<Error>([err]);
  const next: Error[] = [err];
  while (next.length > 0) {
    const x = next.pop() as Error;
    const errors = x instanceof AggregateError ? (x as { errors?: unknown }).errors : undefined;
    // A crossed error's cause is its RemoteStack, which is sent as its stack, not as an error.
    const cause = x.cause instanceof RemoteStack ? x.cause.cause : x.cause;
    for (const y of [cause, ...(Array.isArray(errors) ? errors : [])]) {
      if (y instanceof Error && !counted.has(y) && !above.has(y)) {
        counted.add(y);
        next.push(y);
      }
    }
  }
  const n = counted.size;
  return {
    [TAG]: 'Error',
    name: 'Error',
    message: `${n} more error${n === 1 ? '' : 's'} not sent, from ${safeString(err)}: an error nests at most ${MAX_ERROR_DEPTH} deep (causes and groups' errors) across a thread or process`,
    stack: '',
  };
}

/**
 * `err` encoded; `seen` holds the errors above it, so that a cause chain that loops back (an
 * error that is its own cause's cause) is cut where it loops instead of recursing for ever;
 * `depth` counts them, so that a chain too deep to send is cut (`MAX_ERROR_DEPTH`).
 */
function encodeErr(err: Error, seen: Set<Error>, depth: number): EncodedError {
  if (depth >= MAX_ERROR_DEPTH) return cutErr(err, seen);
  seen.add(err);
  const props: Record<string, unknown> = {};
  for (const k of Object.keys(err)) {
    if (k === 'code' || k === 'cause' || k === 'name' || k === 'message' || k === 'stack') continue;
    const x = encodeField((err as unknown as Record<string, unknown>)[k]);
    if (cloneable(x)) props[k] = x;
  }
  // An error that crossed before carries its first stack in a RemoteStack cause: it goes on
  // with that stack and that cause, not with a second RemoteStack around the first.
  let cause = err.cause;
  let stack = err.stack ?? `${err.name}: ${err.message}`;
  if (cause instanceof RemoteStack) {
    stack = cause.stack ?? stack;
    cause = cause.cause;
  }
  const e: EncodedError = { [TAG]: 'Error', name: err.name, message: err.message, stack, props };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) e.code = code;
  if (cause !== undefined) {
    e.cause =
      cause instanceof Error
        ? seen.has(cause)
          ? `[circular cause: ${safeString(cause)}]`
          : encodeErr(cause, seen, depth + 1)
        : safeString(cause);
  }
  const { chain, known, home, homeAt } = describeClass(Object.getPrototypeOf(err));
  if (chain.length > 0 && !(chain.length === 1 && chain[0] === err.name)) e.chain = chain;
  e.known = known;
  const brand = brandOf(err);
  if (brand !== undefined) e.brand = [...brand];
  if (home !== undefined) {
    // A receiver older than `homeAt` takes `home` for the error's own class: under that name only
    // where no class this side registered comes before it (a user's registered subclass, which
    // such a receiver finds by its chain), else under one it does not read.
    const below = homeAt !== undefined && known.some((i) => i < homeAt);
    if (below) e.nearHome = home;
    else e.home = home;
  }
  if (homeAt !== undefined && homeAt > 0) e.homeAt = homeAt;
  const errors = (err as { errors?: unknown }).errors;
  if (err instanceof AggregateError && Array.isArray(errors)) {
    e.errors = errors.map((x) =>
      x instanceof Error && seen.has(x)
        ? `[circular: ${safeString(x)}]`
        : encodeItem(x, seen, depth + 1),
    );
  }
  seen.delete(err);
  return e;
}

/** The remote half of an error that crossed a thread: its stack as it was over there. */
export class RemoteStack extends Error {
  constructor(stack: string, options?: ErrorOptions) {
    super('remote stack', options);
    this.name = 'RemoteStack';
    this.stack = stack;
  }
}

export function decodeError(e: EncodedError): Error {
  // The frame's shape is checked where a peer could break the rebuild with it.
  const chain = Array.isArray(e.chain) ? e.chain.filter((k) => typeof k === 'string') : [];
  const cls = errorClassFor(
    chain,
    typeof e.name === 'string' ? e.name : 'Error',
    typeof e.home === 'string' ? e.home : typeof e.nearHome === 'string' ? e.nearHome : undefined,
    Array.isArray(e.known) ? e.known.filter((i) => typeof i === 'number') : undefined,
    typeof e.homeAt === 'number' ? e.homeAt : 0,
  );
  const errors = Array.isArray(e.errors) ? e.errors.map(decodeItem) : undefined;
  const err = rebuild(cls, e.message, errors);
  if (err.message !== e.message)
    Object.defineProperty(err, 'message', {
      value: e.message,
      configurable: true,
      writable: true,
    });
  if (errors !== undefined && (err as { errors?: unknown }).errors !== errors)
    Object.defineProperty(err, 'errors', { value: errors, configurable: true, writable: true });
  if (err.name !== e.name)
    Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  if (e.code !== undefined && !(err instanceof WeftError && err.code === e.code)) {
    Object.defineProperty(err, 'code', {
      value: e.code,
      configurable: true,
      writable: true,
      enumerable: true,
    });
  }
  const fields = new Map<object, unknown>();
  for (const [k, x] of Object.entries(e.props ?? {})) {
    try {
      // Assigned, it would set the error's prototype: kept as the own field it was.
      if (k === '__proto__')
        Object.defineProperty(err, k, {
          value: decodeField(x, fields),
          configurable: true,
          writable: true,
          enumerable: true,
        });
      else (err as unknown as Record<string, unknown>)[k] = decodeField(x, fields);
    } catch {
      // A read-only property of the class keeps its local value.
    }
  }
  if (Array.isArray(e.brand)) {
    const mine = brandOf(err);
    if (mine === undefined || mine.join('\n') !== e.brand.join('\n')) {
      try {
        setBrand(err, e.brand);
      } catch {
        // A class that fixed its brand for good keeps it.
      }
    }
  }
  const innerCause =
    e.cause === undefined
      ? undefined
      : typeof e.cause === 'object' && e.cause !== null
        ? decodeError(e.cause as EncodedError)
        : e.cause;
  const remote = new RemoteStack(
    e.stack,
    innerCause === undefined ? undefined : { cause: innerCause },
  );
  Object.defineProperty(err, 'cause', { value: remote, configurable: true, writable: true });
  return err;
}

/**
 * An instance of `cls` with `message`: made by its constructor where it takes a message first
 * (or, for an AggregateError, the errors and the message in either order), as pickle calls an
 * exception's class with its args; the caller then overwrites what the constructor got wrong.
 * A constructor that refuses a message is called with no arguments (gevent's `Timeout(ms)`,
 * whose fields a crossed one needs to be cancelled and started again); one that refuses both is
 * skipped: the instance is then a real error object of the nearest built-in class with `cls`'s
 * prototype, its constructor not run (its class fields, `#private` ones among them, unset).
 */
function rebuild(cls: ErrorClass, message: string, errors: unknown[] | undefined): Error {
  const aggregate = cls === AggregateError || cls.prototype instanceof AggregateError;
  if (aggregate) {
    const items = errors ?? [];
    const C = cls as unknown as new (...args: unknown[]) => Error;
    for (const args of [
      [items, message],
      [message, items],
    ]) {
      try {
        const err = new C(...args);
        const got = (err as { errors?: unknown }).errors;
        if (
          Array.isArray(got) &&
          got.length === items.length &&
          got.every((x, i) => x === items[i])
        )
          return err;
      } catch {
        // Not this order.
      }
    }
    return brandAs(Reflect.construct(AggregateError, [items, message], cls) as Error, cls);
  }
  try {
    return new cls(message);
  } catch {
    // Not with a message.
  }
  try {
    return new (cls as unknown as new () => Error)();
  } catch {
    let base: Function = cls;
    while (base !== Error && !Object.values(BUILTIN_ERRORS).includes(base as never))
      base = Object.getPrototypeOf(base) as Function;
    return brandAs(Reflect.construct(base, [message], cls) as Error, cls);
  }
}

function safeString(x: unknown): string {
  try {
    return String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

function cloneable(x: unknown): boolean {
  if (x === null || typeof x !== 'object') return typeof x !== 'function' && typeof x !== 'symbol';
  try {
    structuredClone(x);
    return true;
  } catch {
    return false;
  }
}

/** A value that structured clone cannot carry; `code` ERR_WEFT_NOT_CLONEABLE. */
export class NotCloneableError extends WeftError {
  static override readonly kind: string = 'NotCloneableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_NOT_CLONEABLE', options);
  }
}

// By name too: the broker's errors, and names a user's class cannot take (error-registry.ts).
registerErrorClass(NotCloneableError, { byName: true });

/**
 * Throws NotCloneableError when `value` holds something the v8 serializer refuses (a function, a
 * symbol, a promise, a weak collection, a proxy), naming where it sits. For carriers that
 * serialize later, out of the caller's reach (the broker's batched frames): refusing at the
 * call keeps the error with the caller instead of losing it, or the process, at the flush.
 * Primitives return at the first test, so plain data costs one walk.
 */
export function assertCloneable(value: unknown, what: string): void {
  // No allocation for a primitive (most queue items); one reused Set for anything else (the
  // walk is synchronous and never re-entered).
  if (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  )
    return;
  let bad: string | HostRefusal | null;
  try {
    bad = refusal(value, visited);
  } finally {
    visited.clear();
  }
  if (bad instanceof HostRefusal) throw new NotCloneableError(`${what}: ${bad.message}`);
  if (bad !== null)
    throw new NotCloneableError(
      `${what}: the value cannot be structured-cloned (${bad}); send plain data, typed arrays, Maps/Sets, Errors or weft shared objects`,
    );
}

/** `refusal`'s answer for a host object: a whole sentence of its own, not a serializer's words. */
class HostRefusal {
  constructor(readonly message: string) {}
}

const visited = new Set<object>();

function refusal(v: unknown, seen: Set<object>): string | HostRefusal | null {
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  if (typeof v === 'symbol') return `a symbol (${String(v.description)})`;
  if (v === null || typeof v !== 'object' || seen.has(v)) return null;
  seen.add(v);
  if (isShareable(v) || v instanceof Error || ArrayBuffer.isView(v)) return null;
  if (v instanceof ArrayBuffer) return null;
  // The v8 serializer refuses one (a view over one it copies): accepted here, an unbounded
  // queue's put or a Pipe's send returned and the item was dropped at the flush, with a warning.
  if (v instanceof SharedArrayBuffer) {
    return new HostRefusal(
      'a SharedArrayBuffer cannot be sent to the multiprocessing broker (it could not be shared with another process anyway); share memory between processes with SharedMemory, Array or Value, or send a typed array over it to send a copy',
    );
  }
  if (types.isPromise(v)) return 'a Promise';
  if (types.isWeakMap(v) || types.isWeakSet(v) || v instanceof WeakRef) return 'a weak collection';
  if (types.isProxy(v)) return 'a Proxy';
  if (v instanceof Map) {
    for (const [k, x] of v) {
      const r = refusal(k, seen) ?? refusal(x, seen);
      if (r !== null) return r;
    }
    return null;
  }
  if (v instanceof Set) {
    for (const x of v) {
      const r = refusal(x, seen);
      if (r !== null) return r;
    }
    return null;
  }
  if (!Array.isArray(v) && !isPlain(v) && !(v instanceof Date) && !(v instanceof RegExp)) {
    const host = hostObjectRefusal(v);
    if (host !== null) return new HostRefusal(host);
    // A class instance or another host object: only the serializer knows (rare in items, so
    // affordable).
    try {
      v8.serialize(v);
    } catch (e) {
      return (e as Error).message;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    const r = refusal((v as Record<string, unknown>)[k], seen);
    if (r !== null) return r;
  }
  return null;
}

/**
 * `value` as bytes for a shared buffer (queue items, `bytes`) or a Listener/Client connection
 * (`wire`), after `headroom` bytes left uninitialised for the caller's header.
 * @throws NotCloneableError naming `what` for what cannot be sent.
 */
export function toBytes(
  value: unknown,
  what: string,
  carrier: 'bytes' | 'wire' = 'bytes',
  headroom = 0,
): Buffer {
  // Plain data holds nothing that encode() would replace or the wire refuse: the same bytes.
  // An object with a key of MARKS is not written there: `encode` escapes it.
  const small = writeSmall(value, headroom, kShared, MARKS);
  if (small !== null) return small;
  let bytes: Buffer;
  try {
    bytes = v8.serialize(encode(value, carrier));
  } catch (err) {
    if (err instanceof WireRefusal) throw new NotCloneableError(`${what}: ${err.message}`);
    if (err instanceof WeftError) throw err;
    throw new NotCloneableError(
      `${what}: the item cannot be structured-cloned (${(err as Error).message}); send plain data, typed arrays, Maps/Sets, Errors or weft shared objects`,
      { cause: err },
    );
  }
  if (headroom === 0) return bytes;
  const framed = Buffer.allocUnsafe(headroom + bytes.length);
  bytes.copy(framed, headroom);
  return framed;
}

/**
 * The keys that make a decoded value need `decode` (a descriptor's, a SharedArrayBuffer's): what
 * `toBytes` and `fromBytes` give v8-format.ts.
 */
const MARKS: readonly [string, string] = [TAG, SAB];

/**
 * `value` as bytes when it is small plain data (v8-format.ts), which `encode` would return as it
 * is: null otherwise (then `encode` it, and v8.serialize what that returns).
 */
export function plainToBytes(value: unknown): Buffer | null {
  return writeSmall(value, 0, kShared, MARKS);
}

/** Whether the value `readBytes` returned last holds anything `decode` must revive. */
let lastNeedsDecode = false;

/**
 * `fromBytes`'s reading without its reviving, for a reader that must tell bytes it cannot read
 * (v8.deserialize throws: a value nested deeper than this thread's stack) from a value that
 * fails to revive: the value as read; `readNeedsDecode()` then says whether it needs
 * `decodeOrDiscard` (plain data does not).
 */
export function readBytes(bytes: Uint8Array): unknown {
  const small = readSmall(bytes, MARKS);
  if (small !== NOT_SMALL) {
    lastNeedsDecode = readMarked();
    return small;
  }
  lastNeedsDecode = true;
  return v8.deserialize(bytes);
}

/** See `readBytes`. */
export function readNeedsDecode(): boolean {
  return lastNeedsDecode;
}

/**
 * The value `toBytes(value, what, carrier)` made. From the `wire` only errors are revived: a
 * plain object of the peer's that has a descriptor's or a buffer id's key stays as it came.
 * `consumed`: the bytes are a value taken for good (a queue's item got), decoded all or nothing
 * (`decodeOrDiscard`); the wire carries no shared object to give back.
 */
export function fromBytes(
  bytes: Uint8Array,
  carrier: 'bytes' | 'wire' = 'bytes',
  consumed = false,
): unknown {
  // Plain data is read in JavaScript (v8-format.ts: a fraction of v8.deserialize's cost for a
  // small value); the reader gives up at the first value it does not know, and V8 reads it all.
  const small = readSmall(bytes, MARKS);
  if (small !== NOT_SMALL && !readMarked()) return small;
  const value = small === NOT_SMALL ? v8.deserialize(bytes) : small;
  const wire = carrier === 'wire';
  return consumed && !wire ? decodeOrDiscard(value) : walkDecode(value, new Map(), wire);
}
