/**
 * Daemonic processes are not allowed to have children, as in Python (checked with 3.11.2, `fork`
 * and `spawn`): in a daemon Process, a Pool's worker, and any Thread of either, Python's
 * `Process.start()` raises AssertionError "daemonic processes are not allowed to have children";
 * so do `Pool()` (it starts its workers), every `submit()` of a ProcessPoolExecutor (its
 * constructor works; each submit tries to start a worker, and `map()` fails at the call) and
 * `Manager()`. A ProcessPoolExecutor's worker is no daemon in 3.11: all of it works there.
 * weft let a daemon start every one of them. Now the start throws a `RuntimeError`
 * (`ERR_WEFT_DAEMON_CHILDREN`) at the same point, synchronously; the Process stays unstarted and
 * throws again if started again. (weft's `Manager()` starts no process: it works everywhere.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { Pool, Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  type Outcome,
  type Report,
  reportStarts,
  reportStartsFromThread,
  tryStarts,
} from './fixtures/daemon-children-targets.js';

checkLeaks({ graceMs: 3000 });

const CODE = 'ERR_WEFT_DAEMON_CHILDREN';

function refused(o: Outcome, what: string, name: string): void {
  assert.notEqual(o, 'ok', `${what}: should be refused in the daemon ${name}`);
  const e = o as Exclude<Outcome, 'ok'>;
  assert.equal(e.kind, 'RuntimeError', `${what}: ${e.message}`);
  assert.equal(e.code, CODE, `${what}: ${e.message}`);
  assert.match(e.message, /daemonic processes are not allowed to have children/);
  // What was wrong, where, and what to do.
  assert.ok(e.message.includes(name), `${what}: the message names ${name}: ${e.message}`);
  assert.match(e.message, /daemon: false/);
}

function allRefused(r: Report, name: RegExp): void {
  assert.match(r.name, name);
  assert.equal(r.daemon, true);
  refused(r.process, 'Process.start()', r.name);
  assert.equal(r.processDaemon, true, "a Process's default daemon is the daemon's");
  assert.equal(r.processPid, null, 'the refused Process stays unstarted');
  refused(r.again, 'Process.start() again', r.name);
  refused(r.nonDaemon, 'Process.start() with daemon: false', r.name);
  refused(r.pool, 'new Pool(1)', r.name);
  assert.equal(r.executor, 'ok', "ProcessPoolExecutor's constructor starts nothing, as Python's");
  refused(r.submit, 'ProcessPoolExecutor.submit()', r.name);
  refused(r.submitAgain, 'a second submit()', r.name);
  refused(r.map, 'ProcessPoolExecutor.map()', r.name);
  assert.equal(r.mapAtCall, true, 'map() throws at the call');
  refused(r.chunked, 'ProcessPoolExecutor.map() with chunksize 2', r.name);
  assert.equal(r.shutdown, 'ok');
  assert.equal(r.children, 0);
}

async function fromDaemonChild(target: typeof reportStarts): Promise<Report> {
  const q = new Queue<unknown>();
  const p = new Process({ target, args: [q], daemon: true });
  p.start();
  try {
    return (await q.get({ timeout: 90_000 })) as Report;
  } finally {
    await p.join({ timeout: 30_000 });
    q.close();
    assert.equal(p.exitcode, 0);
  }
}

describe('daemonic processes are not allowed to have children', () => {
  test('a daemon Process: Process.start(), Pool(), ProcessPoolExecutor calls are refused', async () => {
    allRefused(await fromDaemonChild(reportStarts), /^Process-\d+$/);
  });

  test('a Thread of a daemon Process: refused the same', async () => {
    allRefused(await fromDaemonChild(reportStartsFromThread), /^Process-\d+$/);
  });

  test("a Pool's worker: refused the same", async () => {
    const pool = new Pool(1);
    try {
      allRefused((await pool.apply(tryStarts)) as Report, /^SpawnPoolWorker-\d+$/);
    } finally {
      pool.close();
      await pool.join();
    }
  });

  test("a ProcessPoolExecutor's worker is no daemon: everything starts there, as in Python", async () => {
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const r = await ex.submit(tryStarts).result();
    assert.match(r.name, /^ProcessPoolExecutor-\d+_\d+$/);
    assert.equal(r.daemon, false);
    for (const k of ['process', 'nonDaemon', 'pool', 'executor', 'submit', 'submitAgain'] as const)
      assert.equal(r[k], 'ok', `${k}: ${JSON.stringify(r[k])}`);
    assert.equal(r.map, 'ok');
    assert.equal(r.shutdown, 'ok');
    assert.equal(r.processDaemon, false);
    assert.equal(typeof r.processPid, 'number');
  });

  test('a non-daemon Process may start them all (the message is for daemons only)', async () => {
    const q = new Queue<unknown>();
    const p = new Process({ target: reportStarts, args: [q], daemon: false });
    p.start();
    const r = (await q.get({ timeout: 90_000 })) as Report;
    await p.join();
    q.close();
    assert.equal(r.daemon, false);
    for (const k of ['process', 'nonDaemon', 'pool', 'submit', 'map'] as const)
      assert.equal(r[k], 'ok', `${k}: ${JSON.stringify(r[k])}`);
  });
});
