import { WeftError } from '../internal/errors.js';

/** Python's `KeyError`: the file object is (or is not) registered with the selector. */
export class KeyError extends WeftError {
  static override readonly kind: string = 'KeyError';
  constructor(message: string) {
    super(message, 'ERR_WEFT_SELECTOR_KEY');
  }
}

/**
 * Python's ValueError "I/O operation on closed epoll object": a RangeError, as weft maps
 * ValueError (a closed socket's own calls raise OSError EBADF, as Python's do).
 */
export function closedSelector(what: string): RangeError {
  return new RangeError(`I/O operation on a closed selector: ${what} came after close()`);
}
