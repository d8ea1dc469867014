/**
 * ProcessPoolExecutor: the executor suite (executor-suite.ts) and the tests of process pools
 * alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokenProcessPool, ProcessPoolExecutor } from '../../src/futures/index.js';
import { workerIdentity } from '../multiprocessing/fixtures/targets.js';
import { checkLeaks } from '../support/leaks.js';
import { executorSuite } from './executor-suite.js';
import { sleepThen, whoAmI } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

executorSuite({
  name: 'ProcessPoolExecutor',
  make: (o = {}) => new ProcessPoolExecutor(o),
  Broken: BrokenProcessPool,
});

describe('ProcessPoolExecutor only', () => {
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
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const me = await ex.submit(workerIdentity).result();
    assert.equal(me.guard, false);
    assert.match(me.name, /^ProcessPoolExecutor-\d+_\d+$/);
    assert.equal(me.parentPid, process.pid);
    assert.equal(me.parentName, 'MainProcess');
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
