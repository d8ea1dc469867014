/**
 * Python's start methods and contexts (`multiprocessing.get_context`, `set_start_method`,
 * `get_start_method`, `get_all_start_methods`). weft has one start method, Python's `'spawn'`:
 * every child is a fresh Node process that imports its target's module. Node cannot `fork()` a
 * running process (its threads, event loop and V8 heap do not survive it), so there is no
 * `'fork'`, and so no `'forkserver'` either, which forks its children from a server process;
 * both are a RangeError (Python's ValueError) that says so.
 *
 * The rest is Python's: the process's context is unset until `getContext()`,
 * `getStartMethod()` or `setStartMethod()` fixes it, after which `setStartMethod` without
 * `force` is a RuntimeError ("context has already been set"); a child process starts with it
 * set to its parent's method, as Python's spawned children do.
 */
import { describeValue, RuntimeError } from '../internal/errors.js';
import { sharedArray } from './array.js';
import { Barrier } from './barrier.js';
import { BoundedSemaphore } from './bounded-semaphore.js';
import { Condition } from './condition.js';
import { Pipe } from './connection.js';
import { activeChildren, currentProcess, parentProcess } from './current-process.js';
import { BufferTooShort, ProcessError, TimeoutError, valueError } from './errors.js';
import { Event } from './event.js';
import { JoinableQueue } from './joinable-queue.js';
import { Lock } from './lock.js';
import { Manager } from './manager.js';
import { Pool } from './pool.js';
import { cpuCount, Process } from './process.js';
import { identity } from './process-identity.js';
import { Queue } from './queue.js';
import { RawArray } from './raw-array.js';
import { RawValue } from './raw-value.js';
import { RLock } from './rlock.js';
import { Semaphore } from './semaphore.js';
import { SimpleQueue } from './simple-queue.js';
import { Value } from './value.js';

/** The start methods weft has: Python's `'spawn'` alone. */
export type StartMethod = 'spawn';

/**
 * A context (Python's `multiprocessing.context.SpawnContext`): an object with the module's API —
 * `new ctx.Process(…)`, `new ctx.Queue()`, `ctx.Value('i', 0)`, `new ctx.Pool(2)`, … — which
 * makes what the module's own names make, as weft's one start method is the only one. Code
 * written for Python's `ctx = get_context('spawn')` keeps its shape:
 * `const ctx = getContext('spawn'); const q = new ctx.Queue();`.
 */
export class SpawnContext {
  readonly Process = Process;
  readonly Queue = Queue;
  readonly JoinableQueue = JoinableQueue;
  readonly SimpleQueue = SimpleQueue;
  readonly Pipe = Pipe;
  readonly Lock = Lock;
  readonly RLock = RLock;
  readonly Semaphore = Semaphore;
  readonly BoundedSemaphore = BoundedSemaphore;
  readonly Event = Event;
  readonly Condition = Condition;
  readonly Barrier = Barrier;
  readonly Value = Value;
  readonly Array = sharedArray;
  readonly RawValue = RawValue;
  readonly RawArray = RawArray;
  readonly Manager = Manager;
  readonly Pool = Pool;
  readonly currentProcess = currentProcess;
  readonly parentProcess = parentProcess;
  readonly activeChildren = activeChildren;
  readonly cpuCount = cpuCount;
  readonly ProcessError = ProcessError;
  readonly BufferTooShort = BufferTooShort;
  readonly TimeoutError = TimeoutError;

  /** Python's `ctx.get_context(method)`: this context with no method, else that method's. */
  getContext(method?: StartMethod | null): SpawnContext {
    return method === undefined || method === null ? this : concrete(method);
  }

  /** This context's method: `'spawn'` (Python's `ctx.get_start_method()`). */
  getStartMethod(_options?: { allowNone?: boolean }): StartMethod {
    return 'spawn';
  }

  /**
   * Python's `ctx.set_start_method()` on a context got from `getContext`: always refused.
   * @throws RangeError (Python's ValueError, `ERR_WEFT_CONCRETE_CONTEXT`).
   */
  setStartMethod(_method: StartMethod | null, _options?: { force?: boolean }): never {
    throw valueError(
      "cannot set start method of concrete context: call setStartMethod from 'weft/multiprocessing' itself",
      'ERR_WEFT_CONCRETE_CONTEXT',
    );
  }

