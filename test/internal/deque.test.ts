import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Deque } from '../../src/internal/deque.js';

/** Blocks hold 1024 items: runs of this many cross several block boundaries at either end. */
const RUN = 1500;

type Op =
  | { op: 'push' | 'unshift'; n: number }
  | { op: 'shift' | 'pop'; n: number }
  | { op: 'peek' | 'clear' | 'iterate' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('push', 'unshift'), n: fc.integer({ min: 1, max: RUN }) }),
  fc.record({ op: fc.constantFrom('shift', 'pop'), n: fc.integer({ min: 1, max: RUN }) }),
  fc.record({ op: fc.constantFrom('peek', 'clear', 'iterate') }),
) as fc.Arbitrary<Op>;

describe('Deque', () => {
  test('behaves as an array used at both ends, across block boundaries (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const d = new Deque<number>();
        const model: number[] = [];
        let next = 0;
        for (const o of ops) {
          switch (o.op) {
            case 'push':
              for (let i = 0; i < o.n; i++) {
                d.push(next);
                model.push(next++);
              }
              break;
            case 'unshift':
              for (let i = 0; i < o.n; i++) {
                d.unshift(next);
                model.unshift(next++);
              }
              break;
            case 'shift':
              for (let i = 0; i < o.n; i++) assert.equal(d.shift(), model.shift());
              break;
            case 'pop':
              for (let i = 0; i < o.n; i++) assert.equal(d.pop(), model.pop());
              break;
            case 'peek':
              assert.equal(d.peek(), model[0]);
              break;
            case 'clear':
              d.clear();
              model.length = 0;
              break;
            case 'iterate':
              assert.deepEqual([...d], model);
              break;
          }
          assert.equal(d.length, model.length);
        }
        assert.deepEqual([...d], model);
      }),
      { numRuns: 150 },
    );
  });

  test('an empty deque gives undefined from every end and stays usable', () => {
    const d = new Deque<string>();
    assert.equal(d.shift(), undefined);
    assert.equal(d.pop(), undefined);
    assert.equal(d.peek(), undefined);
    assert.equal(d.length, 0);
    d.push('a');
    d.unshift('b');
    assert.deepEqual([...d], ['b', 'a']);
  });

  test('keeps no reference to an item it gave out', () => {
    const d = new Deque<object>();
    for (let i = 0; i < 3000; i++) d.push({ i });
    for (let i = 0; i < 2990; i++) d.shift();
    // Reach into the blocks: every slot outside the 10 items left must be empty.
    const slots: unknown[] = [];
    let b = (d as unknown as { head: { slots: unknown[]; next: unknown } | null }).head;
    while (b !== null) {
      slots.push(...b.slots);
      b = b.next as typeof b;
    }
    assert.equal(slots.filter((s) => s !== undefined).length, 10);
  });
});
