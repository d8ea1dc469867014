import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  activeChildren,
  cpuCount,
  currentProcess,
  Process,
  parentProcess,
  Queue,
  RuntimeError,
  TaskReferenceError,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';
import { TS_IMPORT } from '../support/ts.js';
import {
  bump,
  checkIdentity,
  counter,
  exitWith,
  exitWithArgCount,
  fail,
  Squarer,
  sleepMs,
  spawnThenThrowOdd,
  spin,
} from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('Process', () => {
  test('target style: the child sees its name, pid, parent and kwargs (and no weft start-up variable); exitcode 0', async () => {
    const p = new Process({
      target: checkIdentity,
      args: ['worker-a', process.pid],
      kwargs: { extra: 7 },
      name: 'worker-a',
    });
    assert.equal(p.exitcode, null);
    assert.equal(p.pid, null);
    p.start();
    assert.equal(typeof p.pid, 'number');
    assert.equal(p.isAlive(), true);
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.equal(p.isAlive(), false);
  });

  test('kwargs {} is no argument (Python **{}); kwargs with keys is one trailing object', async () => {
    const none = new Process({ target: exitWithArgCount, args: [1], kwargs: {} });
    const some = new Process({ target: exitWithArgCount, args: [1], kwargs: { k: 2 } });
    none.start();
    some.start();
    await Promise.all([none.join(), some.join()]);
    assert.equal(none.exitcode, 1);
    assert.equal(some.exitcode, 2);
  });

  test('subclass style runs the overridden run() with the fields set in the parent', async () => {
    const p = new Squarer();
    p.n = 5;
    p.start();
    await p.join();
    assert.equal(p.exitcode, 25);
  });

  test('default names are Process-N, increasing', () => {
    const a = new Process();
    const b = new Process();
    assert.match(a.name, /^Process-\d+$/);
    assert.equal(Number(b.name.split('-')[1]), Number(a.name.split('-')[1]) + 1);
  });

  test('a child changing a module variable does not change the parent', async () => {
    const p = new Process({ target: bump });
    p.start();
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.equal(counter, 0);
  });

  test('exitcode is n after process.exit(n), 1 after an uncaught error', async () => {
    const a = new Process({ target: exitWith, args: [3] });
    const b = new Process({ target: fail, args: ['bad input'] });
    a.start();
    b.start();
    await Promise.all([a.join(), b.join()]);
    assert.equal(a.exitcode, 3);
    assert.equal(b.exitcode, 1);
  });

  test('a target throwing a value String() refuses exits 1 after joining its non-daemon children', async () => {
    // Reporting it threw again from the child's catch: the child died at once (still exit 1),
    // without waiting for its children or flushing its queues.
    const q = new Queue<string>();
    const p = new Process({ target: spawnThenThrowOdd, args: [q] });
    p.start();
    await p.join();
    assert.equal(p.exitcode, 1);
    // Put by the grandchild, which the child joined before it exited.
    assert.match(q.getNowait(), /^grandchild \d+ of \d+$/);
  });

  test('terminate gives −15 and kill gives −9; isAlive turns false', async () => {
    const a = new Process({ target: spin });
    const b = new Process({ target: spin });
    a.start();
    b.start();
    assert.equal(a.isAlive(), true);
    a.terminate();
    b.kill();
    await Promise.all([a.join(), b.join()]);
    assert.equal(a.exitcode, -15);
    assert.equal(b.exitcode, -9);
    assert.equal(a.isAlive(), false);
  });

  test('join with a timeout returns while the child still runs', async () => {
    const p = new Process({ target: sleepMs, args: [400] });
    p.start();
    await p.join({ timeout: 30 });
    assert.equal(p.isAlive(), true);
    assert.equal(p.exitcode, null);
    assert.deepEqual(activeChildren(), [p]);
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.deepEqual(activeChildren(), []);
  });

  test('join with a timeout of Infinity or past 2^31 − 1 ms waits for the end', async () => {
    // Node fires a timer past 2^31 − 1 ms after 1 ms: join returned with the child alive.
    const p = new Process({ target: sleepMs, args: [300] });
    p.start();
    await p.join({ timeout: Number.POSITIVE_INFINITY });
    assert.equal(p.exitcode, 0);
    const q = new Process({ target: sleepMs, args: [300] });
    q.start();
    await q.join({ timeout: 3e9 });
    assert.equal(q.exitcode, 0);
  });

  test('misuse: start twice, join before start, close while alive are RuntimeErrors', async () => {
    const p = new Process({ target: sleepMs, args: [50] });
    await assert.rejects(p.join(), RuntimeError);
    p.start();
    assert.throws(() => p.start(), RuntimeError);
    assert.throws(() => p.close(), RuntimeError);
    await p.join();
    p.close();
    assert.throws(() => p.start(), RuntimeError);
  });

  test('a closed process answers nothing more: isAlive, exitcode, pid, join and kill throw', async () => {
    // They answered as if it were open; Python raises ValueError('process object is closed').
    const p = new Process({ target: sleepMs, args: [10] });
    p.start();
    await p.join();
    p.close();
    const closed = { name: 'RuntimeError', code: 'ERR_WEFT_PROCESS_CLOSED' };
    assert.throws(() => p.isAlive(), closed);
    assert.throws(() => p.exitcode, closed);
    assert.throws(() => p.pid, closed);
    assert.throws(() => p.ident, closed);
    await assert.rejects(p.join(), closed);
    assert.throws(() => p.kill(), closed);
  });

  test('bad input: non-cloneable args, unknown targets, wrong option types', () => {
    // @ts-expect-error: a function cannot reach a child (the TypeError tested here)
    assert.throws(() => new Process({ target: sleepMs, args: [() => 1] }).start(), TypeError);
    assert.throws(() => new Process({ target: 42 as never }), TypeError);
    class Local {}
    assert.throws(() => new Process({ target: Local as never }).start(), TaskReferenceError);
    assert.throws(() => new Process({ daemon: 'yes' as never }), TypeError);
  });

  test('currentProcess is MainProcess with no parent; cpuCount is positive', () => {
    assert.equal(currentProcess().name, 'MainProcess');
    assert.equal(currentProcess().pid, process.pid);
    assert.equal(parentProcess(), null);
    assert.ok(cpuCount() >= 1);
  });

  test('no orphans: killing a busy parent with SIGKILL ends its busy daemon child', async () => {
    const here = fileURLToPath(new URL('./fixtures/orphan-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, ['--import', TS_IMPORT, here], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const grandchild = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (d) => {
        out += d;
        const m = /daemon (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.on('exit', () => reject(new Error(`parent exited early: ${out}`)));
    });
    assert.equal(alive(grandchild), true);
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    const deadline = Date.now() + 5000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(grandchild), false, `daemon child ${grandchild} outlived its parent`);
  });

  test('a child whose parent exits before sending its target says so, and ends', async () => {
    const { code, child, stderr } = await exitAfterStart(false);
    assert.equal(code, 0);
    assert.equal(await endsSoon(child), true);
    assert.match(
      stderr,
      new RegExp(
        `weft: process ${child}: its parent \\(pid \\d+\\) ended before it started its target, which did not run`,
      ),
    );
    assert.doesNotMatch(stderr, /the target ran/);
  });

  test('a daemon child whose parent exits before sending its target ends silently', async () => {
    const { code, child, stderr } = await exitAfterStart(true);
    assert.equal(code, 0);
    assert.equal(await endsSoon(child), true);
    assert.equal(stderr, '');
  });
});

/** Runs the exit-after-start fixture; resolves once its child has ended too (stderr closed). */
async function exitAfterStart(
  daemon: boolean,
): Promise<{ code: number | null; child: number; stderr: string }> {
  const here = fileURLToPath(new URL('./fixtures/exit-after-start.ts', import.meta.url));
  const parent = spawn(process.execPath, ['--import', TS_IMPORT, here, daemon ? 'daemon' : ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  parent.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  parent.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => parent.once('exit', r));
  // The child inherited the pipe: it closes once the child has ended as well.
  const closed = new Promise((r) => parent.stderr.once('close', r));
  const code = await exited;
  await closed;
  const m = /child (\d+)/.exec(out);
  assert.ok(m, `the parent reported no child: ${out} ${stderr}`);
  return { code, child: Number(m[1]), stderr };
}

/**
 * Whether `pid` has ended within a few seconds. Its pipes close as its exit begins, a moment
 * before the kernel marks it ended: checked once, a loaded machine saw it still running.
 */
async function endsSoon(pid: number): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}
