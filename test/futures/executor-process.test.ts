/**
 * ProcessPoolExecutor: the executor suite (executor-suite.ts) and the tests of process pools
 * alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrokenProcessPool, type Future, ProcessPoolExecutor } from '../../src/futures/index.js';
import { workerIdentity } from '../multiprocessing/fixtures/targets.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { executorSuite } from './executor-suite.js';
import { sleepThen, whoAmI, whoAmIAfterFile } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

executorSuite({
  name: 'ProcessPoolExecutor',
  make: (o = {}) => new ProcessPoolExecutor(o),
  Broken: BrokenProcessPool,
});

describe('ProcessPoolExecutor only', () => {
  /**
   * Two children started before the tests (the leak check counts them), for the tests that leave
   * them idle and unbroken: a child process is slow to start.
   */
  let shared: ProcessPoolExecutor;
  before(async () => {
    shared = new ProcessPoolExecutor({ maxWorkers: 2 });
    await Promise.all([shared.submit(sleepThen, 100, 0), shared.submit(sleepThen, 100, 0)]);
  });
  after(async () => {
    await shared.shutdown();
  });

  test('a child killed with SIGKILL mid-call breaks the pool', async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const pid = Number((await ex.submit(whoAmI).result()).split(':')[0]);
    const f = ex.submit(sleepThen, 5000, 'never');
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, 'SIGKILL');
    const err = await f.exception();
    assert.ok(err instanceof BrokenProcessPool);
    assert.match(String(((err as Error).cause as Error).message), /SIGKILL/);
    await ex.shutdown();
  });

  test('a worker is not MainProcess and has the parent as parentProcess()', async () => {
    const me = await shared.submit(workerIdentity).result();
    assert.equal(me.guard, false);
    assert.match(me.name, /^ProcessPoolExecutor-\d+_\d+$/);
    assert.equal(me.parentPid, process.pid);
    assert.equal(me.parentName, 'MainProcess');
  });

  test('a short burst on two idle children: one call each, the next goes to the child that frees', async () => {
    // A child that finished its call was sent all 6 calls still queued (7 + 1 every round),
    // which then all counted as running: the other child, freed next, got none.
    // The shared pool: its two children started, and idle.
    const dir = mkdtempSync(join(tmpdir(), 'weft-burst-'));
    const gate = (i: number) => join(dir, String(i));
    const open = (i: number) => writeFileSync(gate(i), '');
    const ex = shared;
    let fs: Future<string>[] = [];
    try {
      fs = Array.from({ length: 8 }, (_, i) => ex.submit(whoAmIAfterFile, gate(i)));
      const states = () => fs.map((f) => (f.done() ? 'D' : f.running() ? 'R' : 'P')).join('');
      await until(() => states() === 'RRPPPPPP', `two running (${states()})`);
      open(0);
      const a = await fs[0]?.result();
      await until(() => states() === 'DRRPPPPP', `the third running (${states()})`);
      open(1);
      const b = await fs[1]?.result();
      assert.notEqual(a, b);
      await until(() => states() === 'DDRRPPPP', `the fourth running (${states()})`);
      for (let i = 2; i < 8; i++) open(i);
      const ids = await Promise.all(fs.map((f) => f.result()));
      assert.equal(ids[2], a, 'the third call went to the child that freed first');
      assert.equal(ids[3], b, 'the fourth call went to the child that freed next');
      assert.deepEqual([...new Set(ids)].sort(), [a, b].sort());
    } finally {
      for (let i = 0; i < 8; i++) open(i);
      await Promise.allSettled(fs.map((f) => f.result()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('maxTasksPerChild replaces a child after its quota', async () => {
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await ex.submit(whoAmI).result());
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[2], ids[3]);
    assert.notEqual(ids[0], ids[2]);
  });
});
