/**
 * The error classes this thread can rebuild an error as when one arrives from another thread or
 * process (serialize.ts encodes and decodes). Every module registers its own classes, in its
 * errors file, when it is imported; nothing here imports a module's classes.
 *
 * Implementation notes. Python's unpickler imports an exception's module by name, synchronously.
 * Node 20 cannot load an ES module synchronously, and decoding is synchronous where it cannot wait
 * (a blocking `getSync`, a pool's batch of results settled in order), so a receiver rebuilds an
 * error from the classes it has loaded:
 *
 *   sender                                   receiver
 *   chain  [Empty, QueueEmpty, WeftError, Error]   ─┐
 *   brand  [Empty, QueueEmpty, WeftError]           │  class: the first chain suffix registered
 *                                                   ├─   here (the class itself, else its nearest
 *                                                   │    loaded ancestor, else a built-in class)
 *                                                   └─ brand: the sender's, as it was
 *
 * A class is found by its whole chain of class keys (its `kind`, else its name), not by its name
 * alone: weft has classes that share a name (gevent's `Empty` is an asyncio `QueueEmpty`, queue's
 * is not; selectors' and multiprocessing's `KeyError`), and each comes back as itself. The brand
 * (src/internal/errors.ts) is what every weft class's `instanceof` reads, so an error whose own
 * class was not loaded when it arrived still answers `instanceof` for it — and for every class
 * of its chain — once the program imports it; what it lacks then is its class's prototype
 * (methods and getters) and constructor. A receiver that names a class has imported it, so a
 * program meets that case only when it tests an error against a class it imports later.
 *
 * The sender also says which classes of the chain it had registered (`known`): a class found
 * here under the name or chain of one it had not is taken only if the user registered it here,
 * so that a worker's own unregistered `class Empty extends Error` comes back as an Error named
 * 'Empty', never as weft's Empty, and an unregistered subclass of a weft class as that class.
 * A class with a `home` (below) may have subclasses: the sender names the nearest home and its
 * place in the chain (`homeAt`), so that a user's `class NoSuchFd extends KeyError` of
 * selectors' comes back as selectors' KeyError, not as multiprocessing's of the same chain.
 *
 * By name, a class is found only when no class of the error's chain is known here: weft's
 * multiprocessing broker, which imports no public module, reports a failure as an error of a
 * class of its own named after the kind meant ('Empty', 'KeyError', 'FileNotFoundError':
 * multiprocessing's), and an error renamed by hand (`e.name = 'TimeoutError'`) has always come
 * back as the class it names (by its `name`, then, only when that differs from its class's or the
 * sender registered its class). Only the classes registered `byName` are found so: those the broker
 * means and those found by name before chains were sent, whose names a user's class cannot take
 * (`registerUserErrorClass`). Every other weft class is found by its chain alone, so that a
 * user's own `class HTTPError extends Error`, registered or not, never comes back as weft's, and
 * can be registered whether or not weft/web was imported first.
 */
import {
  BrokenBarrierError,
  CancelledError,
  classKey,
  DeadlockError,
  ExceptionGroup,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
  WeftError,
} from './errors.js';

export type ErrorClass = new (message: string) => Error;

/**
 * The method an object gives its data by when it is a field of an error that crosses (a
 * ClientResponseError's `history` of responses, whose sockets and streams cannot): a plain
 * object, carried in its place.
 */
export const kErrorField: unique symbol = Symbol.for('weft.errorField') as never;

interface Registry {
  /** The class each name stands for, for senders that give a name and no chain. */
  byName: Map<string, ErrorClass>;
  /** Each class by its chain of class keys (see `chainKey`), or by its home and chain. */
  byChain: Map<string, ErrorClass>;
  /** The key of each class registered with a home (see `registerErrorClass`). */
  homeKey: WeakMap<Function, string>;
  /**
   * Every class registered here, weft's or a user's: a sender tells which classes of an error's
   * chain these are (`describeClass`), and a receiver takes a class by a name only for those.
   */
  known?: WeakSet<Function>;
  /** The classes registered by `registerUserErrorClass`. */
  user?: WeakSet<Function>;
}
// On globalThis: two copies of weft in one process (the sources beside dist/) share one registry.
const KEY = Symbol.for('weft.errorClasses');
const holder = globalThis as unknown as { [KEY]?: Registry };
const registry: Registry = (holder[KEY] ??= {
  byName: new Map(),
  byChain: new Map(),
  homeKey: new WeakMap(),
});
// A holder made by an older copy of weft lacks these.
const knownClasses = (registry.known ??= new WeakSet());
const userClasses = (registry.user ??= new WeakSet());

