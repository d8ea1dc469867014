/**
 * Bug bash of multiprocessing's names and identities (checked against CPython 3.11, start methods
 * 'fork' and 'spawn' alike): one counter numbers a process's Processes and Pool workers
 * (`Process-1`, `SpawnPoolWorker-2`, `SpawnPoolWorker-3`, `Process-4`), a child's default name
 * comes from its identity and not from its parent's name, and `activeChildren()` lists a Pool's
 * workers. And what a child ended by SIGINT reports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  activeChildren,
  currentProcess,
  Pool,
  Process,
  Queue,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import {
  describeSelf,
  describeSelfAndChild,
  describeSelfAndThread,
  readyThenExitOnSigint,
  readyThenWait,
} from './fixtures/bb7-targets.js';

checkLeaks({ graceMs: 3000 });

/** The number a new Process takes now (it takes it, as a Process made and never started does). */
function nextNumber(): number {
  const ident = new Process({})._identity;
  assert.equal(ident.length, 1);
  return ident[0] as number;
}

type Self = { name: string; ident: number[]; parentName: string | null; childName: string };

describe('names and identities, as CPython numbers them', () => {
  test('MainProcess has the empty identity; every Process takes the next number, named or not', () => {
    assert.deepEqual(currentProcess()._identity, []);
    const n = nextNumber();
    // Python: Process(name='w') still takes identity (n+1,); the next default one is Process-(n+2).
    const named = new Process({ name: 'w' });
    assert.equal(named.name, 'w');
    assert.deepEqual(named._identity, [n + 1]);
    const p = new Process({});
    assert.equal(p.name, `Process-${n + 2}`);
    assert.deepEqual(p._identity, [n + 2]);
    // The copy given out is not the Process's own.
    p._identity.push(9);
    assert.deepEqual(p._identity, [n + 2]);
  });

  test("a child's children are named from its identity, not from its name", async () => {
    const out = new Queue<unknown>();
    const p = new Process({ target: describeSelfAndChild, args: [out], name: 'renamed' });
    const n = p._identity[0] as number;
    p.start();
    const child = (await out.get({ timeout: 60_000 })) as Self;
    const grandchild = (await out.get({ timeout: 60_000 })) as Self;
    const started = (await out.get({ timeout: 60_000 })) as {
      startedChild: string;
      ident: number[];
    };
    await p.join({ timeout: 60_000 });
    assert.equal(p.exitcode, 0);
    out.close();
    // Python: under a Process named 'renamed' with identity (n,), the first child made there is
    // 'Process-n:1' (weft said 'renamed:1').
    assert.deepEqual(child, {
      name: 'renamed',
      ident: [n],
      parentName: 'MainProcess',
      childName: `Process-${n}:1`,
    });
    assert.deepEqual(started, { startedChild: `Process-${n}:2`, ident: [n, 2] });
    assert.deepEqual(grandchild, {
      name: `Process-${n}:2`,
      ident: [n, 2],
      parentName: 'renamed',
      childName: `Process-${n}:2:1`,
    });
  });

  test('a thread of a child is that child: same name, identity, parent and daemon flag, and one counter', async () => {
    // It answered MainProcess (parent null, daemon false) in every worker thread, so a Process
    // made there took a root's name (Process-1) and was no daemon under a daemon child.
    const out = new Queue<unknown>();
    const p = new Process({ target: describeSelfAndThread, args: [out], daemon: true });
    const n = p._identity[0] as number;
    p.start();
    const main = (await out.get({ timeout: 60_000 })) as Self;
    const thread = (await out.get({ timeout: 60_000 })) as Self;
    await p.join({ timeout: 60_000 });
    assert.equal(p.exitcode, 0);
    out.close();
    assert.deepEqual(main, {
      name: `Process-${n}`,
      ident: [n],
      parentName: 'MainProcess',
      childName: `Process-${n}:1`,
    });
    // Python's current_process() in a thread of Process-n: Process-n; its next child Process-n:2.
    assert.deepEqual(thread, {
      name: `Process-${n}`,
      ident: [n],
      parentName: 'MainProcess',
      childName: `Process-${n}:2`,
    });
  });

  test("a thread of the root is MainProcess, and numbers its Processes with the main thread's counter", async () => {
    const n = nextNumber();
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const inThread = (await ex.submit(describeSelf).result()) as Self;
      assert.deepEqual(inThread, {
        name: 'MainProcess',
        ident: [],
        parentName: null,
        childName: `Process-${n + 1}`,
      });
    } finally {
      ex.shutdown();
    }
    assert.equal(nextNumber(), n + 2);
  });

  test("a Pool's workers are SpawnPoolWorker-N, numbered with the Processes, and listed by activeChildren()", async () => {
    const n = nextNumber();
    const pool = new Pool(2);
    try {
      const seen = (await pool.map(describeSelf, [1, 2, 3, 4, 5, 6], 1)) as Self[];
      const pids = pool.pids().sort();
      const workers = activeChildren()
        .filter((c) => c.name.startsWith('SpawnPoolWorker-'))
        .sort((a, b) => (a.pid as number) - (b.pid as number));
      // Python lists a Pool's workers among active_children(), each a daemon Process.
      assert.deepEqual(
        workers.map((w) => w.pid),
        pids,
      );
      const numbers = workers.map((w) => (w._identity as number[])[0] as number).sort();
      assert.deepEqual(
        numbers,
        Array.from({ length: pids.length }, (_, i) => n + 1 + i),
        'the workers take the numbers after the last Process',
      );
      for (const w of workers) {
        assert.equal(w.name, `SpawnPoolWorker-${w._identity[0]}`);
        assert.equal(w.daemon, true);
        assert.equal(w.isAlive(), true);
        assert.equal(w.exitcode, null);
      }
      // Each worker knows itself by the same name and identity, and names its own children
      // from its identity ('Process-3:1' in a SpawnPoolWorker-3, as Python's).
      for (const s of seen) {
        const k = s.ident[0] as number;
        assert.equal(s.name, `SpawnPoolWorker-${k}`);
        assert.ok(numbers.includes(k), `${s.name} is one of the listed workers`);
        assert.equal(s.parentName, 'MainProcess');
        assert.match(s.childName, new RegExp(`^Process-${k}:\\d+$`));
      }
      // The next Process comes after the workers.
      assert.equal(nextNumber(), n + 1 + pids.length);
    } finally {
      pool.terminate();
      await pool.join();
    }
    assert.deepEqual(
      activeChildren().filter((c) => c.name.startsWith('SpawnPoolWorker-')),
      [],
      'a terminated pool leaves none listed',
    );
  });

  test("a listed pool worker's terminate() ends it and breaks the pool: its calls fail, never hang", async () => {
    const pool = new Pool(1);
    try {
      assert.equal(
        ((await pool.apply(describeSelf, [0])) as Self).name.startsWith('SpawnPoolWorker-'),
        true,
      );
      const [w] = activeChildren().filter((c) => c.name.startsWith('SpawnPoolWorker-'));
      assert.ok(w);
      w.terminate();
      await w.join({ timeout: 60_000 });
      assert.equal(w.exitcode, -15);
      assert.equal(w.isAlive(), false);
      await assert.rejects(pool.apply(describeSelf, [1]), { code: 'ERR_WEFT_BROKEN_PROCESS_POOL' });
    } finally {
      pool.terminate();
      await pool.join();
    }
  });
});

describe('a child ended by SIGINT', () => {
  test('exitcode is -2: a weft child is a Node process, which SIGINT ends unless it listens', async () => {
    // Python's child raises KeyboardInterrupt, prints it and exits 1. Node has no exception to
    // raise into running code: SIGINT ends the child by that signal, as it ends any Node process
    // that does not listen for it (and as a Python child with SIGINT at SIG_DFL ends).
    const out = new Queue<string>();
    const p = new Process({ target: readyThenWait, args: [out] });
    p.start();
    assert.equal(await out.get({ timeout: 60_000 }), 'ready');
    process.kill(p.pid as number, 'SIGINT');
    await p.join({ timeout: 60_000 });
    assert.equal(p.exitcode, -2);
    out.close();
  });

  test("a target that listens for SIGINT decides: here Python's exitcode 1", async () => {
    const out = new Queue<string>();
    const p = new Process({ target: readyThenExitOnSigint, args: [out] });
    p.start();
    assert.equal(await out.get({ timeout: 60_000 }), 'ready');
    process.kill(p.pid as number, 'SIGINT');
    await p.join({ timeout: 60_000 });
    assert.equal(p.exitcode, 1);
    out.close();
  });
});
