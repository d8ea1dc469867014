/**
 * Error classes shared by every weft module (asyncio, threading, queue, futures, …).
 *
 * Python's names, a stable `code`, and an `instanceof` that survives two copies of weft in one
 * process (the sources under tsx beside the built `dist/`, or two installed versions): every
 * instance carries the names of the classes in its chain under a registered symbol, and each
 * class answers `instanceof` from that list rather than from prototype identity (undici brands
 * its errors the same way). Errors that cross a thread or process boundary are rebuilt as their
 * class (src/internal/error-registry.ts) with their `name`, `code`, `message`, fields and brand,
 * and the remote stack as `cause` (src/internal/serialize.ts).
 */

const KINDS = Symbol.for('weft.error.kinds');

type Branded = { [KINDS]?: readonly string[] };

function brand(target: object, ctor: Function): void {
  const kinds: string[] = [];
  for (
    let c: any = ctor;
    c && c !== Error && c !== AggregateError && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    // Own kinds only: a user's subclass that declares none would repeat its parent's.
    if (Object.hasOwn(c, 'kind') && typeof c.kind === 'string') kinds.push(c.kind);
  }
  setBrand(target, kinds);
}

/**
 * A class's key: its own `kind` (weft's classes; stable under a minifier), else its name. Its
 * own, as Python names an exception by its class: inherited, a user's
 * `class PoolGone extends Full {}` would print as gevent's `Full`, and, as a key of its chain
 * (error-registry.ts), stand for gevent's Full on the other side of a thread or process (and be
 * refused registration as a second 'Full').
 */
export function classKey(ctor: Function): string {
  const kind = Object.hasOwn(ctor, 'kind') ? (ctor as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' ? kind : ctor.name;
}

/**
 * The `name` of an instance of `ctor`: its `classKey`, but for an anonymous class the `kind` it
 * inherits, as an anonymous `class extends Error {}` gives its instances Error's `name` (an error
 * named '' prints as its message alone). Its key stays '': keyed by the kind it inherits, it
 * would be taken for its parent by name, and refused registration as a second one.
 */
export function kindName(ctor: Function): string {
  return classKey(ctor) || String((ctor as { kind?: unknown }).kind);
}

/**
 * What a weft class's `instanceof` answers: by brand for a class that declares its own `kind`
 * (which holds across two copies of weft); by prototype for a user's subclass that declares
 * none, whose inherited `kind` is its parent's (by brand, every instance of the parent would
 * pass for it).
 */
export function isKindOf(cls: Function, kind: string, x: unknown): boolean {
  if (Object.hasOwn(cls, 'kind')) return hasKind(x, kind);
  return Function.prototype[Symbol.hasInstance].call(cls, x);
}

/** Gives `target`, made without running `ctor`, the brand `ctor` would have given it. */
export function brandAs<T extends object>(target: T, ctor: Function): T {
  brand(target, ctor);
  return target;
}

/**
 * Brands `target` with `kinds` as they are: for a class whose chain does not say them all (a
 * `RangeError` that is a WeftError too), and for an error rebuilt from another thread or process
 * as the nearest class known here, which keeps the brand of the class it was made as there.
 * Configurable, so that the rebuilt error's brand can be replaced after its constructor ran.
 */
export function setBrand(target: object, kinds: readonly string[]): void {
  Object.defineProperty(target, KINDS, { value: kinds, enumerable: false, configurable: true });
}

/** The kinds `x` is branded with, or undefined for what is not a weft error. */
export function brandOf(x: unknown): readonly string[] | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const kinds = (x as Branded)[KINDS];
  return Array.isArray(kinds) ? kinds : undefined;
}

/**
 * Whether `x` is branded with `kind`: what every weft error class's `instanceof` answers (an
 * instance made by another copy of weft, or rebuilt from another thread, holds the brand of its
 * class, not its prototype).
 */
export function hasKind(x: unknown, kind: string): boolean {
  return brandOf(x)?.includes(kind) === true;
}

/** Base class of every weft error. */
export class WeftError extends Error {
  static readonly kind: string = 'WeftError';
  readonly code: string;

  constructor(message: string, code = 'ERR_WEFT', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = kindName(new.target);
    brand(this, new.target);
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return isKindOf(this, this.kind, x);
  }
}

/**
 * The operation was cancelled: `task.cancel(msg)`, an executor shutting down with
 * `cancelFutures`, a future cancelled before it ran. The message is the one given to `cancel`.
 */
export class CancelledError extends WeftError {
  static override readonly kind: string = 'CancelledError';
  constructor(message = '', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_CANCELLED', options);
  }
}

/**
 * A deadline passed: `waitFor`, `timeout()` scopes, `result({ timeout })`. weft's own class (not
 * the DOM's `TimeoutError` DOMException that `AbortSignal.timeout` uses).
 */
export class TimeoutError extends WeftError {
  static override readonly kind: string = 'TimeoutError';
  constructor(message = 'The operation timed out', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_TIMEOUT', options);
  }
}

/**
 * Python's RuntimeError: misuse of a primitive or an object in the wrong state (releasing an
 * unheld lock, waiting on an un-acquired condition, submitting to a closed pool). One class for
 * every module; `code` says which misuse.
 */
export class RuntimeError extends WeftError {
  static override readonly kind: string = 'RuntimeError';
  constructor(message: string, code = 'ERR_WEFT_RUNTIME', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** A future's result or exception was asked for before it was done, or it was set twice. */
export class InvalidStateError extends WeftError {
  static override readonly kind: string = 'InvalidStateError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_INVALID_STATE', options);
  }
}

