/**
 * Rounds for multi-thread benchmarks: workers start once and park between rounds, so a round
 * measures the work and not thread start-up.
 *
 * | idx | name | writer | readers | meaning                                   |
 * |  0  | GEN  | main   | workers | bumped to start a round (futex word)       |
 * |  1  | N    | main   | workers | operations per worker in the round         |
 * |  2  | DONE | workers| main    | workers finished with the round            |
 * |  3  | STOP | main   | workers | 1: leave the loop                          |
 */
export const GEN = 0;
export const N = 1;
export const DONE = 2;
export const STOP = 3;

export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(16));
}

/** Worker side: runs `round(n)` for every round until stopped. */
export async function serveRounds(ctl: Int32Array, round: (n: number) => unknown): Promise<void> {
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, GEN, seen);
    seen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, STOP) === 1) return;
    await round(Atomics.load(ctl, N));
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

/** Main side: one round for `workers` workers, blocking until all are done. */
export function runRound(ctl: Int32Array, n: number, workers: number): void {
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, N, n);
  Atomics.add(ctl, GEN, 1);
  Atomics.notify(ctl, GEN);
  for (let d = Atomics.load(ctl, DONE); d < workers; d = Atomics.load(ctl, DONE))
    Atomics.wait(ctl, DONE, d);
}

export function stopRounds(ctl: Int32Array): void {
  Atomics.store(ctl, STOP, 1);
  Atomics.add(ctl, GEN, 1);
  Atomics.notify(ctl, GEN);
}
