import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';
import { OSError } from '../socket/errors.js';

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

/**
 * A TLS failure (Python's `ssl.SSLError`, an `OSError`): the peer spoke something that is not
 * TLS, no protocol version or cipher was shared, a record failed its check. `reason` is
 * OpenSSL's reason in Python's spelling (`WRONG_VERSION_NUMBER`), `library` is `'SSL'`, and
 * `errno` is 1 (OpenSSL's SSL_ERROR_SSL), as Python's are; Node's error is the `cause`.
 */
export class SSLError extends OSError {
  static override readonly kind: string = 'SSLError';
  override readonly errno: number = 1;
  readonly reason: string;
  readonly library: string;

  constructor(message: string, reason = '', code = 'ERR_WEFT_SSL', options?: ErrorOptions) {
    super(message, '', code, options);
    this.reason = reason;
    this.library = 'SSL';
  }
}

/**
 * The peer's certificate did not verify (Python's `ssl.SSLCertVerificationError`): nobody
 * trusted signed it, it expired, or it names another host. `verifyCode` is OpenSSL's
 * `X509_V_ERR_*` number (18 for a self-signed certificate, 62 for a host name mismatch, 64 for
 * an IP address mismatch) and `verifyMessage` its text, as Python gives them.
 */
export class SSLCertVerificationError extends SSLError {
  static override readonly kind: string = 'SSLCertVerificationError';
  readonly verifyCode: number;
  readonly verifyMessage: string;

  constructor(message: string, verifyCode = 0, verifyMessage = '', options?: ErrorOptions) {
    super(message, 'CERTIFICATE_VERIFY_FAILED', 'ERR_WEFT_SSL_CERT_VERIFICATION', options);
    this.verifyCode = verifyCode;
    this.verifyMessage = verifyMessage;
  }
}

for (const cls of [IncompleteReadError, LimitOverrunError, SSLError, SSLCertVerificationError]) {
  registerErrorClass(cls as unknown as ErrorClass);
}
