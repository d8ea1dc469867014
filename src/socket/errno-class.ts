/**
 * Python's `OSError` subclass for the errnos a socket call on a path meets: Python's OSError
 * picks its subclass by errno (`FileNotFoundError` for ENOENT, `PermissionError` for EACCES and
 * EPERM, `NotADirectoryError` for ENOTDIR), so `open_unix_connection` to a missing path raises
 * `FileNotFoundError`, where `fromSystemError` gives a plain `OSError`. Kept out of
 * `./errors.ts`: these classes are weft/asyncio's (src/asyncio/subprocess-errors.ts), which
 * imports `./errors.ts` itself.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  FileNotFoundError,
  NotADirectoryError,
  PermissionError,
} from '../asyncio/subprocess-errors.js';
import { OSError } from './errors.js';

/**
 * `e` as Python's subclass for its errno, or `e` itself (anything else, a subclass already).
 * `unixPath`: the path a Unix socket was binding, whose ENOENT libuv reports as EACCES (for
 * Windows' sake): an EACCES there whose directory does not exist is taken back to ENOENT.
 */
export function withErrnoClass(e: unknown, unixPath: string | null = null): unknown {
  if (!(e instanceof OSError) || e.constructor !== OSError) return e;
  const options = { cause: (e as Error).cause ?? e };
  if (e.errnoName === 'EACCES' && unixPath !== null && missingDirectory(unixPath)) {
    return new FileNotFoundError(
      `No such file or directory: the directory of ${unixPath} does not exist`,
      options,
    );
  }
  switch (e.errnoName) {
    case 'ENOENT':
      return new FileNotFoundError(`No such file or directory (${e.message})`, options);
    case 'EACCES':
      return new PermissionError(`Permission denied (${e.message})`, options, 'EACCES');
    case 'EPERM':
      return new PermissionError(`Operation not permitted (${e.message})`, options, 'EPERM');
    case 'ENOTDIR':
      return new NotADirectoryError(`Not a directory (${e.message})`, options);
    default:
      return e;
  }
}

function missingDirectory(path: string): boolean {
  if (path.startsWith('\0')) return false; // an abstract name has no file
  try {
    return statSync(dirname(path), { throwIfNoEntry: false }) === undefined;
  } catch {
    return false; // ENOTDIR, EACCES: not a missing directory
  }
}
