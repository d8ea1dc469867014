/**
 * `weft load --seconds` takes decimal digits, as `--port`, `--conns` and `--size` do: it was read
 * with Number(), which took `0x10` as 16 s and `1e3` as 1000 s and went on to connect. Port 1 is
 * one nobody listens on, so a value taken shows as "cannot connect" instead of the option's error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLeaks } from '../support/leaks.js';
import { weftRunner } from '../support/weft-cli.js';

checkLeaks();

const weft = weftRunner(60_000);

describe('weft load --seconds', () => {
  for (const bad of [
    '0x10',
    '1e3',
    '0b1',
    ' 5',
    '',
    '-1',
    '0',
    '0.0',
    '3600.5',
    'Infinity',
    '5s',
  ]) {
    test(`${JSON.stringify(bad)} is refused before connecting`, async () => {
      const r = await weft('load', 'echo', '--port', '1', '--seconds', bad);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^weft: weft load: --seconds must be in \(0, 3600\], in decimal digits: received /,
      );
      assert.doesNotMatch(r.stderr, /cannot connect|\n\s+at /);
    });
  }

  test('decimal values are taken (and then the connection is tried)', async () => {
    for (const good of ['5', '0.5', '.5', '3600', '2.']) {
      const r = await weft('load', 'echo', '--port', '1', '--seconds', good);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot connect to 127\.0\.0\.1:1: connection refused/, good);
    }
  });
});
