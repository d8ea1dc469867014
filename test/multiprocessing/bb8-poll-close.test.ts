/**
 * Connection.poll() still waiting when its handle is closed (by another task of the thread).
 * weft's untimed poll went on polling the broker for ever (every few milliseconds), and a timed
 * one answered false at its end. Python's untimed poll waits for ever there too, and its timed
 * poll answers True (checked with 3.11: a thread in `a.poll(2)`, `a.close()` from another). Now
 * both answer true at once, as weft's recv() there rejects at once: a recv() then raises OSError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OSError, Pipe } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';

checkLeaks({ graceMs: 3000 });

describe('Connection.poll() when its handle is closed while it waits', () => {
  for (const timeout of [null, 60_000]) {
    test(`poll(${timeout}) answers true; recv() then raises OSError`, async () => {
      const [a, b] = Pipe();
      // The broker up first (a look is a round trip): a poll closed while its request still
      // waits for the connection is answered without it, and the test would end while the
      // client is still connecting (its retry timer counts as left behind).
      assert.equal(await a.poll(), false);
      const polling = a.poll(timeout);
      // Let the poll reach the broker, where it waits.
      await new Promise((r) => setTimeout(r, 50));
      a.close();
      // Bounded: before the fix it never settled (null) or took the whole minute.
      assert.equal(await settles(polling, 'poll()'), true);
      await assert.rejects(a.recv(), OSError);
      b.close();
    });
  }
});
