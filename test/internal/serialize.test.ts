/** encode/decode of values that carry shared objects (src/internal/serialize.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode } from '../../src/internal/serialize.js';
import { Lock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('serialize', () => {
  test('a shared object met twice in one value decodes to one revived object', () => {
    const lock = new Lock();
    const back = decode(structuredClone(encode([lock, { again: lock }], 'message'))) as [
      Lock,
      { again: Lock },
    ];
    assert.ok(back[0] instanceof Lock, 'revived');
    assert.equal(back[1].again, back[0], 'the second meeting is the same revived object');
  });

  test('an Error met twice decodes to one Error', () => {
    const e = new RangeError('x');
    const back = decode(structuredClone(encode([e, e], 'message'))) as [Error, Error];
    assert.ok(back[0] instanceof RangeError);
    assert.equal(back[1], back[0]);
  });
});
