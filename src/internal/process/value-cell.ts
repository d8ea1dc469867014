/**
 * A multiprocessing `Value`'s number in the lock slab (lock-slab.ts): a `Value` takes one slot of
 * the slab (16 bytes, 8-aligned) and keeps its number there in its type code's own width, so that
 * `.value`, `get`, `set` and `add` are a load, a store or an atomic read-modify-write in the
 * calling thread, as Python's `Value` is a ctypes object in shared memory.
 *
 *   | bytes of the slot | field                                                                  |
 *   | ----------------- | ---------------------------------------------------------------------- |
 *   | 0 … width − 1     | the number: int8/16/32 for b B h H i I, int64 for l L q Q, float32 f, float64 d |
 *   | the rest          | unused (zero)                                                          |
 *
 * Who writes: the creating thread writes the initial number before the Value's handle exists
 * anywhere else; after that any thread of the tree, and the broker (for a thread without the
 * slab), with one atomic operation each. Integers wrap to their width as C's do (the coercer of
 * typecodes.ts says the same); a float's add is a compare-and-swap loop on its bits. 64-bit codes
 * are exact to 2^53, as the broker's numbers were.
 */
import { coercer } from './typecodes.js';

type IntView = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export class ValueCell {
  readonly #kind: 'int' | 'big' | 'f32' | 'f64';
  readonly #int: IntView | null = null;
  readonly #big: BigInt64Array | BigUint64Array | null = null;
  /** The float's bits, for its compare-and-swap. */
  readonly #bits32: Int32Array | null = null;
  readonly #bits64: BigInt64Array | null = null;
  readonly #coerce: (v: number) => number;
  readonly #signed: boolean;

  /** The cell of `typecode` at byte `offset` of `buffer` (the slab). */
  constructor(buffer: ArrayBufferLike, offset: number, typecode: string) {
    this.#coerce = coercer(typecode);
    this.#signed = typecode === 'l' || typecode === 'q';
    switch (typecode) {
      case 'b':
        this.#int = new Int8Array(buffer, offset, 1);
        break;
      case 'B':
        this.#int = new Uint8Array(buffer, offset, 1);
        break;
      case 'h':
        this.#int = new Int16Array(buffer, offset, 1);
        break;
      case 'H':
        this.#int = new Uint16Array(buffer, offset, 1);
        break;
      case 'i':
        this.#int = new Int32Array(buffer, offset, 1);
        break;
      case 'I':
        this.#int = new Uint32Array(buffer, offset, 1);
        break;
      case 'l':
      case 'q':
        this.#big = new BigInt64Array(buffer, offset, 1);
        break;
      case 'L':
      case 'Q':
        this.#big = new BigUint64Array(buffer, offset, 1);
        break;
      case 'f':
        this.#bits32 = new Int32Array(buffer, offset, 1);
        break;
      default:
        this.#bits64 = new BigInt64Array(buffer, offset, 1);
    }
    this.#kind =
      this.#int !== null
        ? 'int'
        : this.#big !== null
          ? 'big'
          : this.#bits32 !== null
            ? 'f32'
            : 'f64';
  }

  get(): number {
    switch (this.#kind) {
      case 'int':
        return Atomics.load(this.#int as IntView, 0);
      case 'big':
        return Number(Atomics.load(this.#big as BigInt64Array, 0));
      // Floats through their bits: one atomic access, never torn.
      case 'f32':
        return bitsToFloat(Atomics.load(this.#bits32 as Int32Array, 0));
      default:
        return bitsToDouble(Atomics.load(this.#bits64 as BigInt64Array, 0));
    }
  }

  /** Stores `v` (a number of the right kind: the caller checked it), wrapped to the type code. */
  set(v: number): void {
    switch (this.#kind) {
      case 'int':
        Atomics.store(this.#int as IntView, 0, v);
        return;
      case 'big':
        Atomics.store(this.#big as BigInt64Array, 0, this.#bigOf(v));
        return;
      case 'f32':
        Atomics.store(this.#bits32 as Int32Array, 0, floatBits(Math.fround(v)));
        return;
      default:
        Atomics.store(this.#bits64 as BigInt64Array, 0, doubleBits(v));
    }
  }

  /** Adds `n` atomically; returns the new number, wrapped as `set` stores it. */
  add(n: number): number {
    switch (this.#kind) {
      case 'int': {
        // The view adds `n` wrapped to its width: so is the answer (n past 2^53 included).
        const old = Atomics.add(this.#int as IntView, 0, n);
        return this.#coerce(old + this.#coerce(n));
      }
      case 'big': {
        const old = Atomics.add(this.#big as BigInt64Array, 0, this.#bigOf(n));
        return Number(BigInt[this.#signed ? 'asIntN' : 'asUintN'](64, old + this.#bigOf(n)));
      }
      case 'f32': {
        const bits = this.#bits32 as Int32Array;
        for (;;) {
          const old = Atomics.load(bits, 0);
          const next = Math.fround(bitsToFloat(old) + n);
          if (Atomics.compareExchange(bits, 0, old, floatBits(next)) === old) return next;
        }
      }
      default: {
        const bits = this.#bits64 as BigInt64Array;
        for (;;) {
          const old = Atomics.load(bits, 0);
          const next = bitsToDouble(old) + n;
          if (Atomics.compareExchange(bits, 0, old, doubleBits(next)) === old) return next;
        }
      }
    }
  }

  #bigOf(v: number): bigint {
    return BigInt[this.#signed ? 'asIntN' : 'asUintN'](64, BigInt(v));
  }
}

// Two views of one scratch word, in the machine's own byte order as the cell's views are.
const scratch = new ArrayBuffer(8);
const f64 = new Float64Array(scratch);
const i64 = new BigInt64Array(scratch);
const f32 = new Float32Array(scratch, 0, 1);
const i32 = new Int32Array(scratch, 0, 1);

function doubleBits(v: number): bigint {
  f64[0] = v;
  return i64[0] as bigint;
}

function bitsToDouble(bits: bigint): number {
  i64[0] = bits;
  return f64[0] as number;
}

function floatBits(v: number): number {
  f32[0] = v;
  return i32[0] as number;
}

function bitsToFloat(bits: number): number {
  i32[0] = bits;
  return f32[0] as number;
}
