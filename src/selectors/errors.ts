import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { RuntimeError, WeftError } from '../internal/errors.js';

/** Python's `KeyError`: the file object is (or is not) registered with the selector. */
export class KeyError extends WeftError {
  static override readonly kind: string = 'KeyError';
  constructor(message: string) {
    super(message, 'ERR_WEFT_SELECTOR_KEY');
  }
}

// multiprocessing's KeyError has the same name, which its broker raises by, and the same chain
// (src/internal/error-registry.ts).
registerErrorClass(KeyError as ErrorClass, { home: 'selectors' });

/**
 * Python's ValueError "I/O operation on closed epoll object": a RangeError, as weft maps
 * ValueError (a closed socket's own calls raise OSError EBADF, as Python's do).
 */
export function closedSelector(what: string): RangeError {
  return new RangeError(`I/O operation on a closed selector: ${what} came after close()`);
}

/**
 * Python's RuntimeError "Selector is closed", from `getKey()` after `close()` (Python's
 * `get_key` finds no mapping then; its `unregister` and `modify` say KeyError instead).
 */
export function selectorClosed(what: string): RuntimeError {
  return new RuntimeError(
    `Selector is closed: ${what} came after close()`,
    'ERR_WEFT_SELECTOR_CLOSED',
  );
}

/**
 * A second `select()` while one waits on the same selector (weft's selectors take one waiting
 * task at a time): a RuntimeError, as weft's readers say of a second reading task.
 */
export function selectBusy(): RuntimeError {
  return new RuntimeError(
    'select() called while another task is already waiting in select() on this selector: one select() may wait at a time',
    'ERR_WEFT_SELECT_BUSY',
  );
}

/**
 * Python's ValueError "Invalid file object" for what is no file object at all: a TypeError, as
 * weft's `register` raises for it (the argument is of the wrong type, not a bad socket).
 */
export function invalidFileObject(what: string, fileobj: string, accepted: string): TypeError {
  return new TypeError(`${what}: Invalid file object: ${fileobj} (it watches ${accepted} only)`);
}
