/**
 * Python's `multiprocessing.shared_memory.ShareableList`: a list of fixed length whose items
 * (numbers, booleans, strings, bytes, null) live in a `SharedMemory` block, read and written in
 * place by any process that attaches to it by name, with no broker, no copy of the list and no
 * lock.
 *
 * The block is laid out as Python 3.11's, byte for byte, so a Python process attaches to a weft
 * list by its name and the reverse (test/multiprocessing/shareable-list.test.ts runs both ways).
 * Numbers are in the machine's byte order, as Python's `struct` packs them with no prefix:
 *
 * | offset                        | bytes      | writer  | readers | meaning                                                      |
 * | 0                             | 8          | creator | any     | N, the number of items (int64)                               |
 * | 8                             | 8 (N + 1)  | creator | any     | OFFSETS: item i's slot is DATA + OFFSETS[i] up to DATA + OFFSETS[i + 1] (int64 each; OFFSETS[0] is 0) |
 * | DATA = 8 (N + 2)              | OFFSETS[N] | any     | any     | the slots: 8 bytes for a number, boolean or null; 8 (⌊len / 8⌋ + 1) for a string or bytes of len bytes |
 * | FORMATS = DATA + OFFSETS[N]   | 8 N        | any     | any     | item i's struct format, ASCII padded with NULs: 'q' int64, 'd' float64, 'xxxxxxx?' boolean (its last byte), 'xxxxxx?x' null (all zero), '<slot>s' string or bytes |
 * | CODES = FORMATS + 8 N         | N          | any     | any     | item i's kind: 0 a number or boolean (its format says which), 1 a string (UTF-8), 2 bytes, 3 null |
 *
 * Invariants: N and OFFSETS are written once, by the creator, before the block's name is handed
 * to anyone, and never change (the list's length and its slots are fixed); so they are read once
 * per handle. An item's kind may change within its slot (a number into a string's slot, a string
 * of up to 8 bytes into a number's), as Python's may: `set` writes the format, then the code,
 * then the value, in Python's order. Nothing orders a `get` against a `set` of the same item in
 * another process or thread: a reader may see the new format with the old bytes or code (a
 * string's format with a number's code reads as the slot's raw bytes, as Python's does), or half
 * of a string, as Python's may. There is no lock, as in Python: hold a `Lock` around what must not
 * interleave. A string or bytes value is its slot's bytes up to the last non-NUL byte, as
 * Python's (3.11) reads it: trailing NULs are lost.
 */
import { endianness } from 'node:os';
import { inspect } from 'node:util';
import { describeValue, RuntimeError } from '../internal/errors.js';
import { shipQueued } from '../internal/process/unshipped.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { IndexError, valueError } from './errors.js';
import { SharedMemory } from './shared-memory.js';

/** What a ShareableList holds: Python's int (`number` or `bigint`), float, bool, str, bytes, None. */
export type ShareableItem = number | bigint | boolean | string | Uint8Array | null;

export interface ShareableListOptions {
  /**
   * With a sequence (or none at all): the name of the block to make (a fresh one when left
   * out). With `null` for the sequence: the name of the list to attach to.
   */
  name?: string | null;
}

/** The byte order of the numbers: the machine's, as Python's `struct` with no prefix. */
const LE = endianness() === 'LE';
/** A slot's size is a multiple of this; so is every slot's start. */
const ALIGN = 8;
/** The largest slot whose format ('9999992s') fits in its 8 bytes. */
const MAX_SLOT = 9_999_992;
const TWO_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** CODES (table above). */
const CODE_PLAIN = 0;
const CODE_STR = 1;
const CODE_BYTES = 2;
const CODE_NULL = 3;

/** The first byte of the formats a CODE_PLAIN item may have. */
const F_INT = 0x71; // 'q'
const F_FLOAT = 0x64; // 'd'
const F_BOOL = 0x78; // 'x', of 'xxxxxxx?'

/** What a value is stored as (its format and code follow from it). */
type Kind = 'int' | 'bigint' | 'float' | 'bool' | 'null' | 'str' | 'bytes';

