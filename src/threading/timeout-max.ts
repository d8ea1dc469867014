/**
 * `threading.TIMEOUT_MAX`: the largest timeout a wait takes. Python's is bounded by its clock's
 * integer type (about 292 years, in seconds); weft's waits take any number of milliseconds, and
 * `Infinity` for ever (a timer past Node's 2^31 − 1 ms limit is re-armed, src/internal/
 * long-timer.ts; `Atomics.wait` takes any), so the largest is `Infinity`: code that passes
 * `TIMEOUT_MAX` to mean "no practical bound" waits for ever, as it meant.
 */
export const TIMEOUT_MAX: number = Number.POSITIVE_INFINITY;
