/**
 * `new Promise(capture)`, then read `captured`: a promise and its resolving functions without a
 * closure per promise. Every executor call overwrites `captured`, so the creator reads it at
 * once, before anything else can make a promise. Used where one promise is made per wait or per
 * awaited future (waiters, yields, weft/futures), 100,000s of times in a run.
 */

/** Where `capture` leaves a new promise's resolving functions (read at once by the creator). */
export const captured: { resolve: (value: any) => void; reject: (error: unknown) => void } = {
  resolve: () => {},
  reject: () => {},
};

/** A promise executor shared by every creator: `new Promise(capture)`, then read `captured`. */
export function capture(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}
