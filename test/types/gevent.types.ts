/**
 * weft/gevent's signatures: a misuse Python would refuse with a TypeError fails to compile
 * (`@ts-expect-error`: tsc fails if the line ever compiles), and inferred result types are
 * exact. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as gevent from '../../src/gevent/index.js';
import type { Equal, Expect } from './expect.js';

declare const Greenlet: typeof gevent.Greenlet;
declare const spawn: typeof gevent.spawn;
declare const pool: gevent.Pool;
declare const nap: (ms: number) => Promise<string>;
declare const mul: (a: number, b: number) => number;

export function greenlets(): void {
  const g = new Greenlet(nap, 10);
  const _g: Expect<Equal<(typeof g)['value'], string | gevent.GreenletExit | null>> = true;
  const h: gevent.Greenlet<string> = g;
  const s = spawn(nap, 10);
  const _s: Expect<Equal<typeof s, gevent.Greenlet<string>>> = true;
  new Greenlet(() => 1);
  new Greenlet((a: number, b: string) => a + b, 1, 'x');
  // @ts-expect-error: an argument of the wrong type
  new Greenlet(nap, '10');
  // @ts-expect-error: an argument missing
  new Greenlet(nap);
  // @ts-expect-error: an argument too many
  new Greenlet(nap, 10, 20);
  // @ts-expect-error
  spawn(nap, '10');
  void h;
}

export function pool_verbs(): void {
  const a = pool.apply(mul, [6, 7]);
  const _a: Expect<Equal<typeof a, Promise<number>>> = true;
  pool.apply(() => 'x');
  const m = pool.map(async (x: number) => String(x), [1, 2]);
  const _m: Expect<Equal<typeof m, Promise<string[]>>> = true;
  const u = pool.imapUnordered((x: number) => x * 2, [1, 2]);
  const _u: Expect<Equal<typeof u, AsyncGenerator<number>>> = true;
  // @ts-expect-error: no arguments for a function that needs two
  pool.apply(mul);
  // @ts-expect-error
  pool.apply(mul, [6, '7']);
  // @ts-expect-error
  pool.spawn(nap, '10');
  // @ts-expect-error
  pool.map(nap, ['a']);
  // @ts-expect-error
  pool.imapUnordered(nap, ['a']);
  for (const g of pool) {
    // @ts-expect-error: a live greenlet's value is unknown (it was `any`)
    g.value.toFixed();
  }
}
