import { WeftError } from '../internal/errors.js';

export {
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  OSError,
} from '../socket/errors.js';

/**
 * `readexactly(n)` or `readuntil(sep)` met the end of the stream first. `partial` holds the
 * bytes read before EOF (they are consumed); `expected` is the number asked for, or null for
 * `readuntil`.
 */
export class IncompleteReadError extends WeftError {
  static override readonly kind: string = 'IncompleteReadError';
  readonly partial: Buffer;
  readonly expected: number | null;

  constructor(partial: Buffer, expected: number | null) {
    super(
      `${partial.length} bytes read on a total of ${expected === null ? 'undefined' : expected} expected bytes`,
      'ERR_WEFT_INCOMPLETE_READ',
    );
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * `readuntil` found no separator within the reader's `limit`. The buffered bytes stay in the
 * reader; `consumed` is how many of them may be dropped to move on.
 */
export class LimitOverrunError extends WeftError {
  static override readonly kind: string = 'LimitOverrunError';
  readonly consumed: number;

  constructor(message: string, consumed: number) {
    super(message, 'ERR_WEFT_LIMIT_OVERRUN');
    this.consumed = consumed;
  }
}
