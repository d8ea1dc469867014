/**
 * Python's `threading.local`: an object whose attributes each thread sees on its own. Every weft
 * thread has its own heap, so attributes set in one thread are already invisible to the others;
 * what `local` adds is what happens when it is passed to another thread: it arrives as that
 * thread's own instance of the same local, empty (as Python's starts empty in a new thread), not
 * as a copy of the sender's attributes — and the same instance every time it arrives there.
 */
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { nextSabId } from '../internal/shm/world.js';

/** This thread's instance of each local, by the id all threads share for it. */
const instances = new Map<number, WeakRef<local>>();
const forget = new FinalizationRegistry<number>((id) => {
  if (instances.get(id)?.deref() === undefined) instances.delete(id);
});

const kId = Symbol('weft.local.id');
/** The id of the local being revived (its constructor takes no argument, as Python's). */
let reviving: number | null = null;

/**
 * Thread-local data: `const data = new local(); data.x = 1;` — each thread that receives `data`
 * gets its own, empty, instance.
 *
 * @example
 * const ctx = new local();
 * ctx.user = 'me';   // this thread only
 */
export class local implements Record<string, any> {
  [key: string]: any;
  declare readonly [kId]: number;

  // `none` is typed empty: an argument fails to compile, and at run time (plain JavaScript) is
  // refused as Python's `threading.local(5)` is. A subclass takes its own arguments, not these.
  constructor(...none: []) {
    if (none.length > 0)
      throw new TypeError(
        `local() takes no arguments: received ${none.length} (set attributes on the instance instead)`,
      );
    const own = reviving ?? nextSabId();
    reviving = null;
    Object.defineProperty(this, kId, { value: own });
    instances.set(own, new WeakRef(this));
    forget.register(this, own);
  }

  /** @internal */
  [kShared](): SharedState {
    return { kind: 'threading.local', state: { id: this[kId] } };
  }
}

registerSharedKind(
  'threading.local',
  (s) => {
    const id = s.id as number;
    const mine = instances.get(id)?.deref();
    if (mine !== undefined) return mine;
    reviving = id;
    return new local();
  },
  import.meta.url,
);
