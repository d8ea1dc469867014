import type { Compare } from './heap.js';

/**
 * The items a priority queue orders without a `compare` (pythonCompare): numbers, bigints,
 * booleans and strings, and arrays compared element by element, as Python's tuples. A
 * `[priority, data]` pair counts whatever its data: as in Python, the data is compared only
 * between two items of equal priority (a TypeError then, for data that has no order).
 */
export type Orderable =
  | number
  | bigint
  | boolean
  | string
  | readonly Orderable[]
  | readonly [Orderable, ...unknown[]];

/**
 * A priority queue's options parameter: optional for items of `Orderable` types, and for them
 * only: for any other (`PriorityQueue<{ due: number }>`) it must give `compare`, as an object
 * has no order (it would fail at the first put that compares two). `PriorityQueue<unknown>`
 * (or `any`) says the items are checked at run time, as Python's are: no compare needed. As a
 * rest tuple, so that the class keeps one constructor for `extends`.
 */
export type OrderOptions<T, O> = [unknown] extends [T]
  ? [options?: O]
  : [T] extends [Orderable]
    ? [options?: O]
    : [options: O & { compare: Compare<T> }];
