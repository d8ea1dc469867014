/**
 * Python's `OSError` subclasses that `createSubprocessExec`/`createSubprocessShell` and
 * `Process.sendSignal` raise, on weft's `OSError` (src/socket/errors.ts): `errno` is the positive
 * C errno, `errnoName` its symbol, `code` Node's code for it (`'ENOENT'`, as Node's own spawn
 * error and weft/multiprocessing's `FileNotFoundError` carry), `filename` Python's `e.filename`.
 *
 * `instanceof` answers from the class's name (src/internal/errors.ts), so a `FileNotFoundError`
 * from here is also an `instanceof` weft/multiprocessing's `FileNotFoundError`, as Python has one
 * builtin class for both (and `KeyError` one of weft/multiprocessing's `KeyError`).
 */
import { getSystemErrorMap } from 'node:util';
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';
import { OSError } from '../socket/errors.js';

export { OSError } from '../socket/errors.js';

/** What the constructors take beyond the message. */
export interface OSErrorOptions extends ErrorOptions {
  /** The path the failed call was about (Python's `filename`), or null. */
  filename?: string | null;
}

/** The program, or the `cwd`, does not exist (`ENOENT`). */
export class FileNotFoundError extends OSError {
  static override readonly kind: string = 'FileNotFoundError';
  readonly filename: string | null;
  constructor(message = 'No such file or directory', options: OSErrorOptions = {}) {
    super(message, 'ENOENT', 'ENOENT', options);
    this.filename = options.filename ?? null;
  }
}

/** The program is not executable (a directory, a file without `x`), or `cwd` is not enterable
 * (`EACCES`, `EPERM`). */
export class PermissionError extends OSError {
  static override readonly kind: string = 'PermissionError';
  readonly filename: string | null;
  constructor(message = 'Permission denied', options: OSErrorOptions = {}, errnoName = 'EACCES') {
    super(message, errnoName, errnoName, options);
    this.filename = options.filename ?? null;
  }
}

/** `cwd` (or a directory of the program's path) is not a directory (`ENOTDIR`). */
export class NotADirectoryError extends OSError {
  static override readonly kind: string = 'NotADirectoryError';
  readonly filename: string | null;
  constructor(message = 'Not a directory', options: OSErrorOptions = {}) {
    super(message, 'ENOTDIR', 'ENOTDIR', options);
    this.filename = options.filename ?? null;
  }
}

/**
 * A signal for a process that is gone (`ESRCH`): `sendSignal`, `terminate` or `kill` after the
 * child has exited and its pipes have closed, as Python 3.11's `asyncio` raises.
 */
export class ProcessLookupError extends OSError {
  static override readonly kind: string = 'ProcessLookupError';
  constructor(message = 'No such process', options?: ErrorOptions) {
    super(message, 'ESRCH', 'ESRCH', options);
  }
}

// By their class chain (src/internal/error-registry.ts): the name FileNotFoundError stays
// multiprocessing's (a SharedMemory's), which its broker raises by.
for (const cls of [FileNotFoundError, PermissionError, NotADirectoryError, ProcessLookupError])
  registerErrorClass(cls as ErrorClass);

/**
 * Python's `KeyError` from `pwd.getpwnam`/`grp.getgrnam`: the `user`, `group` or an
 * `extraGroups` name of a subprocess is not known to the system.
 */
export class KeyError extends WeftError {
  static override readonly kind: string = 'KeyError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_KEY', options);
  }
}

// Its name and chain are multiprocessing's KeyError's too (src/internal/error-registry.ts).
registerErrorClass(KeyError as ErrorClass, { home: 'asyncio' });

/** Python's words for the errnos a spawn reports (`strerror`). */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  ESRCH: 'No such process',
  EBADF: 'Bad file descriptor',
};

/**
 * Python's class for a failed spawn (Node's error `err`, with `code` `'ENOENT'`, …), about
 * `filename`: "No such file or directory: 'prog'", as Python's message after its `[Errno 2]`;
 * null for a step of the child's set-up that is about no path (a descriptor, setpgid, setuid):
 * "Bad file descriptor". An error that is not a system error comes back unchanged.
 */
export function spawnError(err: unknown, filename: string | null): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return err;
  const text =
    STRERROR[code] ??
    getSystemErrorMap().get((err as NodeJS.ErrnoException).errno ?? 0)?.[1] ??
    code;
  const message = filename === null ? text : `${text}: '${filename}'`;
  const options = { cause: err, filename };
  switch (code) {
    case 'ENOENT':
      return new FileNotFoundError(message, options);
    case 'EACCES':
    case 'EPERM':
      return new PermissionError(message, options, code);
    case 'ENOTDIR':
      return new NotADirectoryError(message, options);
    case 'ESRCH':
      return new ProcessLookupError(filename === null ? text : `${text}: ${filename}`, {
        cause: err,
      });
    default:
      return Object.assign(new OSError(message, code, code, { cause: err }), { filename });
  }
}