  toString(): string {
    return 'SpawnContext';
  }
}

const SPAWN = new SpawnContext();

/**
 * The context `method` names. @throws TypeError for a method that is not a string. @throws
 * RangeError (Python's ValueError, `ERR_WEFT_START_METHOD`) for another method than 'spawn'.
 */
function concrete(method: unknown): SpawnContext {
  if (typeof method !== 'string')
    throw new TypeError(
      `start method must be a string ('spawn'): received ${describeValue(method)}`,
    );
  if (method === 'spawn') return SPAWN;
  const why =
    method === 'fork'
      ? "weft cannot fork: every child is a fresh Node process that imports its target's module (Node cannot fork a running process, whose threads and event loop would not survive it)"
      : method === 'forkserver'
        ? "weft has no fork server: its server forks each child, and weft cannot fork (every child is a fresh Node process that imports its target's module)"
        : "weft's one start method is 'spawn'";
  throw valueError(
    `cannot find context for '${method}': ${why}; use 'spawn', which is what weft does (or leave the method out)`,
    'ERR_WEFT_START_METHOD',
  );
}

/**
 * The context this process uses once fixed (Python's `DefaultContext._actual_context`): null
 * until then; undefined until first asked. A child process starts with it set, as Python's
 * spawned child is handed its parent's method. Each weft thread has its own (a Python thread
 * shares its process's): one thread's setStartMethod is not seen by another.
 */
let actual: SpawnContext | null | undefined;

function current(): SpawnContext | null {
  actual ??= identity().parentPid === null ? null : SPAWN;
  return actual;
}

/**
 * Python's `multiprocessing.get_context(method)`: the context of `method`; with none, this
 * process's context, which the call fixes (a later `setStartMethod` without `force` throws).
 * @throws TypeError, RangeError (Python's ValueError) as `setStartMethod`.
 */
export function getContext(method?: StartMethod | null): SpawnContext {
  if (method !== undefined && method !== null) return concrete(method);
  actual = SPAWN;
  return SPAWN;
}

/**
 * Python's `multiprocessing.set_start_method(method, force=False)`: fixes this process's context
 * to `method`'s; with `{ force: true }` and a `null` method, unsets it.
 * @throws RuntimeError (`ERR_WEFT_CONTEXT_SET`) when the context is fixed already and `force` is
 *   not given: by an earlier `setStartMethod`, a `getContext()` or `getStartMethod()`, or, in a
 *   child process, from the start (guard the call with `currentProcess().name === 'MainProcess'`,
 *   as Python's with `if __name__ == '__main__'`).
 * @throws RangeError (Python's ValueError, `ERR_WEFT_START_METHOD`) for `'fork'`,
 *   `'forkserver'` or any method but `'spawn'`, saying why. @throws TypeError for a method that
 *   is not a string, or options that are not an object.
 */
export function setStartMethod(
  method: StartMethod | null,
  options: { force?: boolean } = {},
): void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(
      `setStartMethod options must be an object: received ${describeValue(options)}`,
    );
  const force = Boolean(options.force);
  if (current() !== null && !force)
    throw new RuntimeError(
      'context has already been set (by setStartMethod, getContext() or getStartMethod(), or because this is a child process, which starts with its parent’s method): pass { force: true } to set it again',
      'ERR_WEFT_CONTEXT_SET',
    );
  if ((method === null || method === undefined) && force) {
    actual = null;
    return;
  }
  actual = getContext(method);
}

/**
 * Python's `multiprocessing.get_start_method(allow_none=False)`: `'spawn'`. With the context
 * unset, `{ allowNone: true }` gives null; without it, the call fixes the context, as Python's.
 */
export function getStartMethod(options: { allowNone: true }): StartMethod | null;
export function getStartMethod(options?: { allowNone?: false }): StartMethod;
export function getStartMethod(options?: { allowNone?: boolean }): StartMethod | null;
export function getStartMethod(options: { allowNone?: boolean } = {}): StartMethod | null {
  if (current() === null) {
    if (options?.allowNone) return null;
    actual = SPAWN;
  }
  return 'spawn';
}

/** Python's `multiprocessing.get_all_start_methods()`: `['spawn']`, weft's only one. */
export function getAllStartMethods(): StartMethod[] {
  return ['spawn'];
}
