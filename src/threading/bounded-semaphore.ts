import { registerSharedKind } from '../internal/serialize.js';
import { Semaphore } from './semaphore.js';

/**
 * Python's `threading.BoundedSemaphore`: a Semaphore whose `release` refuses to raise the value
 * above the initial one — a release without a matching acquire is a bug it reports (RangeError,
 * Python's ValueError).
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */ static override readonly bounded: boolean = true;
}

registerSharedKind(
  'threading.BoundedSemaphore',
  (s) => BoundedSemaphore._revive(s.sab as SharedArrayBuffer),
  import.meta.url,
);
