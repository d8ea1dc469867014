/** Python's `array`/`ctypes` type codes and the typed arrays that hold them in shared memory. */
import { describeValue } from '../internal/errors.js';

export type TypeCode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

/** The 64-bit integer codes, whose elements are bigints (see CODES). */
type BigCode = 'l' | 'L' | 'q' | 'Q';

/** What an element of type code `C` is in JavaScript: a bigint for the 64-bit integer codes. */
export type ElementOf<C extends TypeCode> = C extends BigCode ? bigint : number;

/** The type codes whose elements are `T` (never for a `T` that is neither number nor bigint). */
export type CodeOf<T> = [T] extends [bigint]
  ? BigCode
  : [T] extends [number]
    ? Exclude<TypeCode, BigCode>
    : never;
export type Typed =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type Ctor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): Typed;
  BYTES_PER_ELEMENT: number;
};

const CODES: Record<TypeCode, Ctor> = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  // C long is 64-bit on the platforms Node runs on (LP64); 64-bit codes hold bigints.
  l: BigInt64Array,
  L: BigUint64Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
};

export function ctorOf(what: string, code: unknown): Ctor {
  if (typeof code !== 'string' || !(code in CODES)) {
    throw new TypeError(
      `${what}: type must be one of ${Object.keys(CODES).join(' ')} (Python's type codes): received ${describeValue(code)}`,
    );
  }
  return CODES[code as TypeCode];
}

export function isBig(code: TypeCode): boolean {
  return code === 'l' || code === 'L' || code === 'q' || code === 'Q';
}

/** Integer codes whose elements Atomics can load and store (all but the floats). */
export function isAtomic(code: TypeCode): boolean {
  return code !== 'f' && code !== 'd';
}
