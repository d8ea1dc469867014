/**
 * A broker queue's store (src/internal/process/broker-store.ts): a front on the heap, then a
 * log of records outside it. What the two parts could break: the order of items across them,
 * items handed back to the front while the log holds newer ones, each form's value (one-byte
 * strings, other strings with lone surrogates, numbers, -0 and NaN, anything set aside), chunk
 * boundaries and records larger than a chunk, and reading the log without taking it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ItemStore } from '../../../src/internal/process/broker-store.js';

/** Item `i` of a stream of every form. */
function item(i: number): unknown {
  switch (i % 9) {
    case 0:
      return `\u00ff\u0080${String.fromCharCode(i & 0xff).repeat(i % 50)}`;
    case 1:
      return `plain ${i} \ud800 ${'é'.repeat(i % 7)}`;
    case 2:
      return i;
    case 3:
      return i % 2 ? -0 : Number.NaN;
    case 4:
      return [`\u00ff\u0010${i}`, [`tok${i}`]];
    case 5:
      return Buffer.alloc(3, i & 0xff);
    case 6:
      return i % 2 ? null : true;
    case 7:
      return '';
    default:
      return `\u00ff\u0081${'z'.repeat(300 + (i % 400))}`;
  }
}

describe('broker item store', () => {
  test('items keep their order and value across the heap front and the log', () => {
    // A tiny front and chunks, so that most items go to the log and records straddle chunks.
    const s = new ItemStore(200, 256);
    const n = 2000;
    for (let i = 0; i < n; i++) s.push(item(i));
    assert.equal(s.length, n);
    assert.deepEqual(
      [...s],
      Array.from({ length: n }, (_, i) => item(i)),
    );
    for (let i = 0; i < n; i++) assert.deepEqual(s.shift(), item(i), `item ${i}`);
    assert.equal(s.length, 0);
    assert.equal(s.shift(), undefined);
  });

  test('items handed back go before the log, and pushes after wait behind it', () => {
    const s = new ItemStore(100, 128);
    for (let i = 0; i < 50; i++) s.push(item(i));
    const taken = [s.shift(), s.shift(), s.shift()];
    for (let i = 50; i < 60; i++) s.push(item(i));
    for (let j = taken.length - 1; j >= 0; j--) s.unshift(taken[j]);
    const all = [];
    while (s.length > 0) all.push(s.shift());
    assert.deepEqual(
      all,
      Array.from({ length: 60 }, (_, i) => item(i)),
    );
  });

  test('a drained log takes new items after the front again, and clear empties both', () => {
    const s = new ItemStore(100, 64);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) s.push(item(i + 100 * round));
      for (let i = 0; i < 30; i++) assert.deepEqual(s.shift(), item(i + 100 * round));
      assert.equal(s.length, 0);
    }
    for (let i = 0; i < 30; i++) s.push(item(i));
    s.clear();
    assert.equal(s.length, 0);
    assert.deepEqual([...s], []);
    s.push('after');
    assert.equal(s.shift(), 'after');
  });

  test('a record larger than a chunk gets one of its own', () => {
    const s = new ItemStore(0, 64);
    const big = `\u00ff\u0084${'b'.repeat(1000)}`;
    s.push(1);
    s.push(big);
    s.push(`x${'\u4e00'.repeat(500)}`);
    s.push(2);
    assert.deepEqual([...s], [1, big, `x${'\u4e00'.repeat(500)}`, 2]);
    assert.equal(s.shift(), 1);
    assert.equal(s.shift(), big);
    assert.equal(s.shift(), `x${'\u4e00'.repeat(500)}`);
    assert.equal(s.shift(), 2);
  });

  test('the emptied front takes the log back in order, with pushes and hand-backs between', () => {
    const s = new ItemStore(300, 128);
    let next = 0;
    const got: unknown[] = [];
    // Bursts of pushes, each followed by fewer shifts, then a drain: refills happen at every
    // phase of the log, while newer items keep going to its back.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 25; i++) s.push(item(next++));
      for (let i = 0; i < 15; i++) got.push(s.shift());
      const back = s.shift();
      s.unshift(back);
    }
    while (s.length > 0) got.push(s.shift());
    assert.deepEqual(
      got,
      Array.from({ length: next }, (_, i) => item(i)),
    );
    assert.equal(s.logged, 0);
  });

  test('a queue settled at a small backlog after a burst leaves the log', () => {
    const s = new ItemStore(1000, 256);
    const it = (i: number) => `\u00ff\u0080${String(i).padStart(76, '.')}`;
    for (let i = 0; i < 100; i++) s.push(it(i));
    assert.ok(s.logged > 0, 'the burst went to the log');
    let at = 0;
    while (s.length > 5) assert.equal(s.shift(), it(at++));
    // A steady backlog of 5 items, well under the budget: one put, one get. Once the front has
    // emptied and taken the rest of the log back, new items stay in the front.
    let left = -1;
    for (let i = 100; i < 300; i++) {
      s.push(it(i));
      assert.equal(s.shift(), it(at++));
      if (left < 0 && s.logged === 0) left = i;
      if (left >= 0) assert.equal(s.logged, 0, `item ${i} went back to the log`);
    }
    assert.ok(left >= 0, 'the log never emptied');
    assert.equal(s.length, 5);
  });

  test('an empty store takes any one item into its front; what follows a full front goes to the log', () => {
    const s = new ItemStore(100, 64);
    const big = `\u00ff\u0080${'b'.repeat(5000)}`;
    s.push(big);
    assert.equal(s.logged, 0);
    s.push('small');
    assert.equal(s.logged, 1);
    assert.equal(s.shift(), big);
    assert.equal(s.shift(), 'small');
    assert.equal(s.length, 0);
  });

  test("a [bytes, tokens] item counts its bytes' characters against the budget", () => {
    const s = new ItemStore(1000, 256);
    const big = [`\u00ff\u0010${'p'.repeat(2000)}`, ['tok']];
    s.push(big);
    s.push(['\u00ff\u0010small', ['tok2']]);
    assert.equal(s.logged, 1, 'the front was full with the first item');
    assert.equal(s.shift(), big);
    assert.deepEqual(s.shift(), ['\u00ff\u0010small', ['tok2']]);
  });

  test('chunks emptied by one store and reused by others keep every store whole', () => {
    // Default chunks (256 KiB): the ones a store empties beyond its own spare serve any store's
    // log after, while the stores that took them hold backlogs of their own.
    const stores = [new ItemStore(0), new ItemStore(0), new ItemStore(0)];
    const n = 3000; // about 2 MiB of records each: several chunks
    const mine = (k: number, i: number): unknown => item(i * 3 + k);
    const fill = (k: number): void => {
      for (let i = 0; i < n; i++) stores[k]?.push(mine(k, i));
    };
    const drain = (k: number, from: number, to: number): void => {
      for (let i = from; i < to; i++) assert.deepEqual(stores[k]?.shift(), mine(k, i), `${k}:${i}`);
    };
    fill(0);
    drain(0, 0, n); // its chunks are emptied: spare ones for the others
    fill(1);
    fill(0);
    drain(1, 0, n / 2);
    fill(2);
    drain(0, 0, n);
    drain(2, 0, n / 2);
    drain(1, n / 2, n);
    drain(2, n / 2, n);
    for (const s of stores) assert.equal(s.length, 0);
  });
});
