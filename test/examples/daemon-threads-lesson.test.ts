/**
 * Lesson 23 (examples/23-daemon-threads.ts) runs its two programs without blocking the process
 * that runs it: the tour's limit on a stuck lesson and its Ctrl-C handling are timers and
 * signal handlers of that process, which a lesson inside spawnSync held off for as long as its
 * programs took (and a loaded machine once took them past the 30 s the lesson gave them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import lesson from '../../examples/23-daemon-threads.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('lesson 23 lets the event loop turn while its programs run', async () => {
  let turns = 0;
  const seen: number[] = [];
  const ticker = setInterval(() => turns++, 5);
  try {
    await lesson.main({
      quick: true,
      log: (...parts: unknown[]) => {
        if (String(parts[0]).startsWith('Program with a')) seen.push(turns);
      },
    });
  } finally {
    clearInterval(ticker);
  }
  // Each program lives at least three beats of 100 ms (the non-daemon one) or its start-up:
  // the 5 ms timer comes due while the lesson waits for them, if it waits without blocking.
  assert.equal(seen.length, 2);
  assert.ok(seen[1]! > seen[0]!, `no timer ran while the daemon program ran (${seen})`);
  assert.ok(turns > seen[1]!, `no timer ran while the non-daemon program ran (${seen}, ${turns})`);
});
