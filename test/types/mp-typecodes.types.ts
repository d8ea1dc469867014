/**
 * weft/multiprocessing's `Value` and `Array` take Python's type codes only: another string fails
 * to compile (`@ts-expect-error`: tsc fails if the line ever compiles), as it raises TypeError
 * when it runs. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as mp from '../../src/multiprocessing/index.js';
import type { Equal, Expect } from './expect.js';

declare const Value: typeof mp.Value;
declare const SharedArrayOf: typeof mp.Array;
declare const manager: mp.SyncManager;
declare const code: mp.TypeCode;

export function typecodes(): void {
  Value('i', 0);
  Value(code, 1);
  SharedArrayOf('d', [1.5]);
  manager.Value('Q', 1);
  manager.Array('b', 3);
  // @ts-expect-error: not a type code
  Value('z', 0);
  // @ts-expect-error
  SharedArrayOf('int', 3);
  // @ts-expect-error
  manager.Value('x', 1);
  // @ts-expect-error
  manager.Array('c', [1]);
}

/** `getObj()` is the typed array of the type code: 64-bit codes give bigints. */
export function arrayViews(): void {
  const d = SharedArrayOf('d', 2).getObj();
  const q = SharedArrayOf('q', 2).getObj();
  const bytes = manager.Array('B', 2).getObj();
  const any = SharedArrayOf(code, 2).getObj();
  const _d: Expect<Equal<typeof d, Float64Array>> = true;
  const _q: Expect<Equal<typeof q, BigInt64Array>> = true;
  const _b: Expect<Equal<typeof bytes, Uint8Array>> = true;
  void [_d, _q, _b, any];
  // @ts-expect-error: a 'q' item is a bigint, not a number
  q[0] = 1;
  // @ts-expect-error: a 'd' item is a number
  d[0] = 1n;
}
