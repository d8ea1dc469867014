/**
 * Every Atomics call weft makes goes through this module, so that a test can count or perturb
 * them and so that the one Node quirk that matters — `Atomics.waitAsync` does not keep the event
 * loop alive — is handled in one place.
 *
 * Implementation notes
 * - All operations are sequentially consistent (that is all JavaScript offers). Primitives rely
 *   on it for the Dekker-style handshake "waiter: count++ then re-read; waker: publish then read
 *   count": with seq-cst at least one side sees the other, so a notify is never lost.
 * - `parkAsync` holds a ref'd timer while any async park is pending in this thread (one timer,
 *   reference-counted), because a pending `waitAsync` alone lets Node exit with work outstanding.
 * - An aborted async park cannot be withdrawn from V8's waiter list. It is flushed with a
 *   broadcast notify on the same word, so a later `notify(…, 1)` cannot be swallowed by it; the
 *   other waiters woken by the flush re-check their condition and park again (spurious wake-ups
 *   are allowed everywhere in the engine).
 */

export const load = (a: Int32Array, i: number): number => Atomics.load(a, i);
export const store = (a: Int32Array, i: number, v: number): number => Atomics.store(a, i, v);
export const add = (a: Int32Array, i: number, v: number): number => Atomics.add(a, i, v);
export const sub = (a: Int32Array, i: number, v: number): number => Atomics.sub(a, i, v);
export const exchange = (a: Int32Array, i: number, v: number): number => Atomics.exchange(a, i, v);
export const cas = (a: Int32Array, i: number, expected: number, v: number): number =>
  Atomics.compareExchange(a, i, expected, v);
export const or = (a: Int32Array, i: number, v: number): number => Atomics.or(a, i, v);
export const and = (a: Int32Array, i: number, v: number): number => Atomics.and(a, i, v);
export const notify = (a: Int32Array, i: number, count = Number.POSITIVE_INFINITY): number =>
  Atomics.notify(a, i, count);

/** Integer typed arrays of any width (Value and Array elements). */
export type IntegerArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;
export const loadElement = (a: IntegerArray, i: number): number | bigint =>
  Atomics.load(a as Int32Array, i);
export const storeElement = (a: IntegerArray, i: number, v: number | bigint): void => {
  Atomics.store(a as Int32Array, i, v as number);
};

export type ParkResult = 'ok' | 'not-equal' | 'timed-out';
export type AsyncParkResult = ParkResult | 'aborted';

/**
 * Parks the calling thread while `a[i] === expected`, for at most `timeoutMs` (Infinity: no
 * limit). Spurious returns are possible; callers re-check their condition.
 */
export function parkSync(
  a: Int32Array,
  i: number,
  expected: number,
  timeoutMs: number,
): ParkResult {
  return Atomics.wait(a, i, expected, timeoutMs);
}

/**
 * Watches `a[i]` while it equals `expected`, untimed, without keeping the event loop alive: for
 * a word that only signals "look again" to a thread that also waits for something else (the
 * deadlock walk's re-walk word), never for the wait itself. `'not-equal'` when it moved already.
 */
export function watchAsync(
  a: Int32Array,
  i: number,
  expected: number,
): Promise<ParkResult> | ParkResult {
  const r = Atomics.waitAsync(a, i, expected);
  return r.value;
}

// One ref'd timer keeps the loop alive while async parks are pending (see the notes above).
let pendingParks = 0;
let keepAlive: ReturnType<typeof setInterval> | null = null;
const noop = (): void => {};

function holdLoop(): void {
  if (pendingParks++ === 0) keepAlive = setInterval(noop, 0x7fffffff);
}

function releaseLoop(): void {
  if (--pendingParks === 0 && keepAlive !== null) {
    clearInterval(keepAlive);
    keepAlive = null;
  }
}

/**
 * The async twin of `parkSync`: never blocks the event loop, keeps the process alive while it is
 * pending, and settles with `'aborted'` (leaving nothing registered that could swallow a wake-up)
 * when `signal` aborts.
 */
export function parkAsync(
  a: Int32Array,
  i: number,
  expected: number,
  timeoutMs: number,
  signal: AbortSignal | null,
): Promise<AsyncParkResult> | AsyncParkResult {
  if (signal?.aborted) return 'aborted';
  const r = Atomics.waitAsync(a, i, expected, timeoutMs);
  if (!r.async) return r.value;
  holdLoop();
  if (signal === null) {
    return r.value.then((v) => {
      releaseLoop();
      return v;
    });
  }
  return new Promise<AsyncParkResult>((resolve) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      releaseLoop();
      resolve('aborted');
      // Flush our registration out of V8's waiter list (see the notes above).
      Atomics.notify(a, i);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    r.value.then((v) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      releaseLoop();
      resolve(v);
    });
  });
}
