/**
 * The stall timer of a transfer on a weft Socket with a timeout follows the caller's signal
 * itself, with a listener it removes when the transfer ends, rather than through
 * `AbortSignal.any`: on Node 20 every signal `any` makes stays in a long-lived caller signal's
 * set of dependants, one per transfer, for as long as the caller's signal lives.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { StallTimer } from '../../src/sendfile/stall-timer.js';

test("the caller's abort aborts the stall timer's signal, with the caller's reason", () => {
  const outer = new AbortController();
  const stall = new StallTimer(1000, outer.signal);
  const reason = new Error('stop');
  outer.abort(reason);
  assert.equal(stall.signal.aborted, true);
  assert.equal(stall.signal.reason, reason);
  stall.stop();
});

test('a caller signal aborted already aborts it at once', () => {
  const outer = new AbortController();
  outer.abort('early');
  const stall = new StallTimer(1000, outer.signal);
  assert.equal(stall.signal.reason, 'early');
  stall.stop();
});

test("stop() leaves nothing on the caller's signal: many transfers on one signal hold nothing", () => {
  const outer = new AbortController();
  for (let i = 0; i < 1000; i++) {
    const stall = new StallTimer(1000, outer.signal);
    stall.stop();
  }
  assert.equal(getEventListeners(outer.signal, 'abort').length, 0);
  // And the caller's later abort reaches no stopped timer.
  outer.abort();
});
