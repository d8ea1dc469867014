import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event, GreenletExit, killall, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Runs `fn` in a greenlet, as gevent code runs (the test's own code is in no task). */
function inGreenlet(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    await spawn(fn).get();
  };
}

describe('killall({ timeout })', () => {
  // gevent 22.10.2 starts killall's Timeout before it waits for the kill's turn: with 200
  // greenlets of 1 ms of blocking work queued ahead of the kill (more than its hub runs before it
  // looks at its timers), killall(gs, timeout=0.001) raises Timeout with gs alive, and the kill
  // still reaches them later: ['Timeout dead=[False, False]', '0 killed', '1 killed',
  // 'later dead=[True, True]']. weft's loop gives timers their turn after a budget of callbacks
  // (4096) rather than after a time: more than that ahead of the kill is the same situation.
  test(
    'bounds the wait for the kill’s turn; the kill is still delivered',
    inGreenlet(async () => {
      const log: string[] = [];
      const victim = (n: number) => async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          if (e instanceof GreenletExit) log.push(`${n} killed`);
          throw e;
        }
      };
      const gs = [spawn(victim(0)), spawn(victim(1))];
      await sleep(0);
      const busy = [];
      for (let i = 0; i < 5000; i++) busy.push(spawn(() => undefined));
      try {
        await killall(gs, { timeout: 0 });
        log.push('killall returned');
      } catch (e) {
        assert.ok(e instanceof Timeout, `got ${e}`);
        log.push(`Timeout dead=${gs.map((g) => g.dead)}`);
      }
      await Promise.all(gs.map((g) => g.join()));
      log.push(`later dead=${gs.map((g) => g.dead)}`);
      assert.deepEqual(log, [
        'Timeout dead=false,false',
        '0 killed',
        '1 killed',
        'later dead=true,true',
      ]);
      await Promise.all(busy.map((g) => g.join()));
    }),
  );

  test(
    'a kill whose turn comes in time is not cut short by a timeout of 0 (gevent: returns)',
    inGreenlet(async () => {
      const gs = [spawn(() => sleep(10_000)), spawn(() => sleep(10_000))];
      await sleep(0);
      await killall(gs, { timeout: 0 });
      assert.deepEqual(
        gs.map((g) => g.dead),
        [true, true],
      );
    }),
  );
});

describe('a kill’s timeout passing: Greenlet.kill returns, killall raises (gevent 22.10.2)', () => {
  // A greenlet that, once killed, waits on an Event for its cleanup, killed with a timeout of
  // 20 ms, then the Event set (/usr/bin/python3, gevent 22.10.2: g.kill(timeout=0.02), then
  // gevent.killall([g], timeout=0.02)) prints:
  // ['got GreenletExit', 'kill returned, dead=False', 'cleaned up', 'dead=True',
  //  'got GreenletExit', 'killall raised Timeout, dead=False', 'cleaned up', 'dead=True']
  // gevent's kill ends with `self.join(timeout)`, which returns; killall waits under a `Timeout`,
  // which raises. Neither stops the greenlet: it goes on with its cleanup.
  test(
    'both leave the greenlet running; only killall raises Timeout',
    inGreenlet(async () => {
      const log: string[] = [];
      for (const useKillall of [false, true]) {
        const ev = new Event();
        const g = spawn(async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            if (!(e instanceof GreenletExit)) throw e;
            log.push('got GreenletExit');
            await ev.wait();
            log.push('cleaned up');
            throw e;
          }
        });
        await sleep(0);
        const name = useKillall ? 'killall' : 'kill';
        try {
          if (useKillall) await killall([g], { timeout: 20 });
          else await g.kill({ timeout: 20 });
          log.push(`${name} returned, dead=${g.dead}`);
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
          log.push(`${name} raised Timeout, dead=${g.dead}`);
        }
        ev.set();
        await g.join();
        log.push(`dead=${g.dead}`);
      }
      assert.deepEqual(log, [
        'got GreenletExit',
        'kill returned, dead=false',
        'cleaned up',
        'dead=true',
        'got GreenletExit',
        'killall raised Timeout, dead=false',
        'cleaned up',
        'dead=true',
      ]);
    }),
  );
});
