/**
 * Python's `OSError` family for weft's sockets, streams and sendfile.
 *
 * Node reports a failed system call as an `Error` with `code: 'ECONNRESET'` and `errno: -104`;
 * Python raises a class per condition (`ConnectionResetError`, `BrokenPipeError`, …) that
 * callers catch by type. `fromSystemError` turns the first into the second, keeping Node's error
 * as `cause` and the positive errno and its symbol (`errnoName`) on the instance.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';

const ERRNO = constants.errno as Record<string, number>;

/** Python's `OSError`: a system call failed. `errno` is the positive C errno (0 if unknown). */
export class OSError extends WeftError {
  static override readonly kind: string = 'OSError';
  readonly errno: number;
  /** The errno's symbol (`ECONNRESET`), or '' when not known. */
  readonly errnoName: string;

  constructor(message: string, errnoName = '', code = 'ERR_WEFT_OS', options?: ErrorOptions) {
    super(message, code, options);
    this.errnoName = errnoName;
    this.errno = errnoName === '' ? 0 : (ERRNO[errnoName] ?? 0);
  }

  /** Python's `strerror`: the message without the errno prefix. */
  get strerror(): string {
    return this.message;
  }
}

/**
 * The longest Unix socket path, in bytes: `sun_path` holds 108 and a path on disk needs one of
 * them for its terminating NUL (Python 3.11 refuses a 108-byte one too); an abstract name (a
 * leading NUL, Linux) has no terminator and may fill all 108. libuv cut a longer one short
 * without a word (a server listened on another path); Python raises
 * `OSError('AF_UNIX path too long')`.
 */
export const UNIX_PATH_MAX = 107;
const UNIX_ABSTRACT_MAX = 108;

/** @throws {OSError} `AF_UNIX path too long` (no errno, as Python's) for a path past the limit. */
export function checkUnixPathLength(what: string, path: string): void {
  const n = Buffer.byteLength(path);
  const max = path.startsWith('\0') ? UNIX_ABSTRACT_MAX : UNIX_PATH_MAX;
  if (n > max) {
    throw new OSError(
      `AF_UNIX path too long: ${what} was given a path of ${n} bytes, the most is ${max}`,
      '',
      'ERR_WEFT_UNIX_PATH_TOO_LONG',
    );
  }
}

/** A non-blocking call would have waited (`EAGAIN`): no data to read, no room to write. */
export class BlockingIOError extends OSError {
  static override readonly kind: string = 'BlockingIOError';
  constructor(
    message = 'Resource temporarily unavailable',
    errnoName = 'EAGAIN',
    options?: ErrorOptions,
  ) {
    super(message, errnoName, 'ERR_WEFT_BLOCKING_IO', options);
  }
}

/** Base of the connection errors (Python's `ConnectionError`). */
export class ConnectionError extends OSError {
  static override readonly kind: string = 'ConnectionError';
}

/** The peer reset the connection (`ECONNRESET`), or the connection was lost mid-operation. */
export class ConnectionResetError extends ConnectionError {
  static override readonly kind: string = 'ConnectionResetError';
  constructor(message = 'Connection reset by peer', options?: ErrorOptions) {
    super(message, 'ECONNRESET', 'ERR_WEFT_CONNECTION_RESET', options);
  }
}

/** Nothing listens at the address (`ECONNREFUSED`). */
export class ConnectionRefusedError extends ConnectionError {
  static override readonly kind: string = 'ConnectionRefusedError';
  constructor(message = 'Connection refused', options?: ErrorOptions) {
    super(message, 'ECONNREFUSED', 'ERR_WEFT_CONNECTION_REFUSED', options);
  }
}

/** The connection was aborted on this side (`ECONNABORTED`). */
export class ConnectionAbortedError extends ConnectionError {
  static override readonly kind: string = 'ConnectionAbortedError';
  constructor(message = 'Connection aborted', options?: ErrorOptions) {
    super(message, 'ECONNABORTED', 'ERR_WEFT_CONNECTION_ABORTED', options);
  }
}

