import { WeftError } from '../internal/errors.js';

/** Python's `KeyError`: the file object is (or is not) registered with the selector. */
export class KeyError extends WeftError {
  static override readonly kind: string = 'KeyError';
  constructor(message: string) {
    super(message, 'ERR_WEFT_SELECTOR_KEY');
  }
}
