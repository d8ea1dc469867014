/**
 * A Thread's own code may post anything on parentPort: null, a value shaped like weft's worker
 * messages. weft's messages travel on a port of their own (worker/protocol.ts): none of it is
 * taken for them, and nothing crashes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Thread } from '../../src/threading/index.js';
import { postOnParentPort } from '../futures/fixtures/foreign-tasks.js';
import { hookedDuring } from '../support/excepthook.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

for (const which of ['plain', 'shaped'] as const) {
  test(`a Thread target posting ${which} messages on parentPort ends cleanly, nothing reported`, async () => {
    const seen = await hookedDuring(async () => {
      const t = new Thread({ target: postOnParentPort, args: [which, 1], name: `post-${which}` });
      t.start();
      await t.join({ timeout: 60_000 });
      assert.equal(t.isAlive(), false);
    });
    assert.deepEqual(seen, []);
  });
}
