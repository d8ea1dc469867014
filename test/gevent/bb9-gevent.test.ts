/**
 * Bug bash bb9 against gevent 22.10.2 (on /usr/bin/python3 3.11.2):
 *
 * - The main greenlet joining a greenlet that was never started raises `LoopExit` ("This
 *   operation would block forever") from `join()` and `get()`, as soon as the hub has nothing
 *   left to run; the program goes on. So does a main greenlet joining a greenlet that waits for
 *   ever itself (that one is left waiting). `join(timeout=…)` just times out. weft's program
 *   ended there with exit code 13 (Node's unsettled top-level await): such a wait made outside
 *   every greenlet and task now raises `LoopExit` when nothing is left that could end it.
 * - `Pool().free_count()` (no limit) is 1 in gevent; weft answered Infinity.
 * - `with Timeout(0): sleep(0.001)` always raises the Timeout in gevent (500 runs of 500), and
 *   `sleep(0)` under it always finishes; weft let the sleep finish in about 3 runs of 4 (Node's
 *   shortest timer is 1 ms, so the two timers fired together and the sleep, of higher
 *   priority, went first).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoopExit, Pool, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { DeadlockError } from '../../src/internal/errors.js';
import { runRoot } from '../support/root.js';

/** Runs `code` as an ES module with top-level await at the repository's root. */
function runModule(code: string): { status: number | null; lines: string[]; stderr: string } {
  const r = runRoot(code, { execArgv: ['--input-type=module'], timeout: 60_000 });
  return { status: r.status, lines: r.stdout.trim().split('\n'), stderr: r.stderr };
}

const PRELUDE = `
const g = await import('./src/gevent/index.ts');
const asyncio = await import('./src/asyncio/index.ts');
const out = (x) => console.log(x);
const name = (e) => (e instanceof g.LoopExit ? 'LoopExit ' + e.code : 'other ' + String(e));
`;