/**
 * How `v` is stored. A number that is a safe integer is Python's int ('q'); any other number
 * (fractions, NaN, ±Infinity, -0, integers past 2^53) is a float ('d'), as JavaScript has one
 * number type for both. @throws TypeError for a value of another type (Python's KeyError).
 * @throws RangeError for a bigint outside int64 (Python's struct.error).
 */
function kindOf(v: unknown, what: string): Kind {
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? 'int' : 'float';
    case 'bigint':
      if (v < INT64_MIN || v > INT64_MAX)
        throw Object.assign(
          new RangeError(
            `${what}: an int must fit in 64 bits (-2**63 to 2**63 - 1): received ${v}n`,
          ),
          { code: 'ERR_WEFT_OUT_OF_RANGE' },
        );
      return 'bigint';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'str';
    default:
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return 'bytes';
      throw new TypeError(
        `${what}: an item must be a number, bigint, boolean, string, Uint8Array or null: received ${describeValue(v)}`,
      );
  }
}

/** The bytes of a string or bytes value. */
function byteLength(v: string | Uint8Array): number {
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

/**
 * The slot of a new string or bytes item of `n` bytes: the next multiple of 8 above `n`, as
 * Python's (which counts a string's characters, not its bytes: a string of 7 two-byte
 * characters got 8 bytes and was cut to 4 characters; weft counts bytes, so it fits).
 */
function slotFor(n: number): number {
  const slot = ALIGN * (Math.floor(n / ALIGN) + 1);
  if (slot > MAX_SLOT)
    throw valueError(
      `ShareableList: a string or bytes item is at most ${MAX_SLOT - 1} bytes (its slot's format must fit in 8 bytes): received one of ${n}`,
      'ERR_WEFT_ITEM_TOO_LONG',
    );
  return slot;
}

/**
 * A format's 8 bytes (ASCII, NUL-padded) as two little-endian words: a format is bytes, not a
 * number, so its words are little-endian whatever the machine's order.
 */
function formatWords(format: string): [number, number] {
  const w = [0, 0];
  for (let j = 0; j < format.length; j++)
    w[j >> 2] = (w[j >> 2] as number) | (format.charCodeAt(j) << (8 * (j & 3)));
  return [(w[0] as number) >>> 0, (w[1] as number) >>> 0];
}
const W_INT = formatWords('q');
const W_FLOAT = formatWords('d');
const W_BOOL = formatWords('xxxxxxx?');
const W_NULL = formatWords('xxxxxx?x');

/** The format words of a string or bytes slot of `slot` bytes ('<slot>s'), made once a size. */
const slotWords = new Map<number, [number, number]>();
function stringWords(slot: number): [number, number] {
  let w = slotWords.get(slot);
  if (w === undefined) slotWords.set(slot, (w = formatWords(`${slot}s`)));
  return w;
}

/**
 * ASCII strings and NUL runs up to this long are read, written and cleared by a loop here
 * rather than by Buffer's UTF-8 codec and fill, a call into C++ each: setting a 3-character
 * string took some 565 ns and getting it 136 ns with them, 40 and 25 ns with the loops (a run by
 * hand on this 2-core machine).
 */
const SHORT = 32;

/**
 * How long `get` reads an item seen with no known format again (a Python `set` under way, its
 * writer maybe descheduled) before it gives up: SPINS reads, then up to PATIENCE_MS.
 */
const SPINS = 1000;
const PATIENCE_MS = 1000;

/** Whether `s` is at most SHORT characters, all ASCII (then its UTF-8 bytes are its characters). */
function isShortAscii(s: string): boolean {
  if (s.length > SHORT) return false;
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) >= 0x80) return false;
  return true;
}

