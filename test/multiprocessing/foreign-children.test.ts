/**
 * activeChildren() lists every child of the process, whichever thread started it, as Python's
 * active_children() does (checked with 3.11.2, `fork` and `spawn`: the main thread lists the
 * children a Thread started — `('fromthread', False, (1,))` and `('Process-2', True, (2,))` — and
 * a Thread lists the main thread's; terminate() and join() of the listed object end it, and it is
 * no longer listed). weft's listed only the calling thread's own. Another thread's child is given
 * as a Process object made from the process's child table: its name at start, pid, daemon flag
 * and `_identity`; isAlive(), join(), terminate(), kill() and close() work; its exitcode stays
 * null (documented).
 *
 * Such an object stands for one child, not for a pid: once its child has ended, a later child
 * given the same pid (pids are reused) is not taken for it — it stays ended, and its terminate()
 * signals nothing (it signalled whatever then held the pid). A name is kept up to 54 UTF-16
 * units, cut between code points.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { othersListed } from '../../src/multiprocessing/child-table.js';
import { activeChildren, Process, Queue } from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { listHere, nap, startNamed, startTwo, type Told } from './fixtures/foreign-targets.js';

checkLeaks({ graceMs: 5000 });

const PATIENCE = 30_000;

describe("activeChildren() lists other threads' children", () => {
  test("the main thread lists a Thread's children, and can end them through what it lists", async () => {
    const out = new Queue<Told[]>();
    const t = new Thread({ target: startTwo, args: [out] });
    t.start();
    const told = await out.get({ timeout: PATIENCE });
    await t.join();
    out.close();
    const [nd, d] = told as [Told, Told];
    try {
      const listed = activeChildren();
      const a = listed.find((p) => p.pid === nd.pid) as Process;
      const b = listed.find((p) => p.pid === d.pid) as Process;
      assert.ok(a !== undefined && b !== undefined, 'both are listed');
      assert.deepEqual(
        [a.name, a.daemon, a._identity, a.isAlive(), a.exitcode],
        ['fromthread', false, nd.ident, true, null],
      );
      assert.deepEqual(
        [b.name, b.daemon, b._identity, b.isAlive(), b.exitcode],
        [d.name, true, d.ident, true, null],
      );
      assert.match(d.name, /^Process-\d+$/);
      assert.match(String(a), /name='fromthread' .* started>$/);
      assert.ok(activeChildren().includes(a), 'the same object while it runs');
      // A running child cannot be closed, nor started again.
      assert.throws(() => a.close(), { code: 'ERR_WEFT_PROCESS_ALIVE' });
      assert.throws(() => a.start(), { code: 'ERR_WEFT_PROCESS_STARTED' });
      // A join that times out leaves it running.
      await a.join({ timeout: 50 });
      assert.equal(a.isAlive(), true);
      a.terminate();
      await a.join({ timeout: PATIENCE });
      assert.equal(a.isAlive(), false);
      assert.equal(
        activeChildren().some((p) => p.pid === nd.pid),
        false,
        'no longer listed once ended',
      );
      assert.match(String(a), / stopped>$/);
      a.close();
      b.kill();
      await b.join({ timeout: PATIENCE });
      assert.equal(b.isAlive(), false);
    } finally {
      for (const { pid } of told) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended
        }
      }
    }
    assert.deepEqual(
      activeChildren().filter((p) => p.pid === nd.pid || p.pid === d.pid),
      [],
    );
  });

  test("a Thread lists the main thread's children", async () => {
    const p = new Process({ target: nap, args: [60_000], name: 'frommain' });
    p.start();
    const out = new Queue<Told[]>();
    try {
      const t = new Thread({ target: listHere, args: [out] });
      t.start();
      const listed = await out.get({ timeout: PATIENCE });
      await t.join();
      assert.deepEqual(
        listed.filter((c) => c.pid === p.pid),
        [{ pid: p.pid, name: 'frommain', daemon: false, ident: p._identity }],
      );
    } finally {
      out.close();
      p.terminate();
      await p.join();
    }
  });

  test('an object for an ended child does not take a later child given its pid for its own', async () => {
    const out = new Queue<number>();
    const t = new Thread({ target: startNamed, args: [out, 'later'] });
    t.start();
    const pid = await out.get({ timeout: PATIENCE });
    await t.join();
    out.close();
    try {
      const seen = othersListed().find((c) => c.pid === pid);
      assert.ok(seen !== undefined, 'the table lists it');
      const listed = activeChildren().find((p) => p.pid === pid) as Process;
      assert.equal(listed.isAlive(), true);
      // What an object made for an earlier child with this pid holds: another start time.
      const earlier = Process._foreign({ ...seen, start: `${seen.start}0` });
      assert.equal(earlier.isAlive(), false);
      assert.match(String(earlier), / stopped daemon>$/);
      earlier.terminate();
      earlier.kill();
      // The child, untouched, still runs a while later (a signal would end it within ms).
      const until = Date.now() + 1500;
      while (Date.now() < until && listed.isAlive()) await new Promise((r) => setTimeout(r, 50));
      assert.equal(listed.isAlive(), true, 'the later child was not signalled');
      assert.equal(earlier.isAlive(), false);
      assert.ok(activeChildren().includes(listed), 'the listed object is still its own');
      listed.terminate();
      await listed.join({ timeout: PATIENCE });
      assert.equal(listed.isAlive(), false);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended
      }
    }
  });

  test('a name longer than 54 UTF-16 units is cut between code points', async () => {
    const name = `${'a'.repeat(53)}\u{1F600}b`;
    const out = new Queue<number>();
    const t = new Thread({ target: startNamed, args: [out, name] });
    t.start();
    const pid = await out.get({ timeout: PATIENCE });
    await t.join();
    out.close();
    try {
      const p = activeChildren().find((c) => c.pid === pid) as Process;
      assert.equal(p.name, 'a'.repeat(53));
      p.terminate();
      await p.join({ timeout: PATIENCE });
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended
      }
    }
  });
});
