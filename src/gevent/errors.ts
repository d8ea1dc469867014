import { QueueEmpty, QueueFull } from '../asyncio/errors.js';
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { CancelledError, DeadlockError, describeValue } from '../internal/errors.js';

/**
 * Raised inside a greenlet by `kill()` (gevent's `GreenletExit`). A greenlet that ends with it
 * is not a failure: it counts as `successful()` and the error becomes its `value`.
 *
 * A subclass of asyncio's `CancelledError`, since killing a greenlet is cancelling its task:
 * `catch (e) { if (e instanceof CancelledError) … }` clean-up code sees kills too.
 */
export class GreenletExit extends CancelledError {
  static override readonly kind: string = 'GreenletExit';
  override readonly code: string = 'ERR_WEFT_GREENLET_EXIT';
  constructor(message = 'The greenlet was killed') {
    super(message);
  }
}

/**
 * gevent.queue's `Empty`: a `get`/`peek` found no item, at once (`block: false`, `getNowait`) or
 * when its `timeout` passed. gevent's is the standard library's `queue.Empty`; `instanceof`
 * answers by class name (src/internal/errors.ts), so `instanceof` weft/queue's `Empty` holds
 * for it too, and it is an asyncio `QueueEmpty`, as the two mean the same.
 */
export class Empty extends QueueEmpty {
  static override readonly kind: string = 'Empty';
  constructor(message = 'The queue is empty') {
    super(message);
  }
}

/**
 * gevent.queue's `Full`: a `put` found no room, at once (`block: false`, `putNowait`) or when its
 * `timeout` passed; a `Channel.put` that no getter took in time. Like `Empty`, also `instanceof`
 * weft/queue's `Full` and asyncio's `QueueFull`.
 */
export class Full extends QueueFull {
  static override readonly kind: string = 'Full';
  constructor(message = 'The queue is full') {
    super(message);
  }
}

/**
 * `Pool.add`/`Pool.start` found no free slot: at once with `blocking: false`, or when its
 * `timeout` passed (gevent's `PoolFull`). A `Full` (and so a `QueueFull`), as gevent's is a
 * `queue.Full`.
 */
export class PoolFull extends Full {
  static override readonly kind: string = 'PoolFull';
  override readonly code: string = 'ERR_WEFT_POOL_FULL';
  constructor(message = 'The pool is full') {
    super(message);
  }
}

/**
 * A wait made outside every greenlet and task (the main program's `await g.join()`, `g.get()`,
 * `joinall`, `pool.join()`, a `pool.spawn` waiting for a slot) when nothing is left that could
 * end it: no greenlet or task is ready and Node's loop has no timer, socket or other work
 * pending (gevent's `LoopExit`, "This operation would block forever", which its hub raises in
 * the main greenlet). A `DeadlockError`: without it the program would end with the wait
 * unsettled (exit code 13 for a top-level await).
 */
export class LoopExit extends DeadlockError {
  static override readonly kind: string = 'LoopExit';
  override readonly code: string = 'ERR_WEFT_LOOP_EXIT';
}

// By their whole class chain (src/internal/error-registry.ts): Empty and Full are also the names
// of weft/queue's classes, which are multiprocessing's broker's.
for (const cls of [GreenletExit, Empty, Full, PoolFull, LoopExit])
  registerErrorClass(cls as ErrorClass);

/**
 * What gevent's `kill(exception=…)` and `Timeout(seconds, exception)` take: an error, raised as
 * it is, or an error class, made anew (with no arguments) for each time it is raised.
 */
export type ErrorOrClass = Error | (new () => Error);

/** `Error` or a subclass of it (what `makeError` makes an instance of). */
export function isErrorClass(x: unknown): x is new () => Error {
  return typeof x === 'function' && (x === Error || x.prototype instanceof Error);
}

/**
 * The error `spec` stands for: itself, or a new instance of its class.
 * @throws TypeError for anything else (`what` names the call), or what the class throws.
 */
export function makeError(what: string, spec: unknown): Error {
  if (spec instanceof Error) return spec;
  if (isErrorClass(spec)) return new spec();
  throw new TypeError(
    `${what}: exception must be an Error or an Error class: received ${describeValue(spec)}`,
  );
}
