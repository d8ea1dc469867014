/**
 * JoinableQueue items handed on: a consumer takes items and passes them to another process,
 * which marks them done after the consumer has ended. Python's count is the queue's, so its
 * join() returns once they are all done (checked with Python 3.11, 'fork' and 'spawn'). weft's
 * join() rejected with ProcessError "A consumer died with 3 item(s) taken … and not marked done"
 * though every item was done: the broker charged them to the consumer at its end and never
 * took them off again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EOFError,
  JoinableQueue,
  Pipe,
  Process,
  ProcessError,
  Queue,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { relayWithoutDone } from './fixtures/bb8-targets.js';

checkLeaks({ graceMs: 3000 });

/**
 * Starts a consumer that relays `n` of the items of `jq` to the returned queue, waits until it
 * has ended and the broker has seen it end (its Pipe end closed with its session), and returns
 * what it relayed.
 */
async function relayThenEnd(jq: JoinableQueue<number>, n: number): Promise<number[]> {
  const out = new Queue<number>();
  const [mine, theirs] = Pipe();
  const p = new Process({ target: relayWithoutDone, args: [jq, out, n, theirs] });
  p.start();
  theirs.close();
  const got: number[] = [];
  for (let i = 0; i < n; i++) got.push(await out.get({ timeout: 60_000 }));
  await p.join({ timeout: 60_000 });
  assert.equal(p.exitcode, 0);
  await assert.rejects(mine.recv(), EOFError);
  mine.close();
  out.close();
  return got;
}

describe('JoinableQueue: items a consumer handed on and another process marked done', () => {
  test('marked done after the consumer ended: join() resolves, as in Python', async () => {
    const jq = new JoinableQueue<number>();
    for (let i = 0; i < 3; i++) await jq.put(i);
    assert.deepEqual(await relayThenEnd(jq, 3), [0, 1, 2]);
    for (let i = 0; i < 3; i++) jq.taskDone();
    assert.equal(await jq.join({ timeout: 10_000 }), true);
    jq.close();
  });

  test('until they are all marked done, join() still names the consumer; then it waits for the rest', async () => {
    const jq = new JoinableQueue<number>();
    for (let i = 0; i < 3; i++) await jq.put(i);
    assert.deepEqual(await relayThenEnd(jq, 2), [0, 1]);
    // Two owed by a consumer that has ended: the join fails rather than wait for ever.
    await assert.rejects(
      jq.join({ timeout: 10_000 }),
      (e: Error) => e instanceof ProcessError && /with 2 item\(s\) taken/.test(e.message),
    );
    jq.taskDone();
    await assert.rejects(
      jq.join({ timeout: 10_000 }),
      (e: Error) => e instanceof ProcessError && /with 1 item\(s\) taken/.test(e.message),
    );
    jq.taskDone();
    // Both paid off: the third item, never taken, is what join() waits for now.
    assert.equal(await jq.join({ timeout: 200 }), false);
    assert.equal(await jq.get({ timeout: 10_000 }), 2);
    jq.taskDone();
    assert.equal(await jq.join({ timeout: 10_000 }), true);
    jq.close();
  });
});
