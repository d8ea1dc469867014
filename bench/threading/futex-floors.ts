/**
 * Bare SharedArrayBuffer futex versions of the primitives threading/primitives.bench.ts measures:
 * the floors under weft's rows. Each does the least the scenario needs and nothing else — no
 * timeout, no signal, no owner death, no deadlock detection, no Python semantics (an Event's
 * pulse, a Condition's lock) — but waits as weft does: a short spin, then a park counted in a
 * word, so that the other side calls `Atomics.notify` only when someone sleeps.
 *
 * Turn word (ping-pong), 2 words:
 * | idx | name   | writer              | readers | meaning                                     |
 * |  0  | TURN   | the side whose turn  | both    | whose turn it is (0 or 1; the futex word)  |
 * |  1  | PARKED | waiters (add/sub)    | hander  | sides parked on TURN or about to park       |
 *
 * Barrier, 3 words:
 * | idx | name   | writer               | readers  | meaning                                   |
 * |  0  | COUNT  | arrivals (add), last | arrivals | parties arrived in this generation        |
 * |  1  | GEN    | the last arrival     | waiters  | generations passed (the futex word)       |
 * |  2  | PARKED | waiters (add/sub)    | last     | parties parked on GEN or about to park    |
 *
 * Recursive lock, 3 words: OWNER (0 free, else the owner's id: the futex word), DEPTH (written by
 * the owner only), PARKED (as above).
 * Counting semaphore, 2 words: VALUE (permits left: the futex word), PARKED (as above).
 */

/** The same spin as weft's wait engine (src/internal/shm/wait.ts) before a park. */
const SPIN = 100;

const TURN = 0;
const PARKED = 1;

export function newTurnWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Waits until it is `me`'s turn, then gives the turn to `other`. */
export function takeTurn(a: Int32Array, me: number, other: number): void {
  if (Atomics.load(a, TURN) !== me) {
    for (let k = 0; k < SPIN && Atomics.load(a, TURN) !== me; k++);
    if (Atomics.load(a, TURN) !== me) {
      // Counted before the re-read: a hand-over after it sees the count and notifies.
      Atomics.add(a, PARKED, 1);
      for (let v = Atomics.load(a, TURN); v !== me; v = Atomics.load(a, TURN)) {
        Atomics.wait(a, TURN, v);
      }
      Atomics.sub(a, PARKED, 1);
    }
  }
  Atomics.store(a, TURN, other);
  if (Atomics.load(a, PARKED) > 0) Atomics.notify(a, TURN);
}

/** `takeTurn` whose park is `Atomics.waitAsync`: the thread's event loop keeps running. */
export async function takeTurnAsync(a: Int32Array, me: number, other: number): Promise<void> {
  if (Atomics.load(a, TURN) !== me) {
    for (let k = 0; k < SPIN && Atomics.load(a, TURN) !== me; k++);
    if (Atomics.load(a, TURN) !== me) {
      Atomics.add(a, PARKED, 1);
      for (let v = Atomics.load(a, TURN); v !== me; v = Atomics.load(a, TURN)) {
        const r = Atomics.waitAsync(a, TURN, v);
        if (r.async) await r.value;
      }
      Atomics.sub(a, PARKED, 1);
    }
  }
  Atomics.store(a, TURN, other);
  if (Atomics.load(a, PARKED) > 0) Atomics.notify(a, TURN);
}

const COUNT = 0;
const GEN = 1;
const B_PARKED = 2;

export function newBarrierWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(12));
}

/** Waits until `parties` parties have arrived; returns this one's arrival index. */
export function barrierWait(a: Int32Array, parties: number): number {
  const gen = Atomics.load(a, GEN);
  const index = Atomics.add(a, COUNT, 1);
  if (index === parties - 1) {
    // Reset before the bump: a party that sees the new generation may arrive again at once.
    Atomics.store(a, COUNT, 0);
    Atomics.add(a, GEN, 1);
    if (Atomics.load(a, B_PARKED) > 0) Atomics.notify(a, GEN);
    return index;
  }
  for (let k = 0; k < SPIN && Atomics.load(a, GEN) === gen; k++);
  if (Atomics.load(a, GEN) === gen) {
    Atomics.add(a, B_PARKED, 1);
    while (Atomics.load(a, GEN) === gen) Atomics.wait(a, GEN, gen);
    Atomics.sub(a, B_PARKED, 1);
  }
  return index;
}

const OWNER = 0;
const DEPTH = 1;
const L_PARKED = 2;

export function newRecursiveLock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(12));
}

/** Takes the lock for `me` (a non-zero id), re-entering if `me` holds it. */
export function recursiveLock(a: Int32Array, me: number): void {
  if (Atomics.load(a, OWNER) === me) {
    a[DEPTH]!++;
    return;
  }
  for (;;) {
    const c = Atomics.compareExchange(a, OWNER, 0, me);
    if (c === 0) break;
    Atomics.add(a, L_PARKED, 1);
    Atomics.wait(a, OWNER, c);
    Atomics.sub(a, L_PARKED, 1);
  }
  a[DEPTH] = 1;
}

export function recursiveUnlock(a: Int32Array): void {
  if (--a[DEPTH]! > 0) return;
  Atomics.store(a, OWNER, 0);
  if (Atomics.load(a, L_PARKED) > 0) Atomics.notify(a, OWNER, 1);
}

const VALUE = 0;
const S_PARKED = 1;

export function newCountingSemaphore(permits: number): Int32Array {
  const a = new Int32Array(new SharedArrayBuffer(8));
  a[VALUE] = permits;
  return a;
}

export function semaphoreAcquire(a: Int32Array): void {
  for (;;) {
    const v = Atomics.load(a, VALUE);
    if (v > 0) {
      if (Atomics.compareExchange(a, VALUE, v, v - 1) === v) return;
      continue;
    }
    Atomics.add(a, S_PARKED, 1);
    Atomics.wait(a, VALUE, 0);
    Atomics.sub(a, S_PARKED, 1);
  }
}

export function semaphoreRelease(a: Int32Array): void {
  Atomics.add(a, VALUE, 1);
  if (Atomics.load(a, S_PARKED) > 0) Atomics.notify(a, VALUE, 1);
}
