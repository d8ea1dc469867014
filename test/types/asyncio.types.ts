/**
 * weft/asyncio's signatures: a misuse Python would refuse with a TypeError fails to compile
 * (`@ts-expect-error`: tsc fails if the line ever compiles), and inferred result types are
 * exact. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as asyncio from '../../src/asyncio/index.js';
import type { Equal, Expect } from './expect.js';

declare const loop: asyncio.EventLoop;
declare const toThread: typeof asyncio.toThread;
declare const gather: typeof asyncio.gather;
declare const mul: (a: number, b: number) => number;
declare const tick: (label: string) => void;
declare const one: Promise<number>;
declare const two: asyncio.Task<string>;

export function loop_calls(): void {
  const r = loop.runInExecutor(null, mul, 6, 7);
  const _r: Expect<Equal<typeof r, asyncio.Future<number>>> = true;
  const t = toThread(mul, 6, 7);
  const _t: Expect<Equal<typeof t, asyncio.Future<number>>> = true;
  loop.callSoon(tick, 'a');
  loop.callLater(10, tick, 'b');
  loop.callAt(loop.time() + 10, tick, 'c');
  // @ts-expect-error
  loop.runInExecutor(null, mul, 6, '7');
  // @ts-expect-error
  toThread(mul, 6);
  // @ts-expect-error
  loop.callSoon(tick, 1);
  // @ts-expect-error
  loop.callLater(10, tick);
  // @ts-expect-error
  loop.callAt(0, tick, 'c', 'd');
}

export function gathers(): void {
  const g = gather(one, two);
  const _g: Expect<Equal<typeof g, asyncio.GatheringFuture<[number, string]>>> = true;
  const f = gather(one, two, { returnExceptions: false });
  const _f: Expect<Equal<typeof f, asyncio.GatheringFuture<[number, string]>>> = true;
  // With returnExceptions a result may be what was thrown instead: unknown, one per awaitable.
  const e = gather(one, two, { returnExceptions: true });
  const _e: Expect<Equal<typeof e, asyncio.GatheringFuture<[unknown, unknown]>>> = true;
}

export async function queues(q: asyncio.Queue<number>, p: asyncio.PriorityQueue<[number, string]>) {
  await q.put(1);
  const n = await q.get();
  const _n: Expect<Equal<typeof n, number>> = true;
  // @ts-expect-error: put of the wrong type
  await q.put('1');
  // @ts-expect-error
  q.putNowait('1');
  await p.put([1, 'a']);
  // @ts-expect-error
  await p.put(['1', 'a']);
}
