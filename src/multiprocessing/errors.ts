/**
 * Errors of `weft/multiprocessing`: Python's names. `TimeoutError`, `BrokenBarrierError` and
 * `DeadlockError` (a Lock wait that could never end: src/internal/process/broker-deadlock.ts) are
 * weft's shared classes, re-exported; so is `BrokenPipeError`, the one class of weft's `OSError`
 * family (src/socket/errors.ts) that sockets and `Connection.send` both raise, as Python has one
 * builtin `BrokenPipeError` for both.
 */
import { registerErrorClass } from '../internal/error-registry.js';
import { isKindOf, RuntimeError, setBrand, WeftError } from '../internal/errors.js';
import { Empty, Full } from '../queue/errors.js';
import { BrokenPipeError } from '../socket/errors.js';

export {
  BrokenBarrierError,
  DeadlockError,
  RuntimeError,
  TimeoutError,
} from '../internal/errors.js';
// multiprocessing's queues raise queue.Empty and queue.Full, as in Python.
export { Empty, Full } from '../queue/errors.js';
// `Connection.send` when nobody can receive any more: an `OSError` with errno EPIPE.
// A closed or one-way Connection used the wrong way, as Python's "handle is closed".
export { BrokenPipeError, OSError } from '../socket/errors.js';

/** A process ended while others depended on it (a consumer that died before `taskDone`). */
export class ProcessError extends WeftError {
  static override readonly kind: string = 'ProcessError';
  constructor(message: string, code = 'ERR_WEFT_PROCESS', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/**
 * Python's `BufferTooShort` (a `ProcessError`): `Connection.recvBytesInto(buf, offset)` got a
 * message longer than the room after `offset`. The message is not lost: it is `data` (Python's
 * `e.args[0]`), and `buf` is left as it was.
 */
export class BufferTooShort extends ProcessError {
  static override readonly kind: string = 'BufferTooShort';
  /** The whole message that did not fit. */
  readonly data: Buffer;
  constructor(message: string, data: Buffer = Buffer.alloc(0), options?: ErrorOptions) {
    super(message, 'ERR_WEFT_BUFFER_TOO_SHORT', options);
    this.data = data;
  }
}

/**
 * Python's `AuthenticationError` (a `ProcessError`): the HMAC challenge of a `Listener` and a
 * `Client` failed — their authkeys differ, or one side has an authkey and the other none. Both
 * sides raise it: the Listener's `accept()` and the `Client()` call.
 */
export class AuthenticationError extends ProcessError {
  static override readonly kind: string = 'AuthenticationError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_AUTHENTICATION', options);
  }
}

/**
 * Python's `EOFError` from `Connection.recv()`: nothing is left to receive and every handle of the
 * other end is closed (in every process that had one, or those processes ended).
 */
export class EOFError extends WeftError {
  static override readonly kind: string = 'EOFError';
  constructor(
    message = 'The other end of the Pipe is closed',
    code = 'ERR_WEFT_EOF',
    options?: ErrorOptions,
  ) {
    super(message, code, options);
  }
}

/**
 * Python's `IndexError`: an index past either end of a shared `Array` or a Manager list (`get`,
 * `set`), or `pop()` on an empty list. Negative indexes count from the end first, as Python's
 * `l[-1]`.
 *
 * A `RangeError` too, and a `WeftError` by brand: JavaScript's own error for an index out of
 * range is a `RangeError` (and the shared Array raised one before this class existed), so
 * `catch (e) { if (e instanceof RangeError) … }` keeps working. Python's `IndexError` is a
 * `LookupError`, not a `ValueError`, which weft's other `RangeError`s stand for; code that must
 * tell the two apart tests `instanceof IndexError` first. `instanceof IndexError` and
 * `instanceof WeftError` answer from the brand, so they hold across two copies of weft.
 */
export class IndexError extends RangeError {
  static readonly kind: string = 'IndexError';
  readonly code: string;
  constructor(message: string, code = 'ERR_WEFT_INDEX', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'IndexError';
    // Not a subclass of WeftError (a class has one parent): it carries WeftError's brand.
    setBrand(this, [IndexError.kind, WeftError.kind]);
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return isKindOf(this, IndexError.kind, x);
  }
}

/** Python's `KeyError` from a Manager dict: `add` on a key the dict does not have. */
export class KeyError extends WeftError {
  static override readonly kind: string = 'KeyError';
  constructor(message: string, code = 'ERR_WEFT_KEY', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** Python's `AttributeError` from a Manager Namespace: `get` of a name that was never set. */
export class AttributeError extends WeftError {
  static override readonly kind: string = 'AttributeError';
  constructor(message: string, code = 'ERR_WEFT_ATTRIBUTE', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/**
 * Python's `FileExistsError` from `SharedMemory({ name, create: true })`: a segment of that name
 * exists already. `code` is Node's `'EEXIST'`.
 */
export class FileExistsError extends WeftError {
  static override readonly kind: string = 'FileExistsError';
  constructor(message: string, code = 'EEXIST', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/**
 * Python's `FileNotFoundError` from `SharedMemory({ name })` or `unlink()`: no segment has that
 * name (never made, or unlinked). `code` is Node's `'ENOENT'`.
 */
export class FileNotFoundError extends WeftError {
  static override readonly kind: string = 'FileNotFoundError';
  constructor(message: string, code = 'ENOENT', options?: ErrorOptions) {
    super(message, code, options);
  }
}

// The broker raises these by name (it imports no public module); the client rebuilds them here.
for (const cls of [
  AttributeError,
  AuthenticationError,
  BrokenPipeError,
  BufferTooShort,
  Empty,
  EOFError,
  FileExistsError,
  FileNotFoundError,
  Full,
  IndexError,
  KeyError,
  ProcessError,
  RuntimeError,
]) {
  registerErrorClass(cls as unknown as new (message: string) => Error, { byName: true });
}

/**
 * What the `[kShared]` of an object that cannot cross to another process or thread throws: a
 * Pool, a Process, a Manager, an AsyncResult. Python cannot pickle them either (a Pool says
 * NotImplementedError "pool objects cannot be passed between processes or pickled", the others
 * TypeError); weft's serializer copied their own fields and they arrived as lifeless objects.
 */
export function refuseToSend(what: string, instead: string): never {
  throw Object.assign(
    new TypeError(
      `${what} cannot be passed to another process or thread (it would arrive as an empty object): ${instead}`,
    ),
    { code: 'ERR_WEFT_NOT_SENDABLE' },
  );
}

/**
 * Python's `ValueError` for a misuse, as weft spells it (API.md, and weft/queue's and asyncio's
 * `taskDone`): a `RangeError` whose `code` says which misuse.
 */
export function valueError(message: string, code: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}