/** A barrier was reset or aborted while parties waited on it, or it timed out. */
export class BrokenBarrierError extends WeftError {
  static override readonly kind: string = 'BrokenBarrierError';
  constructor(message = 'The barrier is broken', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_BROKEN_BARRIER', options);
  }
}

/** One link of a wait-for cycle: `waiter` waits for `resource`, which `holder` holds. */
export interface DeadlockEdge {
  waiter: string;
  resource: string;
  holder: string;
}

/**
 * weft's own: a wait that could never end. Raised instead of hanging when a task or thread would
 * wait for a lock held (transitively) by itself, or when every task of `run()` is blocked with
 * nothing left that could wake one. `cycle` lists the wait-for edges that close the loop.
 */
export class DeadlockError extends WeftError {
  static override readonly kind: string = 'DeadlockError';
  readonly cycle: readonly DeadlockEdge[];
  constructor(message: string, cycle: readonly DeadlockEdge[] = [], options?: ErrorOptions) {
    super(message, 'ERR_WEFT_DEADLOCK', options);
    this.cycle = cycle;
  }
}

/** Describes a cycle as one sentence: "Task 'a' waits for Lock 'L1' held by Task 'b', which …". */
export function describeCycle(cycle: readonly DeadlockEdge[]): string {
  return cycle
    .map((e, i) => `${i === 0 ? e.waiter : 'which'} waits for ${e.resource} held by ${e.holder}`)
    .join(', ');
}

/**
 * Python's `ExceptionGroup`: several errors raised together (a `TaskGroup` whose children
 * failed). An `AggregateError`, so `errors` holds the same list as `exceptions`.
 */
export class ExceptionGroup extends AggregateError {
  static readonly kind: string = 'ExceptionGroup';
  readonly code = 'ERR_WEFT_EXCEPTION_GROUP';

  constructor(message: string, exceptions: unknown[]) {
    super(exceptions, message);
    this.name = kindName(new.target);
    brand(this, new.target);
  }

  /** The errors of the group, in the order they were raised. */
  get exceptions(): unknown[] {
    return this.errors;
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return isKindOf(this, this.kind, x);
  }
}

/** `TypeError` with a message in weft's house style: what was wrong and what was received. */
export function argumentError(what: string, received: unknown): TypeError {
  return new TypeError(`${what}: received ${describeValue(received)}`);
}

/** `RangeError` (Python's ValueError) for a value of the right type but out of range. */
export function rangeError(what: string, received: unknown): RangeError {
  return new RangeError(`${what}: received ${describeValue(received)}`);
}

/**
 * Checks the `n` of a semaphore's `release(n)`: a TypeError for a value that is not a number
 * (`release('1')`), a RangeError (Python's ValueError) for one that is not an integer >= 1.
 */
export function checkReleaseCount(n: unknown): asserts n is number {
  if (typeof n !== 'number') throw argumentError('Semaphore.release(n) needs a number n', n);
  if (!Number.isInteger(n) || n < 1)
    throw rangeError('Semaphore.release(n) needs an integer n >= 1', n);
}

/**
 * Checks that `fn` (a callback given to `what`, e.g. 'Lock.run') is a function, before anything
 * is acquired or scheduled: a TypeError naming the call, not a "fn is not a function" from
 * inside it once a lock was taken and given back.
 */
export function checkFunction(
  fn: unknown,
  what: string,
): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') throw notAFunction(fn, what);
}

/** The TypeError of `checkFunction`, for a hot path that tests `typeof` itself. */
export function notAFunction(fn: unknown, what: string): TypeError {
  return argumentError(`${what} expects a function`, fn);
}

/**
 * Checks a Barrier's options (threading's and multiprocessing's): an object or nothing, and an
 * action that is a function (or, with `nullAction`, null: multiprocessing's type allows it).
 * Python's `Barrier(n, action)` passes the action second; taken as options, it would be ignored
 * in silence.
 */
export function checkBarrierOptions(
  options: unknown,
  nullAction = false,
): asserts options is { action?: unknown; timeout?: unknown } {
  if (typeof options !== 'object' || options === null) {
    const hint = typeof options === 'function' ? ' (pass an action as { action: fn })' : '';
    throw new TypeError(
      `Barrier options must be an object ({ action, timeout }) or left out: received ${describeValue(options)}${hint}`,
    );
  }
  const action = (options as { action?: unknown }).action;
  if (action !== undefined && !(nullAction && action === null) && typeof action !== 'function')
    throw argumentError('Barrier action must be a function', action);
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  const ctor = (v as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
}

/**
 * "RangeError: Maximum call stack size exceeded": an error's name and message, for a message
 * that quotes a cause in a line. Never throws (any value may be thrown, with getters that throw).
 */
export function describeError(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } catch {
    return 'a value that cannot be shown';
  }
}

/**
 * What an exception handler prints for `e`: its stack, else its string. Never throws: an error
 * whose `stack` getter or `toString` throws (user code can make one) is described as such
 * instead of ending the process from inside the handler.
 */
export function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? (e.stack ?? String(e)) : String(e);
  } catch {
    try {
      return `${describeValue(e)} (its stack and text cannot be read)`;
    } catch {
      return 'an exception whose stack and text cannot be read';
    }
  }
}