describe('bug bash bb9: LoopExit, as gevent, where the program ended with exit code 13', () => {
  test('a top-level join, get or joinall of a greenlet never started raises LoopExit, and the program goes on', () => {
    const r = runModule(`${PRELUDE}
      const never = new g.Greenlet(() => 1);
      try { await never.join(); out('join returned'); } catch (e) { out('join ' + name(e)); }
      try { await never.get(); out('get returned'); } catch (e) { out('get ' + name(e)); }
      out('join with a timeout: ' + (await never.join({ timeout: 5 })));
      try { await g.joinall([never]); out('joinall returned'); } catch (e) { out('joinall ' + name(e)); }
      // A greenlet waiting for it: the main program's join of that one raises; it stays waiting.
      const waiter = g.spawn(async () => { await never.join(); return 'joined'; });
      try { await waiter.join(); out('outer returned'); } catch (e) { out('outer ' + name(e) + ' ' + /Greenlet-2', which waits for Greenlet 'Greenlet-1'/.test(e.message)); }
      out('waiter dead: ' + waiter.dead);
      // Started now: the join is served as ever.
      never.start();
      out('after start: ' + (await waiter.get()));
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'join LoopExit ERR_WEFT_LOOP_EXIT',
      'get LoopExit ERR_WEFT_LOOP_EXIT',
      'join with a timeout: false',
      'joinall LoopExit ERR_WEFT_LOOP_EXIT',
      'outer LoopExit ERR_WEFT_LOOP_EXIT true',
      'waiter dead: false',
      'after start: joined',
    ]);
  });

  test("a pool's join and spawn raise LoopExit when nothing can end them; a wait something ends is left alone", () => {
    const r = runModule(`${PRELUDE}
      const ev = new asyncio.Event();
      const pool = new g.Pool(1);
      await pool.spawn(() => ev.wait());
      try { await pool.join(); out('pool.join returned'); } catch (e) { out('pool.join ' + name(e)); }
      try { await pool.spawn(() => 1); out('spawn returned'); } catch (e) { out('pool.spawn ' + name(e)); }
      // A timer starts it later: nothing to report, the join returns.
      const later = new g.Greenlet(() => 'later');
      setTimeout(() => later.start(), 20);
      out('join of one a timer starts: ' + (await later.join()));
      // Another greenlet starts it after a sleep.
      const byOther = new g.Greenlet(() => 'other');
      g.spawn(async () => { await g.sleep(20); byOther.start(); });
      out('join of one another greenlet starts: ' + (await byOther.get()));
      ev.set();
      out('pool emptied: ' + (await pool.join()));
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'pool.join LoopExit ERR_WEFT_LOOP_EXIT',
      'pool.spawn LoopExit ERR_WEFT_LOOP_EXIT',
      'join of one a timer starts: true',
      'join of one another greenlet starts: other',
      'pool emptied: true',
    ]);
  });

  // Review: a wait nothing awaits ended the program with an unhandled LoopExit (exit code 1),
  // where before it exited quietly; and every wait failed in the same turn.
  test('an abandoned main-program wait stays silent: the program exits 0', () => {
    const r = runModule(`${PRELUDE}
      new g.Greenlet(() => 1).join().then(() => out('joined'));
      const pool = new g.Pool(1);
      await pool.spawn(() => new Promise(() => {}));
      pool.spawn(() => 2);
      new g.Greenlet(() => 3).get();
      out('end');
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, ['end']);
    assert.doesNotMatch(r.stderr, /LoopExit/);
  });

  test('an unhandled rejection of another error, made while a LoopExit is delivered, still ends the program', () => {
    const r = runModule(`${PRELUDE}
      new g.Greenlet(() => 1).join().catch(() => { out('caught'); Promise.reject(new Error('boom')); });
    `);
    assert.equal(r.status, 1);
    assert.deepEqual(r.lines, ['caught']);
    assert.match(r.stderr, /boom/);
  });

  test('waits fail one at a time: a catch that starts the greenlet another waits for ends that wait', () => {
    const r = runModule(`${PRELUDE}
      const a = new g.Greenlet(() => 'a');
      const b = new g.Greenlet(() => 'b');
      const first = a.join().then((x) => out('a joined ' + x), (e) => { out('a ' + name(e)); b.start(); });
      const second = b.get().then((x) => out('b got ' + x), (e) => out('b ' + name(e)));
      await Promise.all([first, second]);
      out('end');
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, ['a LoopExit ERR_WEFT_LOOP_EXIT', 'b got b', 'end']);
  });

  test('LoopExit is a DeadlockError with its own code', () => {
    const e = new LoopExit('x');
    assert.ok(e instanceof DeadlockError);
    assert.equal(e.code, 'ERR_WEFT_LOOP_EXIT');
    assert.equal(e.name, 'LoopExit');
  });
});

describe('bug bash bb9: Pool and Timeout, as gevent', () => {
  test('freeCount() of a pool without a limit is 1, as gevent', async () => {
    const pool = new Pool();
    assert.equal(pool.freeCount(), 1);
    const g = await pool.spawn(() => sleep(1));
    assert.equal(pool.freeCount(), 1, 'still room for one more');
    assert.equal(pool.full(), false);
    assert.equal(await pool.waitAvailable({ timeout: 0 }), 1);
    await g.join();
  });

  test('Timeout(0) around sleep(1) always expires first; around sleep(0) the sleep finishes', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const g = spawn(async (ms: number) => {
        // Armed in a step that a Node timer began (not in the loop's check phase).
        await new Promise((r) => setTimeout(r, 2));
        using t = new Timeout(0).start();
        try {
          await sleep(ms);
          return 'finished';
        } catch (e) {
          if (e === t) return 'timeout';
          throw e;
        }
      }, 1);
      outcomes.push(String(await g.get()));
    }
    assert.deepEqual(outcomes, Array(20).fill('timeout'));
    const zero = spawn(async () => {
      using _t = new Timeout(0).start();
      await sleep(0);
      return 'finished';
    });
    assert.equal(await zero.get(), 'finished');
  });

  test('a Timeout(0) cancelled before the loop turns never expires', async () => {
    const g = spawn(async () => {
      const t = new Timeout(0).start();
      assert.equal(t.pending, true);
      t.cancel();
      assert.equal(t.pending, false);
      await sleep(5);
      // Started again and cancelled again: the first arming's turn does nothing either.
      t.start();
      t.cancel();
      await sleep(5);
      return 'slept';
    });
    assert.equal(await g.get(), 'slept');
  });
});
