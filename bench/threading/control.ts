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

/**
 * A round still unfinished after this long is a hang (a lost wake-up, a stuck worker), not a
 * figure: the bench reports it and goes on instead of waiting for ever (it hung once so, on the
 * lost wake-up fixed in d894c19).
 */
export const ROUND_DEADLINE_MS = 60_000;

/** Main side: one round for `workers` workers, blocking until all are done. */
export function runRound(
  ctl: Int32Array,
  n: number,
  workers: number,
  deadlineMs: number = ROUND_DEADLINE_MS,
): void {
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, N, n);
  Atomics.add(ctl, GEN, 1);
  Atomics.notify(ctl, GEN);
  const deadline = performance.now() + deadlineMs;
  for (let d = Atomics.load(ctl, DONE); d < workers; d = Atomics.load(ctl, DONE)) {
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new Error(
        `a round of ${n} operations per worker did not finish within ${deadlineMs / 1000} s (${d} of ${workers} workers done): a lost wake-up or a stuck worker`,
      );
    }
    Atomics.wait(ctl, DONE, d, left);
  }
}

export function stopRounds(ctl: Int32Array): void {
  Atomics.store(ctl, STOP, 1);
  Atomics.add(ctl, GEN, 1);
  Atomics.notify(ctl, GEN);
}
