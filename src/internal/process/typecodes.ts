/**
 * ctypes-style type codes (Python's array module letters) of multiprocessing's Value and Array,
 * and how a number is stored under each: integers wrap as C's do (Python's ctypes stores
 * `c_byte(128)` as -128), floats round to their width. Shared by the classes (which coerce what
 * is set) and the broker (which coerces the result of an atomic add, where the value lives).
 *
 * The values are JavaScript numbers: 64-bit codes (`q`, `Q`, and `l`, `L`, C's long on 64-bit
 * Linux) wrap modulo 2^64 exactly, and are exact up to 2^53 as numbers (`Value('Q', -1)` holds
 * 18446744073709551615, read back as the nearest double, 18446744073709552000).
 */
import { describeValue } from '../errors.js';

const wrap64 =
  (signed: boolean) =>
  (v: number): number =>
    Number(signed ? BigInt.asIntN(64, BigInt(v)) : BigInt.asUintN(64, BigInt(v)));

const INTEGER: Record<string, (v: number) => number> = {
  b: (v) => (v << 24) >> 24,
  B: (v) => v & 0xff,
  h: (v) => (v << 16) >> 16,
  H: (v) => v & 0xffff,
  i: (v) => v | 0,
  I: (v) => v >>> 0,
  l: wrap64(true),
  L: wrap64(false),
  q: wrap64(true),
  Q: wrap64(false),
};
const FLOAT: Record<string, (v: number) => number> = {
  f: (v) => Math.fround(v),
  d: (v) => v,
};

/** The type codes, in the order the error messages list them. */
export const TYPECODES: readonly string[] = [...Object.keys(INTEGER), ...Object.keys(FLOAT)];

/**
 * The function storing a number under `type`.
 * @throws TypeError for an unknown code; the function throws TypeError for a value an integer
 *   code cannot hold (a fraction, NaN, ±Infinity: Python raises TypeError for a float there).
 */
export function coercer(type: string): (v: number) => number {
  const f = FLOAT[type];
  if (f !== undefined) return f;
  const i = INTEGER[type];
  if (i === undefined)
    throw new TypeError(
      `Unknown type code ${describeValue(type)}: use one of ${TYPECODES.join(' ')}`,
    );
  return (v) => {
    if (!Number.isInteger(v))
      throw new TypeError(`Type code '${type}' holds integers: received ${describeValue(v)}`);
    return i(v);
  };
}
