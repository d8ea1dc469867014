/**
 * A size of the wrong type given to `StreamReader.read` or `readexactly` is named as it was
 * given, as weft's other argument errors name it (a string in quotes): `read('2')` said
 * "received 2", as if the number had been refused, and an object "[object Object]".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamReader } from '../../src/streams/index.js';

describe('bug bash helper-U: StreamReader size errors name what was given', () => {
  for (const [what, call] of [
    ['read', (r: StreamReader, n: unknown) => r.read(n as number)],
    ['readexactly', (r: StreamReader, n: unknown) => r.readexactly(n as number)],
  ] as const) {
    test(`${what}() with a size that is not an integer rejects with a TypeError naming it`, async () => {
      const r = new StreamReader();
      r.feedData('abc');
      for (const [n, shown] of [
        ['2', 'received "2"'],
        [{}, 'received an object'],
        [1.5, 'received 1.5'],
        [null, 'received null'],
      ] as const) {
        await assert.rejects(call(r, n), (e: unknown) => {
          assert.ok(e instanceof TypeError, `got ${String(e)}`);
          assert.ok((e as Error).message.endsWith(shown), (e as Error).message);
          return true;
        });
      }
      assert.equal((await r.read(3)).toString(), 'abc', 'nothing was consumed');
    });
  }
});
