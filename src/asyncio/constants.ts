/** `wait()` returns when any awaitable finishes or is cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** `wait()` returns when any awaitable finishes by raising (or when all finish). */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** `wait()` returns when all awaitables have finished or been cancelled. */
export const ALL_COMPLETED = 'ALL_COMPLETED';

export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;
