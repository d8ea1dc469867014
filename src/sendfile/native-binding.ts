/**
 * Loads the sendfile addon (native/sendfile.c) if it was built at install time. Nothing here
 * throws: a missing addon means weft/sendfile uses its copy loop.
 */
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';

/** A transfer in progress in the addon (an opaque handle). */
export type SendfileTransfer = { readonly __brand: 'weft:sendfile' };

export interface SendfileBinding {
  /**
   * Starts sending `count` bytes of `fileFd` from `offset` (both descriptors are duplicated at
   * once); `cb` runs exactly once, when the transfer ended: `errno` 0, ECANCELED after
   * `sendfileCancel`, or the failing call's errno; `eof` when the file ended before `count`.
   */
  sendfileStart(
    sockFd: number,
    fileFd: number,
    offset: number,
    count: number,
    cb: (errno: number, sent: number, eof: boolean) => void,
  ): SendfileTransfer;
  /** Stops a transfer soon (between two sendfile calls or out of a wait); no-op once ended. */
  sendfileCancel(transfer: SendfileTransfer): void;
  /**
   * Milliseconds the transfer's socket has had no room: 0 when it has room now (or the
   * transfer ended), else the time since the last `sendfile(2)` call that sent something.
   */
  sendfileIdle(transfer: SendfileTransfer): number;
}

const debug = debuglog('weft');

function load(): SendfileBinding | null {
  if (process.env.WEFT_NO_NATIVE === '1') {
    debug('sendfile: WEFT_NO_NATIVE=1, using the copy loop');
    return null;
  }
  if (process.platform !== 'linux') return null;
  const require = createRequire(import.meta.url);
  // src/sendfile/ and dist/sendfile/ are both two levels below the package root.
  for (const rel of ['../../native/build/Release/weft_sendfile.node']) {
    try {
      const b = require(rel) as Partial<SendfileBinding>;
      // An addon built from an older native/sendfile.c: rebuild with `node native/build.mjs`.
      if (
        typeof b.sendfileStart !== 'function' ||
        typeof b.sendfileCancel !== 'function' ||
        typeof b.sendfileIdle !== 'function'
      ) {
        debug('sendfile: the addon at %s is out of date, using the copy loop', rel);
        return null;
      }
      return b as SendfileBinding;
    } catch (e) {
      debug('sendfile: addon not loaded from %s: %s', rel, (e as Error).message);
    }
  }
  return null;
}

export const binding: SendfileBinding | null = load();
