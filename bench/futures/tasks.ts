/** The trivial task every executor runs (Python's `f(x): return x + 1`), marked for weft's workers. */
import { task } from 'weft/futures';

export const inc = task(import.meta, (x: number) => x + 1);

/** The worker's pid, whatever it is given: a warm-up waits until every worker has answered. */
export const pidOf = task(import.meta, (_x: number) => process.pid);
