/**
 * Whether this thread holds messages for the broker that have not reached it, for the reads of
 * shared memory a program polls in a synchronous loop (a Value's `.value`, an Array's items, a
 * Semaphore's value, a try-acquire that fails, a ShareableList's item, a SharedMemory's `buf`,
 * an Event's `isSet`). Such a loop ends no turn of the event loop, so what this thread queued
 * (puts after the first of the turn, frames the kernel has not taken, everything while the
 * connection is still being made) would wait for the loop to end, while the process it polls for
 * may be waiting for those very messages: a hang Python does not have, as its feeder thread sends
 * meanwhile. The reads call `shipQueued()`, which hands them on (broker-client.ts, `_shipQueued`).
 *
 * Cost: a read with nothing queued tests one number. A read with something queued counts
 * down to its next look at the clock, and what is queued goes once it has waited SHIP_AFTER_MS
 * since the first look. The looks come after 1, 1, 2, 4, … reads, then every POLL_READS: a loop
 * that does much work per read (milliseconds) ships at its second read, not after some 64 reads
 * (review r5: 1.4 s for a poll doing 10 ms of work per read, with a look every 32 reads), and a
 * tight loop pays one clock read per POLL_READS reads. So a poll sends within about
 * SHIP_AFTER_MS, as Python's feeder thread sends meanwhile, and a loop that puts and reads in
 * turn (a producer checking a stop flag) sends its puts in frames of many, not one write (or one
 * shipment) every few reads.
 * It lives on globalThis under a registered symbol, as the broker client does: two copies of weft
 * in one thread (sources under tsx and dist/) share one client, so they share this too.
 */

/** Trade-off: reads between two looks at the clock (its cost vs a poll's latency). */
export const POLL_READS = 32;

/** Trade-off: how long queued messages may wait in a thread that polls (a poll's latency vs the
 * writes, and shipments through the sync client, of a loop that puts and reads in turn). */
const SHIP_AFTER_MS = 1;

interface Unshipped {
  /** 0: nothing queued. Otherwise the reads left before `ship` runs. */
  n: number;
  /** When the count first ran out since the last shipment (performance.now()), or -1. */
  since: number;
  /** Reads until the look after the next one (doubles up to POLL_READS). */
  step: number;
  /** Hands on what is queued and sets `n` again (the broker client installs it). */
  ship: () => void;
}

const KEY = Symbol.for('weft.brokerUnshipped');
const holder = globalThis as unknown as { [KEY]?: Unshipped };
const state: Unshipped = holder[KEY] ?? { n: 0, since: -1, step: 1, ship: () => {} };
// A state made by an older copy of this module, without `step`.
state.step ??= 1;
holder[KEY] = state;

/** @internal The broker client: something was queued (the count starts if it was not running). */
export function markQueued(): void {
  if (state.n === 0) {
    state.n = 1;
    state.step = 1;
  }
}

/** @internal The broker client, after `ship`: nothing is queued now, or `reads` more reads
 * before a retry. */
export function setUnshipped(reads: number): void {
  state.n = reads;
  state.since = -1;
  state.step = 1;
}

/** @internal The broker client installs how to hand on what is queued. */
export function setShip(fn: () => void): void {
  state.ship = fn;
}

/** A read a program may poll: what this thread queued goes once enough such reads found it. */
export function shipQueued(): void {
  if (state.n !== 0 && --state.n === 0) due();
}

/** The count ran out: ship when the messages have waited long enough, else count again. */
function due(): void {
  const now = performance.now();
  if (state.since < 0) state.since = now;
  else if (now - state.since >= SHIP_AFTER_MS) {
    ship();
    return;
  }
  state.n = state.step;
  state.step = Math.min(state.step * 2, POLL_READS);
}

/**
 * Ships; a shipment that throws (the sync client cannot start) does not fail the user's read:
 * what is queued stays queued (the event loop writes it when the read's loop ends), and the
 * polls try again.
 */
function ship(): void {
  try {
    state.ship();
  } catch {
    state.n = POLL_READS;
    state.since = -1;
  }
}

/** Now, whatever the count (a call that stood for a blocking round trip: Event's waitSync). */
export function shipQueuedNow(): void {
  if (state.n !== 0) ship();
}
