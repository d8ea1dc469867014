/** The trivial task every executor runs (Python's `f(x): return x + 1`), marked for weft's workers. */
import { task } from 'weft/futures';

export const inc = task(import.meta, (x: number) => x + 1);
