/**
 * The three PriorityQueues' constructors: items with no order of their own (objects) must come
 * with a `compare` (asyncio's, gevent's) or do not compile at all (weft/queue's, which has none
 * since a function cannot reach the other threads). Numbers, strings, bigints and arrays of
 * them, `[priority, data]` pairs whatever the data, and `unknown` (checked when put) need none.
 * Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import { PriorityQueue as AsyncioPriorityQueue } from '../../src/asyncio/priority-queue.js';
import { PriorityQueue as GeventPriorityQueue } from '../../src/gevent/priority-queue.js';
import { PriorityQueue as ThreadPriorityQueue } from '../../src/queue/priority-queue.js';
import type { Equal, Expect } from './expect.js';

interface Job {
  due: number;
}
const byDue = (a: Job, b: Job): number => a.due - b.due;

export function asyncioQueues(): void {
  new AsyncioPriorityQueue();
  new AsyncioPriorityQueue<number>();
  new AsyncioPriorityQueue<string>(10);
  new AsyncioPriorityQueue<bigint>(0, {});
  new AsyncioPriorityQueue<[number, Job]>();
  new AsyncioPriorityQueue<[string, number, Job]>();
  new AsyncioPriorityQueue<number[]>();
  new AsyncioPriorityQueue<unknown>();
  // @ts-expect-error: an object has no order
  new AsyncioPriorityQueue<Job>();
  // @ts-expect-error
  new AsyncioPriorityQueue<Job>(0);
  // @ts-expect-error
  new AsyncioPriorityQueue<Job>(0, {});
  // @ts-expect-error: nor does a pair whose priority is an object
  new AsyncioPriorityQueue<[Job, number]>();
  new AsyncioPriorityQueue<Job>(0, { compare: byDue });
  // The item type from the compare function.
  const q = new AsyncioPriorityQueue(0, { compare: byDue });
  const _q: Expect<Equal<typeof q, AsyncioPriorityQueue<Job>>> = true;
}

export function geventQueues(): void {
  new GeventPriorityQueue();
  new GeventPriorityQueue<number>(null);
  new GeventPriorityQueue<[number, Job]>(0, { items: [[1, { due: 1 }]] });
  new GeventPriorityQueue<unknown>();
  // @ts-expect-error: an object has no order
  new GeventPriorityQueue<Job>();
  // @ts-expect-error
  new GeventPriorityQueue<Job>(null, { items: [{ due: 1 }] });
  new GeventPriorityQueue<Job>(null, { items: [{ due: 1 }], compare: byDue });
  const q = new GeventPriorityQueue(null, { compare: byDue });
  const _q: Expect<Equal<typeof q, GeventPriorityQueue<Job>>> = true;
}

export function threadQueues(): void {
  new ThreadPriorityQueue();
  new ThreadPriorityQueue<number>();
  new ThreadPriorityQueue<[number, string]>(5, { maxbytes: 1 << 20 });
  new ThreadPriorityQueue<number[]>();
  new ThreadPriorityQueue<unknown>();
  // @ts-expect-error: only numbers and arrays with a number first: it has no compare
  new ThreadPriorityQueue<Job>();
  // @ts-expect-error
  new ThreadPriorityQueue<Job>(0, {});
  // @ts-expect-error
  new ThreadPriorityQueue<string>();
}

// A generic subclass compiles, and keeps the check for its own users: without a constructor of
// its own, or with one that hands its arguments on (typed as the base constructor's), or one
// that gives a `compare` itself. One that
// calls `super(maxsize)` alone cannot: TypeScript checks `[]` against the options of a `T` not
// known yet by every branch, the one that needs `compare` among them — the same check that
// refuses `new PriorityQueue<Job>(0)`.
export class MyAsyncioQueue<T> extends AsyncioPriorityQueue<T> {}
export class MyGeventQueue<T> extends GeventPriorityQueue<T> {
  constructor(...args: ConstructorParameters<typeof GeventPriorityQueue<T>>) {
    super(...args);
  }
}
export class MyThreadQueue<T> extends ThreadPriorityQueue<T> {}
/** One that gives the compare itself, for any `T`. */
export class ByKey<T> extends AsyncioPriorityQueue<T> {
  constructor(key: (x: T) => number) {
    super(0, { compare: (a, b) => key(a) - key(b) });
  }
}

export function subclasses(): void {
  new MyAsyncioQueue<number>();
  new MyAsyncioQueue<Job>(0, { compare: byDue });
  // @ts-expect-error: the subclass keeps the check
  new MyAsyncioQueue<Job>();
  new MyGeventQueue<[number, Job]>(null);
  new MyGeventQueue<Job>(null, { compare: byDue });
  // @ts-expect-error
  new MyGeventQueue<Job>(null);
  new ByKey<Job>((j) => j.due);
  new MyThreadQueue<number>();
  // @ts-expect-error
  new MyThreadQueue<Job>();
}
