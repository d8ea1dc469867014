/**
 * Which way this thread reaches the shared numbers of multiprocessing's `Value`s (value-cell.ts)
 * and `Array`s (array-store.ts), and the flags of its `Event`s (broker-event.ts): through the
 * broker, or in shared memory. One route for these kinds and every object, so that the thread's operations stay in program order across all of
 * them: a store in shared memory must not overtake an operation still on its way to the broker.
 *
 * A thread goes through the broker until the broker has the slab (lock-slab.ts `readySlab`) and
 * has done every Value, Array or Event operation this thread sent it; then it uses shared memory for
 * good. Every call acts at once — a store or a request sent before the call returns — so none
 * overtakes an earlier one. The move waits for the broker's answer to a ping sent after the last
 * operation sent to it: a blocking one for a synchronous call (once), an async one otherwise,
 * meanwhile the async calls still go to the broker.
 */
import { broker } from './broker-client.js';
import { brokerSync } from './broker-sync.js';
import { fastSlab, readySlab, slabSession } from './lock-slab.js';

let inSlab = false;
/** Operations this thread sent to the broker, and how many the last ping came after. */
let sent = 0;
let pingedAfter = -1;
let pinging = false;

/** Whether this thread uses shared memory for Values and Arrays now (`sync`: it may block to). */
export function useSlab(sync: boolean): boolean {
  if (inSlab) return true;
  if (readySlab() === null) return false;
  if (sent === 0 || pingedAfter === sent) {
    inSlab = true;
    return true;
  }
  if (sync) {
    // Answered after everything this thread sent before it.
    brokerSync().request('ping', undefined, []);
    inSlab = true;
    return true;
  }
  if (!pinging) {
    pinging = true;
    const after = sent;
    void broker()
      .request('ping', undefined, [])
      .then(
        () => {
          pinging = false;
          pingedAfter = after;
        },
        () => {
          pinging = false;
        },
      );
  }
  return false;
}

/** Whether this thread is in shared memory already (no call, no ping). */
export function inSharedMemory(): boolean {
  return inSlab;
}

/** An operation on an object that has shared memory is about to go to the broker. */
export function sentToBroker(): void {
  sent++;
}

/**
 * The session number an Array's guard is taken under (array-store.ts: a write, or a read that
 * kept meeting writes): the broker must know it, so that it can free the guard if this thread
 * ends holding it. A thread whose hello is not with the broker yet (a child's first write,
 * before its connection is up) makes it so with a blocking ping, once.
 */
export function guardSession(): number {
  if (fastSlab() === null) brokerSync().request('ping', undefined, []);
  return slabSession();
}

/** This thread tried to make its session known before a wake-up in the slab (`knownBeforeWake`). */
let pingedBeforeWake = false;

/**
 * Called by a thread that found WAITERS in a word of the slab and is about to change that word
 * for the waiters parked at the broker (a Semaphore's release, an Event's set), then tell the
 * broker. If it dies between the two, the broker serves those waiters when it sees its session
 * end (broker.ts onSessionEnd): it must know that session first. A thread whose hello is not
 * with the broker yet (that word would be its first) makes it so here with a blocking ping,
 * once. Returns true when it pinged: the word may have changed meanwhile, so the caller reads it
 * again. A ping that fails (the broker unreachable) does not stop the caller: its write in the
 * slab goes ahead, as it would for a thread the broker knows. It fails only once the sync client
 * has given up connecting, after CONNECT_RETRY_MS (60 s): a release or set of a process whose
 * tree's broker is gone waits that long, once.
 */
export function knownBeforeWake(): boolean {
  if (pingedBeforeWake || fastSlab() !== null) return false;
  pingedBeforeWake = true;
  try {
    brokerSync().request('ping', undefined, []);
  } catch {}
  return true;
}
