/**
 * LoopExit for the waits of gevent.queue and gevent.lock made by the main program: each one that
 * nothing is left to end raises it, as gevent 22.10.2 does (checked on /usr/bin/python3: get,
 * put, peek, acquire, wait, Channel put and get, JoinableQueue.join and an RLock held by a
 * greenlet blocked for ever all raise LoopExit; a get a sleeping greenlet will serve returns).
 * They run in a process of their own: LoopExit comes when Node's loop has nothing left.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runRoot } from '../support/root.js';

function runModule(code: string): { status: number | null; lines: string[]; stderr: string } {
  const r = runRoot(code, { execArgv: ['--input-type=module'], timeout: 60_000 });
  return { status: r.status, lines: r.stdout.trim().split('\n'), stderr: r.stderr };
}

describe('gevent.queue and gevent.lock: LoopExit in the main program', () => {
  test('each wait nothing can end raises LoopExit naming what it waited for; the program goes on', () => {
    const r = runModule(`
      const g = await import('./src/gevent/index.ts');
      const out = (x) => console.log(x);
      const t = async (what, fn, pattern) => {
        try { await fn(); out(what + ' returned'); }
        catch (e) { out(what + ' ' + (e instanceof g.LoopExit ? 'LoopExit ' + pattern.test(e.message) : String(e))); }
      };
      await t('get', () => new g.Queue().get(), /waits for an item of Queue-\\d+/);
      const full = new g.Queue(1); full.putNowait(0);
      await t('put', () => full.put(1), /waits for room in Queue-\\d+ \\(maxsize 1\\)/);
      await t('peek', () => new g.LifoQueue().peek(), /an item of LifoQueue-\\d+/);
      await t('acquire', () => new g.Semaphore(0).acquire(), /to acquire Semaphore-\\d+/);
      await t('wait', () => new g.BoundedSemaphore(0).wait(), /BoundedSemaphore-\\d+/);
      await t('channel put', () => new g.Channel().put(1), /get its item from Channel-\\d+/);
      await t('channel get', () => new g.Channel().get(), /an item of Channel-\\d+/);
      const jq = new g.JoinableQueue(); jq.putNowait(1);
      await t('join', () => jq.join(), /the unfinished tasks of JoinableQueue-\\d+/);
      const lock = new g.RLock(); const never = new g.Event();
      g.spawn(async () => { await lock.acquire(); await never.wait(); });
      await g.sleep(0);
      await t('rlock', () => lock.acquire(), /RLock-\\d+ \\(held by Task 'Greenlet-\\d+'\\)/);
      // A greenlet that sleeps first will put: the get is left alone.
      const q = new g.Queue();
      g.spawn(async () => { await g.sleep(20); await q.put('late'); });
      out('later ' + (await q.get()));
      out('the queue still works: ' + (q.putNowait(1), q.getNowait()));
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'get LoopExit true',
      'put LoopExit true',
      'peek LoopExit true',
      'acquire LoopExit true',
      'wait LoopExit true',
      'channel put LoopExit true',
      'channel get LoopExit true',
      'join LoopExit true',
      'rlock LoopExit true',
      'later late',
      'the queue still works: 1',
    ]);
  });
});
