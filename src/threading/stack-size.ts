/**
 * `threading.stack_size([size])`: the stack of the threads started from now on.
 *
 * A weft thread is a Node worker, whose stack Node sizes from `resourceLimits.stackSizeMb`; the
 * setting is a word of the world buffer (../internal/shm/world.ts), so, as in Python, it is one
 * for the whole process: a thread that sets it changes it for every thread's later starts.
 * `spawnWorker` reads it at each start, for Thread, Timer and the thread pools' workers alike
 * (an executor's own `resourceLimits.stackSizeMb` wins).
 *
 * The bounds are Node's, not Python's 32 KiB: a worker runs Node's and weft's start-up code on
 * that stack before any of the program's: a weft thread with 256 KiB ends at its start (the
 * start-up's own "Maximum call stack size exceeded"; 320 KiB was the least that started, with
 * the TypeScript loader, on Node 20), so 512 KiB leaves room. A worker with an 8 GiB stack never
 * starts and never fails (measured: it hangs); 1 GiB is well past any recursion a program needs
 * and keeps the setting in one 32-bit word.
 */
import { describeValue } from '../internal/errors.js';
import { exchangeThreadStackSize, threadStackSize } from '../internal/shm/world.js';

/** The smallest stack a weft thread starts with (Node's and weft's start-up run on it). */
export const MIN_STACK_SIZE = 512 * 1024;
/** The largest one weft accepts. */
export const MAX_STACK_SIZE = 1024 * 1024 * 1024;

/**
 * The stack size in bytes of the threads started from now on (0: Node's default, 4 MiB); with
 * `size`, sets it and returns the previous one. `size` is 0 (back to the default) or a whole
 * number of bytes from `MIN_STACK_SIZE` (512 KiB) to `MAX_STACK_SIZE` (1 GiB). Threads already
 * running keep theirs.
 *
 * @throws TypeError when `size` is not an integer; RangeError (Python's ValueError) when it is
 *   negative or out of those bounds.
 */
export function stackSize(size?: number): number {
  if (size === undefined) return threadStackSize();
  if (typeof size !== 'number' || !Number.isInteger(size)) {
    throw new TypeError(
      `stackSize: size must be an integer number of bytes: received ${describeValue(size)}`,
    );
  }
  if (size < 0) {
    throw new RangeError(
      `stackSize: size must be 0 (Node's default) or a positive number of bytes: received ${size}`,
    );
  }
  if (size !== 0 && (size < MIN_STACK_SIZE || size > MAX_STACK_SIZE)) {
    throw new RangeError(
      `stackSize: size not valid: ${size} bytes (a weft thread's stack is 0 for Node's default, or from ${MIN_STACK_SIZE} bytes — Node's and weft's start-up code runs on it — to ${MAX_STACK_SIZE})`,
    );
  }
  return exchangeThreadStackSize(size);
}
