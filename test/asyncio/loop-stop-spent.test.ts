/**
 * A stop() made once the running one has taken effect belongs to the next run (helper-107's review of 3a20149). It failed at 3a20149 and
 * on 68a6511 alike (not a regression of the change, a hole next to it).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventLoop } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('EventLoop: a stop() is never lost', () => {
  test('a stop() made after the running one took effect stops the next runForever (CPython)', async () => {
    // CPython 3.11 (/usr/bin/python3):
    //   def cb2(): log.append('cb2'); loop.stop()
    //   def cb1(): log.append('cb1'); loop.stop(); loop.call_soon(cb2)
    //   loop.call_soon(cb1); loop.run_forever(); loop.run_forever()
    //   -> both return: ['cb1', 'ret1', 'cb2', 'ret2'] (cb2's stop ends the second run).
    // weft runs cb2 before the first runForever's caller goes on (its documented difference),
    // but cb2's stop() then goes to the first run's spent waiter and is lost: the second
    // runForever never returns (here the safety timer ends it).
    const loop = new EventLoop();
    const log: string[] = [];
    try {
      const cb2 = (): void => {
        log.push('cb2');
        loop.stop();
      };
      loop.callSoon(() => {
        log.push('cb1');
        loop.stop();
        loop.callSoon(cb2);
      });
      await loop.runForever();
      log.push('ret1');
      const safety = loop.callLater(2000, () => {
        log.push('safety');
        loop.stop();
      });
      await loop.runForever();
      safety.cancel();
      log.push('ret2');
      assert.deepEqual(
        log.filter((x) => x !== 'ret1'),
        ['cb1', 'cb2', 'ret2'],
      );
    } finally {
      loop.close();
    }
  });

  test('a stop() made after runUntilComplete(fut) was done stops the next runForever (helper-108)', async () => {
    // CPython 3.11: fut done in cb1, cb3 (two call_soon hops later) stops ->
    //   ['cb1', 'cb2', ('ruc', 1), 'cb3 stop', 'rf returned']: cb3's stop ends the next
    //   run_forever. weft runs cb2 and cb3 before runUntilComplete's caller goes on, and cb3's
    //   stop() went to the spent run and was lost.
    const loop = new EventLoop();
    const log: string[] = [];
    try {
      const fut = loop.createFuture<number>();
      const cb3 = (): void => {
        log.push('cb3 stop');
        loop.stop();
      };
      const cb2 = (): void => {
        log.push('cb2');
        loop.callSoon(cb3);
      };
      loop.callSoon(() => {
        log.push('cb1');
        fut.setResult(1);
        loop.callSoon(cb2);
      });
      assert.equal(await loop.runUntilComplete(fut), 1);
      const safety = loop.callLater(2000, () => {
        log.push('safety');
        loop.stop();
      });
      await loop.runForever();
      safety.cancel();
      assert.deepEqual(
        log,
        ['cb1', 'cb2', 'cb3 stop'],
        'cb3 stopped the runForever, not the safety timer',
      );
    } finally {
      loop.close();
    }
  });
});
