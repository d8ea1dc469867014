/**
 * The bare SharedArrayBuffer futex mutex (Drepper's "mutex2"): the physical limit the weft Lock
 * benchmark is compared with. No owner, no deadlock detection, no owner death, no async.
 */
export function futexLock(a: Int32Array, i: number): void {
  let c = Atomics.compareExchange(a, i, 0, 1);
  if (c === 0) return;
  for (let k = 0; k < 100; k++) {
    if (Atomics.load(a, i) === 0 && (c = Atomics.compareExchange(a, i, 0, 1)) === 0) return;
  }
  if (c !== 2) c = Atomics.exchange(a, i, 2);
  while (c !== 0) {
    Atomics.wait(a, i, 2);
    c = Atomics.exchange(a, i, 2);
  }
}

export function futexUnlock(a: Int32Array, i: number): void {
  if (Atomics.sub(a, i, 1) !== 1) {
    Atomics.store(a, i, 0);
    Atomics.notify(a, i, 1);
  }
}