/** The string of the UTF-8 bytes from `start` to `end`. */
function readString(bytes: Buffer, start: number, end: number): string {
  if (end - start <= SHORT) {
    let s = '';
    for (let j = start; j < end; j++) {
      const c = bytes[j] as number;
      if (c >= 0x80) return bytes.toString('utf8', start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return bytes.toString('utf8', start, end);
}

/**
 * Python's `==` between two items, which `count` and `index` use: numbers, bigints and booleans
 * compare by value (`true` equals 1, `2n` equals 2, as Python's `True == 1`), strings by their
 * characters, bytes by their bytes; null equals only null.
 */
function pyEquals(a: unknown, b: unknown): boolean {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
    const [n, big] = (typeof a === 'number' ? [a, b] : [b, a]) as [unknown, bigint];
    return typeof n === 'number' && Number.isInteger(n) && BigInt(n) === big;
  }
  if (a instanceof Uint8Array)
    return b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
  return a === b;
}

/**
 * `T`: what the items are, for the types' sake (`new ShareableList([1, 2])` is a
 * `ShareableList<number>`); what is stored is checked when it is stored, whatever `T` says, and
 * an attached list's items are whatever its makers stored.
 */
export class ShareableList<T = ShareableItem> implements Iterable<T> {
  /** The block that holds the list (Python's `shm`): `sl.shm.close()`, `sl.shm.unlink()`. */
  readonly shm: SharedMemory;
  /** N. */
  readonly #n: number;
  /** Where each item's slot starts in the block, and where the last ends (N + 1 numbers). */
  readonly #slots: number[];
  /** FORMATS and CODES (table above). */
  readonly #formats: number;
  readonly #codes: number;
  readonly #view: DataView;
  readonly #bytes: Buffer;

  /**
   * `new ShareableList(sequence, { name })` makes a list of the items of `sequence` (any
   * iterable; none: an empty list) in a new block, named `name` or a fresh name;
   * `new ShareableList(null, { name })` attaches to the list another process made, as Python's
   * `ShareableList(name=…)`. A string or bytes item's slot holds its bytes rounded up to the next
   * multiple of 8 (at least one more byte): a longer value never fits there later.
   * @throws TypeError for an item of another type, a sequence that is not iterable or bad options.
   * @throws RangeError (Python's ValueError) for a bigint outside int64, a string or bytes item
   *   of 9,999,992 bytes or more, or a block that does not hold a ShareableList.
   * @throws FileExistsError / FileNotFoundError as `SharedMemory` does: a `name` to make that
   *   exists, or one to attach to that does not.
   * @example
   * const sl = new ShareableList(['howdy', 2, 3.5, true, null]);
   * const there = new ShareableList(null, { name: sl.shm.name });   // another process, say
   * there.set(0, 'hi');
   * sl.get(0);                                                       // 'hi'
   * sl.shm.close(); sl.shm.unlink();
   */
  constructor(sequence?: Iterable<T & ShareableItem> | null, options: ShareableListOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(
        `ShareableList options must be an object: received ${describeValue(options)}`,
      );
    const name = options.name ?? null;
    if (name !== null && typeof name !== 'string')
      throw new TypeError(`ShareableList name must be a string: received ${describeValue(name)}`);
    // Python's rule: a sequence, or no name, makes a list; null with a name attaches.
    if (name === null || (sequence !== null && sequence !== undefined)) {
      if (
        sequence !== null &&
        sequence !== undefined &&
        typeof (sequence as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function'
      )
        throw new TypeError(
          `ShareableList expects an iterable of items: received ${describeValue(sequence)}`,
        );
      const items: unknown[] = sequence === null || sequence === undefined ? [] : [...sequence];
      const n = items.length;
      // Every item is checked before the block is made: a bad one leaves nothing behind.
      const kinds = items.map((v) => kindOf(v, 'ShareableList'));
      const offsets = [0];
      for (let i = 0; i < n; i++) {
        const k = kinds[i];
        const slot = k === 'str' || k === 'bytes' ? slotFor(byteLength(items[i] as string)) : ALIGN;
        offsets.push((offsets[i] as number) + slot);
      }
      const data = offsets[n] as number;
      this.shm = new SharedMemory({ name, create: true, size: 8 * (n + 2) + data + 9 * n });
      ({ view: this.#view, bytes: this.#bytes } = views(this.shm));
      this.#view.setBigInt64(0, BigInt(n), LE);
      for (let i = 0; i <= n; i++)
        this.#view.setBigInt64(8 * (i + 1), BigInt(offsets[i] as number), LE);
      this.#n = n;
      this.#slots = offsets.map((o) => 8 * (n + 2) + o);
      this.#formats = 8 * (n + 2) + data;
      this.#codes = this.#formats + 8 * n;
      for (let i = 0; i < n; i++) this.#store(i, items[i] as ShareableItem, kinds[i] as Kind);
    } else {
      this.shm = new SharedMemory({ name });
      ({ view: this.#view, bytes: this.#bytes } = views(this.shm));
      const size = this.shm.size;
      const notAList = (why: string) =>
        valueError(
          `ShareableList: the block named '${name}' does not hold a ShareableList (${why})`,
          'ERR_WEFT_NOT_A_LIST',
        );
      if (size < 16) throw notAList(`${size} bytes`);
      const n = this.#view.getBigInt64(0, LE);
      if (n < 0n || 8n * (n + 2n) + 9n * n > BigInt(size)) throw notAList(`${n} items`);
      const count = Number(n);
      const dataStart = 8 * (count + 2);
      const slots: number[] = [];
      let last = 0;
      for (let i = 0; i <= count; i++) {
        const o = this.#view.getBigInt64(8 * (i + 1), LE);
        if (o < BigInt(last) || BigInt(dataStart) + o + 9n * n > BigInt(size))
          throw notAList(`offset ${i} is ${o}`);
        last = Number(o);
        slots.push(dataStart + last);
      }
      this.#n = count;
      this.#slots = slots;
      this.#formats = dataStart + last;
      this.#codes = this.#formats + 8 * count;
    }
  }

  /** The number of items (Python's `len(sl)`): fixed when the list was made. */
  get length(): number {
    return this.#n;
  }

  /**
   * Item `i` (Python's `sl[i]`; a negative `i` counts from the end). An int reads as a `number`
   * when it is a safe integer, else as a `bigint`; bytes read as a new `Buffer` (a copy); a
   * string or bytes value loses trailing NULs (see the layout).
   * A loop polling it still sends what this thread queued for the broker, about a millisecond in.
   * @throws IndexError (a RangeError) when `i` is out of range. @throws TypeError when `i` is not
   *   an integer. @throws RuntimeError once `shm.close()` was called.
   */
  get(i: number): T {
    const k = this.#at(i, 'index');
    shipQueued();
    const p = this.#slots[k] as number;
    const bytes = this.#bytes;
    let since = -1;
    for (let tries = 0; ; tries++) {
      switch (bytes[this.#codes + k]) {
        case CODE_PLAIN: {
          const f = bytes[this.#formats + 8 * k];
          if (f === F_FLOAT) return this.#view.getFloat64(p, LE) as T;
          if (f === F_INT) {
            const v =
              this.#view.getInt32(p + (LE ? 4 : 0), LE) * TWO_32 +
              this.#view.getUint32(p + (LE ? 0 : 4), LE);
            // Exact while safe; past 2^53 the sum rounds, but never back into the safe range.
            return (Number.isSafeInteger(v) ? v : this.#view.getBigInt64(p, LE)) as T;
          }
          // 'xxxxxxx?' (a boolean) reads byte 7; 'xxxxxx?x' (null's, with code 0 only while a
          // `set` of null is under way) byte 6, as Python's struct reads it.
          if (f === F_BOOL)
            return (bytes[p + (bytes[this.#formats + 8 * k + 6] === F_BOOL ? 7 : 6)] !== 0) as T;
          // A string or bytes format with code 0: a `set` of a string into a number's slot is
          // under way in another thread or process (it writes the format, then the code), or its
          // writer died between the two. Python's code 0 gives what struct unpacked, the slot's
          // bytes as they are (NULs and all): so does this, where throwing would turn a race
          // Python's readers survive into an error.
          // ('<slot>s' starts with a digit; the format is not read again, as it may change meanwhile.)
          if (f !== undefined && f >= 0x30 && f <= 0x39)
            return Buffer.from(bytes.subarray(p, this.#slots[k + 1] as number)) as unknown as T;
          break;
        }
        case CODE_STR:
          return readString(bytes, p, this.#end(k)) as T;
        case CODE_BYTES:
          return Buffer.from(bytes.subarray(p, this.#end(k))) as unknown as T;
        case CODE_NULL:
          return null as T;
      }
      // Python's struct zeroes a format's (or a code's) bytes before it copies the new ones in:
      // a reader in between sees no format at all, which Python's own readers fail on. Read
      // again, for a bounded time (a writer that died there, or a block no ShareableList wrote,
      // leaves it so for good).
      if (tries >= SPINS) {
        const now = performance.now();
        if (since < 0) since = now;
        else if (now - since > PATIENCE_MS) break;
      }
    }
    throw new RuntimeError(
      `ShareableList '${this.shm.name}': item ${k} has format ${JSON.stringify(this.#formatOf(k))} and code ${bytes[this.#codes + k]}, which no ShareableList writes`,
      'ERR_WEFT_NOT_A_LIST',
    );
  }

  /**
   * Sets item `i` (Python's `sl[i] = v`). The item may change type, within its slot: a string or
   * bytes value must fit in the slot's bytes (8 for an item made as a number, boolean or null).
   * A failed `set` leaves the item as it was.
   * @throws IndexError (a RangeError) when `i` is out of range. @throws TypeError when `i` is not
   *   an integer or `v` not an item. @throws RangeError (Python's ValueError) for a string or
   *   bytes value longer than the slot (`ERR_WEFT_ITEM_TOO_LONG`), a bigint outside int64
   *   (`ERR_WEFT_OUT_OF_RANGE`). @throws RuntimeError once `shm.close()` was called.
   */
  set(i: number, v: T): void {
    const k = this.#at(i, 'assignment index');
    this.#store(k, v as ShareableItem, kindOf(v, 'ShareableList.set'));
  }

  /** The number of items equal to `v` (Python's `==`: `true` equals 1, `2n` equals 2). */
  count(v: ShareableItem): number {
    let n = 0;
    for (const item of this) if (pyEquals(v, item)) n++;
    return n;
  }

  /**
   * The index of the first item equal to `v` (Python's `==`, as `count`).
   * @throws RangeError (Python's ValueError, `ERR_WEFT_NOT_IN_LIST`) when no item is.
   */
  index(v: ShareableItem): number {
    let i = 0;
    for (const item of this) {
      if (pyEquals(v, item)) return i;
      i++;
    }
    throw valueError(
      `ShareableList.index: ${describeValue(v)} is not in this list`,
      'ERR_WEFT_NOT_IN_LIST',
    );
  }

  /** The struct formats of the items, joined (Python's `format`): `'q8sd'` for `[1, 'a', 0.5]`. */
  get format(): string {
    let s = '';
    for (let k = 0; k < this.#n; k++) s += this.#formatOf(k);
    return s;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#n; i++) yield this.get(i);
  }

  toString(): string {
    return `ShareableList(${inspect([...this], { breakLength: Number.POSITIVE_INFINITY })}, name='${this.shm.name}')`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Crosses to a thread or a process as its name: attached there (Python pickles it so). */
  [kShared](): SharedState {
    return { kind: 'mp:ShareableList', state: { name: this.shm.name } };
  }

  /**
   * The item `i` names, counting a negative one from the end, checking the block is not closed.
   * @throws TypeError, IndexError, RuntimeError (see `get`).
   */
  #at(i: number, what: string): number {
    if (!Number.isInteger(i))
      throw new TypeError(`ShareableList indices must be integers: received ${describeValue(i)}`);
    const k = i < 0 ? i + this.#n : i;
    if (k < 0 || k >= this.#n)
      throw new IndexError(`ShareableList ${what} out of range: received ${i} (length ${this.#n})`);
    // Throws once the block is closed (Python's buf is then None).
    void this.shm.buf;
    return k;
  }

  /** The end of item `k`'s string or bytes: its slot's end, less the trailing NULs. */
  #end(k: number): number {
    const start = this.#slots[k] as number;
    let end = this.#slots[k + 1] as number;
    while (end > start && this.#bytes[end - 1] === 0) end--;
    return end;
  }

  #formatOf(k: number): string {
    const at = this.#formats + 8 * k;
    let end = at + 8;
    while (end > at && this.#bytes[end - 1] === 0) end--;
    return this.#bytes.toString('latin1', at, end);
  }

  /** Writes `v` of kind `kind` as item `k`: its format, its code, then its bytes (Python's order). */
  #store(k: number, v: ShareableItem, kind: Kind | 'ascii'): void {
    const p = this.#slots[k] as number;
    const slot = (this.#slots[k + 1] as number) - p;
    const view = this.#view;
    const bytes = this.#bytes;
    let words: [number, number];
    let code = CODE_PLAIN;
    let n = 0;
    if (kind === 'str' || kind === 'bytes') {
      // A short ASCII string's bytes are its characters (most strings: no UTF-8 encoder call).
      n = kind === 'str' && isShortAscii(v as string) ? (v as string).length : -1;
      if (n < 0) n = byteLength(v as string | Uint8Array);
      else kind = 'ascii';
      if (n > slot)
        throw valueError(
          `ShareableList: a ${kind === 'bytes' ? 'bytes value' : 'string'} of ${n} bytes exceeds its slot of ${slot} (a slot's size is fixed when the list is made)`,
          'ERR_WEFT_ITEM_TOO_LONG',
        );
      words = stringWords(slot);
      code = kind === 'bytes' ? CODE_BYTES : CODE_STR;
    } else if (kind === 'float') words = W_FLOAT;
    else if (kind === 'bool') words = W_BOOL;
    else if (kind === 'null') {
      words = W_NULL;
      code = CODE_NULL;
    } else words = W_INT;
    const f = this.#formats + 8 * k;
    view.setUint32(f, words[0], true);
    view.setUint32(f + 4, words[1], true);
    bytes[this.#codes + k] = code;
    switch (kind) {
      case 'int': {
        const x = v as number;
        const hi = Math.floor(x / TWO_32);
        view.setInt32(p + (LE ? 4 : 0), hi, LE);
        view.setUint32(p + (LE ? 0 : 4), x - hi * TWO_32, LE);
        return;
      }
      case 'bigint':
        view.setBigInt64(p, v as bigint, LE);
        return;
      case 'float':
        view.setFloat64(p, v as number, LE);
        return;
      case 'bool':
        view.setUint32(p, 0, true);
        view.setUint32(p + 4, v ? 1 << 24 : 0, true);
        return;
      case 'null':
        view.setUint32(p, 0, true);
        view.setUint32(p + 4, 0, true);
        return;
      case 'ascii': {
        const str = v as string;
        for (let j = 0; j < n; j++) bytes[p + j] = str.charCodeAt(j);
        break;
      }
      case 'str':
        bytes.write(v as string, p, n, 'utf8');
        break;
      case 'bytes':
        bytes.set(v as Uint8Array, p);
        break;
    }
    // Python's '<slot>s' pads with NULs: the rest of a longer value written before goes.
    if (slot - n <= SHORT) for (let j = p + n; j < p + slot; j++) bytes[j] = 0;
    else bytes.fill(0, p + n, p + slot);
  }
}

/** A DataView and a Buffer over the whole block. */
function views(shm: SharedMemory): { view: DataView; bytes: Buffer } {
  const buf = shm.buf;
  return {
    view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
    bytes: Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength),
  };
}

registerSharedKind(
  'mp:ShareableList',
  (s) => new ShareableList(null, { name: s.name as string }),
  import.meta.url,
);