/**
 * The built-in classes an error's chain ends in, by name. No prototype: a peer's frame names
 * what it likes, and 'constructor' or 'toString' must not find Object or a method.
 */
export const BUILTIN_ERRORS: Readonly<Record<string, ErrorClass>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, ErrorClass>, {
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError: AggregateError as unknown as ErrorClass,
  }),
);

/** How many classes a chain names at most, so that a receiver's lookups by it stay short. */
const MAX_CHAIN = 16;

/** What a sender tells of an error's class besides its chain (see `errorClassFor`). */
export interface ClassFacts {
  chain: string[];
  /** The indexes in `chain` of the classes registered on the sender. */
  known: number[];
  /** The home key of the nearest class of the chain registered with a home, and its index. */
  home?: string;
  homeAt?: number;
}

/**
 * The keys of the classes from prototype `proto` up, stopping at the first built-in one; which
 * of them are registered here, and the nearest one's home.
 */
export function describeClass(proto: object | null): ClassFacts {
  const facts: ClassFacts = { chain: [], known: [] };
  let unsure: Array<[number, Function]> | undefined;
  for (let p = proto; p !== null && facts.chain.length < MAX_CHAIN; p = Object.getPrototypeOf(p)) {
    const ctor = (p as { constructor?: unknown }).constructor;
    if (typeof ctor !== 'function') continue;
    const key = classKey(ctor);
    if (knownClasses.has(ctor)) facts.known.push(facts.chain.length);
    else if (BUILTIN_ERRORS[key] !== ctor) (unsure ??= []).push([facts.chain.length, ctor]);
    const home = facts.home === undefined ? registry.homeKey.get(ctor) : undefined;
    if (home !== undefined) {
      facts.home = home;
      facts.homeAt = facts.chain.length;
    }
    facts.chain.push(key);
    if (BUILTIN_ERRORS[key] === ctor || ctor === Error) break;
  }
  // An older copy of weft in this process registers its classes in the shared maps, not in
  // `known`: found there, they are known too (else its errors would arrive as Error).
  for (const [i, ctor] of unsure ?? []) {
    if (
      registry.homeKey.has(ctor) ||
      registry.byChain.get(chainKey(facts.chain.slice(i))) === ctor
    ) {
      knownClasses.add(ctor);
      facts.known.push(i);
    }
  }
  if (unsure !== undefined) facts.known.sort((a, b) => a - b);
  return facts;
}

/** One string for a chain: class keys hold no newline. */
function chainKey(chain: readonly string[]): string {
  return chain.join('\n');
}

export interface RegisterOptions {
  /**
   * Also found by its name, for an error none of whose chain is known here (see the notes at the
   * top): the classes the broker means, and those found so before chains were sent. Their names
   * are weft's: a user's class of one of them is refused.
   */
  byName?: boolean;
  /**
   * For a class whose whole chain another class has too (selectors' `KeyError` and
   * multiprocessing's are both `KeyError < WeftError`): the module it belongs to, sent with its
   * errors so that the receiver tells the two apart.
   */
  home?: string;
}

/**
 * Lets `cls` be rebuilt as itself on this side (weft's own classes register in their module's
 * errors file).
 */
export function registerErrorClass(cls: ErrorClass, options?: RegisterOptions): void {
  const chain = chainKey(describeClass(cls.prototype).chain);
  const key = options?.home === undefined ? chain : `${options.home}:${chain}`;
  if (!registry.byChain.has(key)) registry.byChain.set(key, cls);
  knownClasses.add(cls);
  if (options?.home !== undefined) registry.homeKey.set(cls, key);
  if (options?.byName !== true) return;
  const name = classKey(cls);
  if (!registry.byName.has(name)) registry.byName.set(name, cls);
}

for (const cls of [
  WeftError,
  CancelledError,
  TimeoutError,
  RuntimeError,
  InvalidStateError,
  BrokenBarrierError,
  DeadlockError,
  ExceptionGroup,
]) {
  registerErrorClass(cls as unknown as ErrorClass, { byName: true });
}

