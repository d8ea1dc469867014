/**
 * weft/multiprocessing's `Value` and `Array` take Python's type codes only: another string fails
 * to compile (`@ts-expect-error`: tsc fails if the line ever compiles), as it raises TypeError
 * when it runs. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as mp from '../../src/multiprocessing/index.js';

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
