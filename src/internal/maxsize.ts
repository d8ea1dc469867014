import { describeValue } from './errors.js';

/**
 * The `maxsize` argument of a queue (asyncio's, queue's, multiprocessing's), checked where each
 * is made so that all three refuse the same values with the same words. Python takes anything
 * (a float, a negative meaning no limit); weft refuses what is not an integer, and a negative
 * one where it would silently mean "no limit" to a reader who meant a bound: only
 * multiprocessing's Queue takes a negative, as Python's does, for no limit.
 *
 * @throws TypeError for a value that is not an integer; RangeError for a negative one, unless
 *   `negative` is 'unbounded'.
 */
export function checkMaxsize(
  owner: string,
  value: unknown,
  negative: 'refuse' | 'unbounded' = 'refuse',
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${owner} maxsize must be an integer: received ${describeValue(value)}`);
  }
  if (value < 0 && negative === 'refuse') {
    throw new RangeError(`${owner} maxsize must be >= 0 (0: unbounded): received ${value}`);
  }
  return value;
}
