/**
 * weft/threading's signatures: a misuse Python would refuse with a TypeError fails to compile
 * (`@ts-expect-error`: tsc fails if the line ever compiles), and inferred result types are
 * exact. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as threading from '../../src/threading/index.js';
import type { Equal, Expect } from './expect.js';

declare const Timer: typeof threading.Timer;
declare const Value: typeof threading.Value;
declare const SharedArrayOf: typeof threading.Array;
declare const code: threading.TypeCode;
declare const remind: (what: string) => void;
declare const report: (id: number, kw: { verbose: boolean }) => void;

export function timer(): void {
  new Timer(1000, remind, ['stand up']);
  new Timer(1000, () => {});
  new Timer(1000, report, [1], { verbose: true });
  new Timer(1000, (n, kw) => n.toFixed() + kw.tag, [1], { tag: 'x' });
  new Timer(1000, remind, ['stand up'], null);
  // @ts-expect-error: an argument of the wrong type
  new Timer(1000, remind, [1]);
  // @ts-expect-error: arguments missing
  new Timer(1000, remind);
  // @ts-expect-error: kwargs of the wrong shape
  new Timer(1000, report, [1], { verbose: 'yes' });
  // @ts-expect-error: the trailing kwargs object missing
  new Timer(1000, report, [1]);
}

export function value_and_array(): void {
  const i = Value('i', 0);
  const _i: Expect<Equal<typeof i, threading.SharedValue<number>>> = true;
  const q = Value('q', 0n);
  const _q: Expect<Equal<typeof q, threading.SharedValue<bigint>>> = true;
  const q0 = Value('Q');
  const _q0: Expect<Equal<typeof q0, threading.SharedValue<bigint>>> = true;
  const big = Value<bigint>('q', 2n ** 40n);
  const _big: Expect<Equal<typeof big, threading.SharedValue<bigint>>> = true;
  const any = Value(code);
  const _any: Expect<Equal<typeof any, threading.SharedValue<number | bigint>>> = true;
  const d = SharedArrayOf('d', [1.5, 2.5]);
  const _d: Expect<Equal<typeof d, threading.SharedArray<number>>> = true;
  const l = SharedArrayOf('l', 3);
  const _l: Expect<Equal<typeof l, threading.SharedArray<bigint>>> = true;
  // @ts-expect-error: a 64-bit code holds bigints
  Value('q', 0);
  // @ts-expect-error: a 32-bit code holds numbers
  Value('i', 0n);
  // @ts-expect-error: not a type code
  Value('x', 0);
  // @ts-expect-error: the element type does not match the code
  Value<number>('q', 1);
  // @ts-expect-error
  SharedArrayOf('Q', [1, 2]);
  // @ts-expect-error
  q.value = 1;
}
