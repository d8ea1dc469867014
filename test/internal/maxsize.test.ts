/**
 * The `maxsize` argument of asyncio's, queue's and multiprocessing's queues: one check
 * (src/internal/maxsize.ts), the same words, naming the class it was given to.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as asyncio from '../../src/asyncio/index.js';
import * as mp from '../../src/multiprocessing/index.js';
import * as queue from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const refusals = (make: (maxsize: never) => unknown, negative = true): string[] => {
  const out: string[] = [];
  for (const bad of [...(negative ? [-1] : []), 1.5, '3', null, Number.POSITIVE_INFINITY]) {
    try {
      make(bad as never);
      out.push(`${String(bad)}: accepted`);
    } catch (e) {
      out.push(`${(e as Error).constructor.name}: ${(e as Error).message}`);
    }
  }
  return out;
};

const words = (name: string, negative = true): string[] => [
  ...(negative ? [`RangeError: ${name} maxsize must be >= 0 (0: unbounded): received -1`] : []),
  `TypeError: ${name} maxsize must be an integer: received 1.5`,
  `TypeError: ${name} maxsize must be an integer: received "3"`,
  `TypeError: ${name} maxsize must be an integer: received null`,
  `TypeError: ${name} maxsize must be an integer: received Infinity`,
];

test('asyncio and queue refuse the same values with the same words, naming the subclass', () => {
  // Before: asyncio said "(0 for unbounded)" and "Queue" for every subclass.
  for (const [name, C] of [
    ['Queue', asyncio.Queue],
    ['PriorityQueue', asyncio.PriorityQueue],
    ['LifoQueue', asyncio.LifoQueue],
  ] as const)
    assert.deepEqual(
      refusals((m) => new C(m)),
      words(name),
      `asyncio.${name}`,
    );
  for (const [name, C] of [
    ['Queue', queue.Queue],
    ['PriorityQueue', queue.PriorityQueue],
    ['LifoQueue', queue.LifoQueue],
  ] as const)
    assert.deepEqual(
      refusals((m) => new C(m)),
      words(name),
      `queue.${name}`,
    );
});

test('multiprocessing refuses the same values with the same words (a negative is no limit there, as Python’s)', () => {
  // Not -1 here: a queue made starts the broker.
  const bad = refusals((m) => new mp.JoinableQueue(m), false);
  assert.deepEqual(bad, words('JoinableQueue', false));
});
