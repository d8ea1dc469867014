/**
 * weft/queue's signatures: putting an item of the wrong type fails to compile
 * (`@ts-expect-error`: tsc fails if the line ever compiles). Nothing here runs: `tsc --noEmit -p .`
 * (part of `npm test`) checks it.
 */
import type * as queue from '../../src/queue/index.js';
import type { Equal, Expect } from './expect.js';

export async function queues(
  q: queue.Queue<number>,
  l: queue.LifoQueue<number>,
  p: queue.PriorityQueue<[number, string]>,
  s: queue.SimpleQueue<number>,
  j: queue.JoinableQueue<number>,
): Promise<void> {
  await q.put(1);
  q.putSync(2);
  const n = await q.get();
  const _n: Expect<Equal<typeof n, number>> = true;
  const m = j.getSync();
  const _m: Expect<Equal<typeof m, number>> = true;
  // @ts-expect-error: put of the wrong type
  await q.put('1');
  // @ts-expect-error
  q.putSync('1');
  // @ts-expect-error
  q.putNowait('1');
  // @ts-expect-error
  await l.put('1');
  // @ts-expect-error
  await p.put(['1', 'a']);
  // @ts-expect-error
  await s.put('1');
  // @ts-expect-error
  await j.put('1');
}