/** Writing to a socket that is closed, or whose peer has gone (`EPIPE`). */
export class BrokenPipeError extends ConnectionError {
  static override readonly kind: string = 'BrokenPipeError';
  constructor(message = 'Broken pipe', options?: ErrorOptions) {
    super(message, 'EPIPE', 'ERR_WEFT_BROKEN_PIPE', options);
  }
}

/**
 * getaddrinfo(3)'s error numbers (glibc's `EAI_*`, negative), which Python's `gaierror` carries
 * as `errno`; Node's `ENOTFOUND` is its name for EAI_NONAME (and EAI_NODATA).
 */
const GAI_ERRNO: Readonly<Record<string, number>> = {
  EAI_BADFLAGS: -1,
  EAI_NONAME: -2,
  ENOTFOUND: -2,
  EAI_AGAIN: -3,
  EAI_FAIL: -4,
  EAI_NODATA: -5,
  EAI_FAMILY: -6,
  EAI_SOCKTYPE: -7,
  EAI_SERVICE: -8,
  EAI_ADDRFAMILY: -9,
  EAI_MEMORY: -10,
  EAI_SYSTEM: -11,
  EAI_OVERFLOW: -12,
};

/**
 * `getaddrinfo` failed (Python's `socket.gaierror`). Its `errno` is getaddrinfo's own, negative
 * number, as Python's (`-9` for EAI_ADDRFAMILY, `-2` for a name not known), not a C errno.
 */
export class GaiError extends OSError {
  static override readonly kind: string = 'gaierror';
  override readonly errno: number;
  constructor(message: string, errnoName = '', code = 'ERR_WEFT_GAI', options?: ErrorOptions) {
    super(message, errnoName, code, options);
    this.errno = GAI_ERRNO[errnoName] ?? 0;
  }
}

for (const cls of [
  OSError,
  BlockingIOError,
  ConnectionError,
  ConnectionResetError,
  ConnectionRefusedError,
  ConnectionAbortedError,
  BrokenPipeError,
  GaiError,
]) {
  registerErrorClass(cls as unknown as ErrorClass);
}

const SYSCALL_CODE = /^(E[A-Z0-9]+|EAI_[A-Z]+)$/;
/** Node's own codes for a write to a stream that is gone: Python says EPIPE. */
const STREAM_GONE = new Set(['ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/**
 * Turns an error of Node's `net`/`fs` into Python's class for it. Errors that are not system
 * errors (no string `code` starting with `E`) are returned unchanged.
 */
export function fromSystemError(err: unknown, what?: string): unknown {
  if (err instanceof OSError) return err;
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !(SYSCALL_CODE.test(code) || STREAM_GONE.has(code))) return err;
  const detail = what ? `${what}: ${err.message}` : err.message;
  const options = { cause: err };
  switch (code) {
    case 'ECONNRESET':
      return new ConnectionResetError(`Connection reset by peer (${detail})`, options);
    case 'EPIPE':
    case 'ERR_STREAM_DESTROYED':
    case 'ERR_STREAM_WRITE_AFTER_END':
      return new BrokenPipeError(`Broken pipe (${detail})`, options);
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(`Connection refused (${detail})`, options);
    case 'ECONNABORTED':
      return new ConnectionAbortedError(`Connection aborted (${detail})`, options);
    case 'EAGAIN':
    case 'EWOULDBLOCK':
      return new BlockingIOError(detail, code, options);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new GaiError(detail, code, 'ERR_WEFT_GAI', options);
    default:
      return new OSError(detail, code, `ERR_WEFT_OS_${code}`, options);
  }
}

/** Python's class for a C errno number (as the sendfile addon reports it). */
export function fromErrno(errno: number, what: string): OSError {
  // Worded as Node words its system errors ("EPIPE: broken pipe, sendfile"), so the class's own
  // text names the call once (it read "Broken pipe (sendfile: EPIPE (sendfile))").
  const [name, text] = getSystemErrorMap().get(-errno) ?? [`errno ${errno}`, 'unknown error'];
  const e = Object.assign(new Error(`${name}: ${text}, ${what}`), {
    code: name,
    errno: -errno,
    syscall: what,
  });
  const mapped = fromSystemError(e);
  return mapped instanceof OSError ? mapped : new OSError(e.message, name);
}
