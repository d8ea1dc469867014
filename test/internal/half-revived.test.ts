/**
 * `decodeOrDiscard` (src/internal/serialize.ts) when a reviver throws halfway through a value:
 * the handles it revived before are closed, the ones it had not reached are discarded, so that a
 * counting kind (a Pipe end: its encode counts a token) ends where it started. A kind that counts
 * stands in for the Pipe end here: `held` is what its encodes counted and nobody gave back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import {
  decodeOrDiscard,
  encode,
  kShared,
  registerSharedKind,
  type SharedState,
  TAG,
} from '../../src/internal/serialize.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const COUNTED = 'test.half-revived.counted';
const FRAGILE = 'test.half-revived.fragile';
// A module every thread preloads anyway: this test file must never be imported by a worker.
const URL_ = new URL('../../src/queue/queue.ts', import.meta.url).href;

let held = 0;
let closeThrows = false;

class Counted {
  [kShared](): SharedState {
    held++;
    return { kind: COUNTED, state: {} };
  }
}

class Revived {
  closed = false;
  close(): void {
    if (this.closed) return;
    this.closed = true;
    held--;
    if (closeThrows) throw new Error('close failed');
  }
}

class Fragile {
  [kShared](): SharedState {
    return { kind: FRAGILE, state: {} };
  }
}

class RevivalError extends Error {
  override name = 'RevivalError';
}

registerSharedKind(
  COUNTED,
  () => new Revived(),
  URL_,
  () => {
    held--;
  },
);
registerSharedKind(
  FRAGILE,
  () => {
    throw new RevivalError('this object cannot be revived here');
  },
  URL_,
);

/** `value` as a queue item carries it: encoded, through v8's bytes, back. */
function carried(value: unknown): unknown {
  return v8.deserialize(v8.serialize(encode(value, 'bytes')));
}

describe('decodeOrDiscard of a value a reviver fails', () => {
  const cases: Array<[string, () => unknown]> = [
    ['revived before, not reached after', () => [new Counted(), new Fragile(), new Counted()]],
    [
      'in a Map, a Set and objects',
      () => ({
        m: new Map<unknown, unknown>([
          [new Counted(), 1],
          [2, new Counted()],
        ]),
        f: new Fragile(),
        s: new Set([new Counted()]),
        o: { deep: [new Counted()] },
      }),
    ],
    [
      'a Map whose revival stops inside it',
      () =>
        new Map<unknown, unknown>([
          [1, new Counted()],
          [2, new Fragile()],
          [3, new Counted()],
        ]),
    ],
    [
      'one object met twice',
      () => {
        const c = new Counted();
        return [c, { again: c }, new Fragile(), c];
      },
    ],
  ];
  for (const [name, make] of cases) {
    test(`${name}: what the encode counted is all given back, and the reviver's error thrown`, () => {
      held = 0;
      const value = carried(make());
      assert.ok(held > 0);
      assert.throws(() => decodeOrDiscard(value), RevivalError);
      assert.equal(held, 0);
    });
  }

  test('a kind whose module is not loaded: the TypeError, and the rest given back', () => {
    held = 0;
    const value = carried([new Counted(), 'x', new Counted()]) as unknown[];
    value.splice(1, 1, { [TAG]: 'test.half-revived.nowhere', s: {} });
    assert.throws(
      () => decodeOrDiscard(value),
      /Cannot revive a shared test\.half-revived\.nowhere/,
    );
    assert.equal(held, 0);
  });

  test('a close that throws does not hide the reviver’s error nor stop the others', () => {
    held = 0;
    closeThrows = true;
    try {
      const value = carried([new Counted(), new Counted(), new Fragile(), new Counted()]);
      assert.throws(() => decodeOrDiscard(value), RevivalError);
      assert.equal(held, 0);
    } finally {
      closeThrows = false;
    }
  });

  test('a value that revives keeps its handles open', () => {
    held = 0;
    const back = decodeOrDiscard(carried([new Counted(), { c: new Counted() }])) as [
      Revived,
      { c: Revived },
    ];
    assert.ok(back[0] instanceof Revived && back[1].c instanceof Revived);
    assert.equal(held, 2);
    back[0].close();
    back[1].c.close();
    assert.equal(held, 0);
  });
});
