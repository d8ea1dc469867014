import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Timeout.startNew', () => {
  test('given a Timeout, starts it unless pending and returns it (gevent 22.10)', async () => {
    const g = spawn(async () => {
      const t = new Timeout(20);
      const seen: unknown[] = [Timeout.startNew(t) === t, t.pending];
      seen.push(Timeout.startNew(t) === t, t.pending);
      try {
        await sleep(10_000);
      } catch (e) {
        seen.push(e === t);
      }
      return seen;
    });
    assert.deepEqual(await g.get(), [true, true, true, true, true]);
  });

  test('given a number, makes and starts a new Timeout', async () => {
    const g = spawn(async () => {
      const t = Timeout.startNew(10_000);
      const pending = t.pending;
      t.cancel();
      return [pending, t.pending, t.ms];
    });
    assert.deepEqual(await g.get(), [true, false, 10_000]);
  });
});
