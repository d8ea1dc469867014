/**
 * weft/gevent's queue and lock signatures: the iteration sentinel's typing and the item types.
 * Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as gevent from '../../src/gevent/index.js';
import type { Equal, Expect } from './expect.js';

declare const jobs: gevent.JoinableQueue<number | typeof gevent.StopIteration>;
declare const ch: gevent.Channel<string>;
declare const sem: gevent.Semaphore;
declare const lock: gevent.RLock;
declare const StopIteration: typeof gevent.StopIteration;

export async function queues(): Promise<void> {
  for await (const n of jobs) {
    // The loop ends at the sentinel: its variable is the item type alone.
    const _n: Expect<Equal<typeof n, number>> = true;
  }
  await jobs.put(StopIteration);
  const got = await jobs.get();
  const _g: Expect<Equal<typeof got, number | typeof gevent.StopIteration>> = true;
  // @ts-expect-error: not an item of this queue
  await jobs.put('a');
  const j = await jobs.join({ timeout: 10 });
  const _j: Expect<Equal<typeof j, boolean>> = true;
  const m = jobs.maxsize;
  const _m: Expect<Equal<typeof m, number | null>> = true;
  const c = jobs.copy();
  const _c: Expect<Equal<typeof c, typeof jobs>> = true;
  // A Channel's Nowait calls let the loop turn: they return promises.
  const p = ch.putNowait('x');
  const _p: Expect<Equal<typeof p, Promise<void>>> = true;
  // @ts-expect-error: a Channel of strings
  await ch.put(1);
}

export async function locks(): Promise<void> {
  const a = sem.acquire({ blocking: false });
  const _a: Expect<Equal<typeof a, Promise<boolean>>> = true;
  const r = sem.release();
  const _r: Expect<Equal<typeof r, number>> = true;
  const w = await sem.wait({ timeout: 5 });
  const _w: Expect<Equal<typeof w, number>> = true;
  {
    using _ = await lock.hold();
  }
  const v = await lock.run(() => 'x');
  const _v: Expect<Equal<typeof v, string>> = true;
}