/**
 * The public face of `registerErrorClass`: a user's error class, registered in the module that
 * defines it, comes back from a thread or a process as itself (`instanceof` holds, its fields
 * carried) instead of as the nearest built-in class. Python finds a pickled exception's class
 * by module and name; JavaScript has no such lookup, so the class is found by the names of its
 * chain, and by its name: two different classes registered under one name (or one chain) would
 * be confused, and that is refused. weft's classes found by their chain alone (see `byName`)
 * leave their names free.
 */
export function registerUserErrorClass(cls: abstract new (...args: never[]) => Error): void {
  if (typeof cls !== 'function' || !((cls as { prototype?: unknown }).prototype instanceof Error)) {
    throw new TypeError(
      `registerErrorClass expects a class extending Error: received ${describeKind(cls)}`,
    );
  }
  const name = classKey(cls);
  const chain = chainKey(describeClass(cls.prototype).chain);
  // A weft class of the same name and the same chain (a `class PoolFull extends Full` of
  // gevent's) is as confusable as one of the same name registered by name.
  const known = registry.byName.get(name) ?? BUILTIN_ERRORS[name] ?? registry.byChain.get(chain);
  if (known !== undefined && known !== cls) {
    throw new TypeError(
      `registerErrorClass: another error class named '${name}' is already registered (errors are matched by class name across threads and processes): rename one of them`,
    );
  }
  registry.byName.set(name, cls as unknown as ErrorClass);
  registry.byChain.set(chain, cls as unknown as ErrorClass);
  knownClasses.add(cls);
  userClasses.add(cls);
}

function describeKind(x: unknown): string {
  if (typeof x === 'function') return `function ${x.name || '(anonymous)'} (not an Error class)`;
  return x === null ? 'null' : typeof x;
}

/**
 * The class to rebuild an error as: the first suffix of its `chain` registered here (its own
 * class, else its nearest ancestor loaded here; at `homeAt`, the class of `home` only), else the
 * registered class a key of its chain or its `name` names, else the built-in class its chain
 * ends in.
 *
 * `known` (the indexes of the chain's classes registered on the sender; absent from a frame
 * that does not say) keeps a user's unregistered class from coming back as weft's of the same
 * name or chain (a worker's own `class Empty extends Error`): a class is taken for an index the
 * sender did not register only when the user registered it here. By `name` only when the sender
 * registered its own class, or the error was renamed away from its class (the broker's errors,
 * `e.name = 'TimeoutError'`).
 */
export function errorClassFor(
  sent: readonly string[],
  name: string,
  home?: string,
  known?: readonly number[],
  homeAt = 0,
): ErrorClass {
  // A sender names MAX_CHAIN classes at most: a longer chain (a peer's frame) is not looked up
  // by each of its suffixes, which would cost its length squared.
  const chain = sent.length > MAX_CHAIN ? sent.slice(0, MAX_CHAIN) : sent;
  const knew = (i: number): boolean => known === undefined || known.includes(i);
  for (let i = 0; i < chain.length; i++) {
    if (home !== undefined && i === homeAt) {
      // Another class has this chain too (multiprocessing's KeyError for selectors'): only the
      // class of this home is the sender's.
      const homed = registry.byChain.get(home);
      if (homed !== undefined) return homed;
      continue;
    }
    const cls = registry.byChain.get(chainKey(chain.slice(i)));
    if (cls !== undefined && (knew(i) || userClasses.has(cls))) return cls;
  }
  for (let i = 0; i < chain.length; i++) {
    const cls = knew(i) ? registry.byName.get(chain[i] as string) : undefined;
    if (cls !== undefined) return cls;
  }
  const byName = chain.length === 0 || name !== chain[0] || knew(0);
  const named = (byName ? registry.byName.get(name) : undefined) ?? BUILTIN_ERRORS[name];
  if (named !== undefined) return named;
  for (const key of chain) {
    const cls = BUILTIN_ERRORS[key];
    if (cls !== undefined) return cls;
  }
  return Error;
}

/** @internal The names of the error classes this thread registered by name (tests). */
export function registeredErrorNames(): string[] {
  return [...registry.byName.keys()];
}
