/**
 * A list holding a value nested deeper than the broker's stack can read (a thread with a larger
 * stack appended it): `index`, `count` and `remove` of other values compared each item with the
 * value asked for, and reading that one failed the call — every call about any value past it,
 * flat ones too. A stored value the broker cannot read is not equal to one it could read (only
 * a value as deep could be), as Python's == of a nested list and a string is False.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/list-deep-neighbour.ts', import.meta.url));

test('a value the broker cannot read fails no compare of other values', async () => {
  const r = await runScript(SCRIPT, [], 120_000);
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.deepEqual(JSON.parse(line ?? '{}'), {
    size: 'ok 4',
    indexFirst: 'ok 0',
    indexX: 'ok 2',
    indexObj: 'ok 3',
    countX: 'ok 1',
    removeX: 'ok undefined',
    after: 'ok 3',
  });
});
