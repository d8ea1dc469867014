/**
 * multiprocessing's SharedMemoryManager (Python's multiprocessing.managers.SharedMemoryManager):
 * blocks and lists it makes, here or in a process it was passed to, are unlinked when it shuts
 * down, when its process exits, and when its process is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ENV_BROKER } from '../../src/internal/process/broker-client.js';
import { blockMarkerOf, sweepStaleSlabs } from '../../src/internal/process/lock-slab.js';
import {
  AttributeError,
  Event,
  FileNotFoundError,
  Process,
  ProcessError,
  Queue,
  ShareableList,
  SharedMemory,
  SharedMemoryManager,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';
import { shmExpected } from '../support/slab.js';
import { TS_IMPORT } from '../support/ts.js';
import { until } from '../support/until.js';
import {
  makeAfter,
  makeThrough,
  makeUntilShut,
  ownAndHang,
  ownAndReturn,
  writeInto,
} from './fixtures/shared-memory-manager-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;
const repo = new URL('../../', import.meta.url).pathname;

const exists = (name: string): boolean => existsSync(`/dev/shm/${name}`);

/** The blocks the managers this process started track now (their directories' files). */
function tracked(): string[] {
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith(`weft-smm-${process.pid}-`));
  return dirs.flatMap((d) => {
    try {
      return readdirSync(join(tmpdir(), d));
    } catch {
      return [];
    }
  });
}

/**
 * The blocks made in this process tree and still linked: those whose tree marker
 * (src/internal/process/lock-slab.ts) is there. Other programs' blocks are left out.
 */
function blocksOfThisTree(): string[] {
  const broker = process.env[ENV_BROKER];
  if (!broker) return [];
  return readdirSync('/dev/shm').filter(
    (n) => n.startsWith('wnsm_') && existsSync(blockMarkerOf(broker, `/dev/shm/${n}`)),
  );
}

/** What `f` throws. */
function thrownBy(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('did not throw');
}

describe('SharedMemoryManager', { skip: !shmExpected && 'no shm addon or /dev/shm' }, () => {
  test('shutdown unlinks every block and list it made; their handles still read', () => {
    const smm = new SharedMemoryManager();
    assert.equal(smm.start(), smm, 'start() returns the manager, for `using`');
    const shm = smm.SharedMemory(16);
    const sl = smm.ShareableList([1, 'two', 3.5]);
    const empty = smm.ShareableList();
    assert.match(shm.name, /^wnsm_[0-9a-f]{8}$/);
    assert.equal(shm.size, 16);
    assert.ok(shm instanceof SharedMemory && sl instanceof ShareableList);
    assert.deepEqual([...sl], [1, 'two', 3.5]);
    assert.equal(empty.length, 0, 'no sequence: an empty list, as Python’s ShareableList(None)');
    shm.buf[0] = 7;
    const names = [shm.name, sl.shm.name, empty.shm.name];
    assert.deepEqual(names.map(exists), [true, true, true]);
    assert.deepEqual(tracked().sort(), [...names].sort());
    smm.shutdown();
    assert.deepEqual(names.map(exists), [false, false, false], 'unlinked at shutdown');
    assert.deepEqual(tracked(), [], 'its directory is gone');
    // Unlinked, not unmapped: as in Python, a handle made before goes on reading its pages.
    assert.equal(shm.buf[0], 7);
    assert.equal(sl.get(1), 'two');
    smm.shutdown();
    assert.throws(() => shm.unlink(), FileNotFoundError, 'nothing left to unlink');
  });

  test('Python’s errors: before start, start twice, after shutdown', () => {
    const smm = new SharedMemoryManager();
    const early = thrownBy(() => smm.SharedMemory(8));
    assert.ok(early instanceof RangeError, 'Python’s ValueError');
    assert.equal(early.code, 'ERR_WEFT_MANAGER_NOT_STARTED');
    assert.throws(() => smm.ShareableList([1]), RangeError);
    smm.shutdown(); // nothing to shut before start (Python's has no shutdown yet)
    smm.start();
    assert.throws(
      () => smm.start(),
      (e: unknown) =>
        e instanceof ProcessError && (e as Error).message === 'Already started server',
    );
    smm.shutdown();
    for (const make of [() => smm.SharedMemory(8), () => smm.ShareableList([1])]) {
      const e = thrownBy(make);
      assert.ok(e instanceof FileNotFoundError, `Python's FileNotFoundError: ${e}`);
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /shut down/);
    }
    assert.throws(
      () => smm.start(),
      (e: unknown) => e instanceof ProcessError && (e as Error).message === 'Manager has shut down',
    );
    assert.deepEqual(tracked(), []);
  });

  test('bad sizes and items are the errors of SharedMemory and ShareableList, and track nothing', () => {
    using smm = new SharedMemoryManager().start();
    assert.throws(() => smm.SharedMemory(0), RangeError);
    assert.throws(() => smm.SharedMemory(-1), RangeError);
    assert.throws(() => smm.SharedMemory(1.5), RangeError);
    assert.throws(() => smm.SharedMemory(2 ** 31), RangeError);
    assert.throws(() => smm.SharedMemory('8' as never), TypeError);
    assert.throws(() => (smm.SharedMemory as (size?: number) => unknown)(), TypeError);
    assert.throws(() => smm.ShareableList(5 as never), TypeError);
    assert.throws(() => smm.ShareableList([{}] as never), TypeError);
    assert.deepEqual(tracked(), [], 'a refused block leaves no file behind');
    assert.throws(
      () => new (SharedMemoryManager as new (a: unknown) => unknown)('addr'),
      TypeError,
    );
    assert.throws(() => (smm.start as (f: unknown) => unknown)(() => {}), TypeError);
  });

  test('`using` and `await using` shut it down when the block ends, thrown out of or not', async () => {
    let names: string[] = [];
    {
      using smm = new SharedMemoryManager().start();
      names = [smm.SharedMemory(8).name];
      assert.equal(exists(names[0] as string), true);
    }
    assert.equal(exists(names[0] as string), false);
    await assert.rejects(async () => {
      await using smm = new SharedMemoryManager().start();
      names = [smm.ShareableList(['x']).shm.name];
      throw new Error('boom');
    }, /boom/);
    assert.equal(exists(names[0] as string), false);
    assert.deepEqual(tracked(), []);
  });

  test('a block unlinked by its user before shutdown does not stop the others going', () => {
    // Python's server stops at that block's FileNotFoundError and leaves the rest.
    const smm = new SharedMemoryManager().start();
    const blocks = [smm.SharedMemory(8), smm.SharedMemory(8), smm.SharedMemory(8)];
    (blocks[1] as SharedMemory).unlink();
    smm.shutdown();
    assert.deepEqual(
      blocks.map((b) => exists(b.name)),
      [false, false, false],
    );
  });

  test('a child that receives the manager makes blocks it tracks, and cannot shut it down', async () => {
    const smm = new SharedMemoryManager().start();
    const out = new Queue<string>();
    const p = new Process({ target: makeThrough, args: [smm, out] });
    p.start();
    let names: string[];
    try {
      const [made, refused] = (await out.get({ timeout: PATIENCE })).split(' | ');
      assert.equal(refused, 'true AttributeError ProcessError');
      names = (made as string).split(' ');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
    // The child has ended; its blocks are the manager's, not gone with it.
    const shm = new SharedMemory({ name: names[0] as string });
    const sl = new ShareableList(null, { name: names[1] as string });
    assert.equal(shm.buf[0], 42);
    assert.deepEqual([...sl], ['from child', 7]);
    assert.deepEqual(tracked().sort(), [...names].sort());
    smm.shutdown();
    assert.deepEqual(names.map(exists), [false, false]);
  });

  test('a thread that receives the manager makes blocks it tracks too', async () => {
    const smm = new SharedMemoryManager().start();
    const out = new Queue<string>();
    const t = new Thread({ target: makeThrough, args: [smm, out] });
    t.start();
    const [made, refused] = (await out.get({ timeout: PATIENCE })).split(' | ');
    await t.join();
    assert.equal(refused, 'true AttributeError ProcessError');
    const names = (made as string).split(' ');
    assert.deepEqual(names.map(exists), [true, true]);
    smm.shutdown();
    assert.deepEqual(names.map(exists), [false, false]);
  });

  test('a manager read back from a queue is a handle that makes tracked blocks, not one that shuts down', async () => {
    using smm = new SharedMemoryManager().start();
    const q = new Queue<SharedMemoryManager>();
    q.putNowait(smm);
    const there = await q.get();
    assert.notEqual(there, smm);
    const shm = there.SharedMemory(8);
    assert.deepEqual(tracked(), [shm.name]);
    assert.throws(() => there.shutdown(), AttributeError);
    assert.throws(() => there[Symbol.dispose](), AttributeError);
    smm.shutdown();
    assert.equal(exists(shm.name), false);
    assert.throws(() => there.SharedMemory(8), FileNotFoundError);
  });

  test('blocks the manager made cross to a child as themselves: attached by name', async () => {
    using smm = new SharedMemoryManager().start();
    const shm = smm.SharedMemory(4);
    shm.buf[0] = 5;
    const sl = smm.ShareableList(['parent', 'xxxxx']);
    const out = new Queue<string>();
    const p = new Process({ target: writeInto, args: [shm, sl, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), '4 5 parent');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(shm.buf[1], 9);
    assert.equal(sl.get(1), 'child');
  });

  test('a child holding the manager after its shutdown gets FileNotFoundError', async () => {
    const smm = new SharedMemoryManager().start();
    const go = new Event();
    const out = new Queue<string>();
    const p = new Process({ target: makeAfter, args: [smm, go, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), 'ready');
      smm.shutdown();
      go.set();
      assert.equal(await out.get({ timeout: PATIENCE }), 'FileNotFoundError ENOENT');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
  });

  test('a shutdown while a child makes blocks leaves none of them behind', async () => {
    const smm = new SharedMemoryManager().start();
    // Bounded: the child's puts wait for this side's gets, so that it is still making blocks
    // when the shutdown comes, however slow this side is.
    const out = new Queue<string>(2);
    const p = new Process({ target: makeUntilShut, args: [smm, 1000, out] });
    p.start();
    const made: string[] = [];
    let end = '';
    try {
      while (made.length < 5) made.push(await out.get({ timeout: PATIENCE }));
      smm.shutdown();
      for (;;) {
        const m = await out.get({ timeout: PATIENCE });
        if (m.startsWith('!')) {
          end = m;
          break;
        }
        made.push(m);
      }
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(end, '!FileNotFoundError');
    assert.deepEqual(
      made.filter(exists),
      [],
      'every block made before the refusal was unlinked by the shutdown',
    );
    assert.deepEqual(tracked(), []);
  });

  test('a shutdown after a block is recorded and before it is made leaves no block: its maker unlinks it', () => {
    // ShareableList reads its sequence after the block's file is written and before the block
    // is made: a generator that shuts the manager down there puts the shutdown in that window
    // every time. The release finds the file but no block yet; only the maker's confirm step
    // can see that it lost and unlink the block it then makes.
    const smm = new SharedMemoryManager().start();
    const before = new Set(blocksOfThisTree());
    function* items(): Generator<number> {
      yield 1;
      smm.shutdown();
      yield 2;
    }
    assert.throws(() => smm.ShareableList(items()), FileNotFoundError);
    assert.deepEqual(
      blocksOfThisTree().filter((n) => !before.has(n)),
      [],
      'the block made after the shutdown was unlinked',
    );
    assert.deepEqual(tracked(), []);
  });

  test('an unstarted manager cannot be passed to a child', () => {
    const out = new Queue<string>();
    const p = new Process({ target: makeThrough, args: [new SharedMemoryManager(), out] });
    const e = thrownBy(() => p.start()) as Error & { code?: string; cause?: { code?: string } };
    assert.ok(e instanceof TypeError);
    assert.equal(e.code ?? e.cause?.code, 'ERR_WEFT_NOT_SENDABLE');
  });

  test('killed without shutdown, its process leaves no block behind (its watcher unlinks them)', async () => {
    // Python's server outlives a killed owner and keeps the blocks for as long as it lives.
    const out = new Queue<string>();
    const p = new Process({ target: ownAndHang, args: [out] });
    p.start();
    let names: string[];
    try {
      names = (await out.get({ timeout: PATIENCE })).split(' ');
      assert.deepEqual(names.map(exists), [true, true]);
    } finally {
      p.kill();
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, -9);
    await until(() => !names.some(exists), 'the killed manager’s blocks to go', PATIENCE);
  });

  test('a thread that started a manager and ends without shutdown leaves no block behind', async () => {
    const out = new Queue<string>();
    const t = new Thread({ target: ownAndReturn, args: [out] });
    t.start();
    const name = await out.get({ timeout: PATIENCE });
    await t.join();
    // The thread's exit shuts it down (its watcher would too, a moment later, with a warning).
    await until(() => !exists(name), 'the thread’s manager’s block to go', PATIENCE);
  });

  test('a root killed with its broker leaves no block behind either, and says so', async () => {
    const code = `import('./src/multiprocessing/index.ts').then((m) => {
      const smm = new m.SharedMemoryManager().start();
      console.log(smm.SharedMemory(8).name, smm.ShareableList([1]).shm.name);
      setInterval(() => {}, 1000);
    });`;
    const root = spawn(process.execPath, ['--import', TS_IMPORT, '-e', code], {
      cwd: repo,
      env: { ...process.env, WEFT_BROKER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    root.stdout.on('data', (d) => {
      stdout += d;
    });
    root.stderr.on('data', (d) => {
      stderr += d;
    });
    // The watcher holds the root's stderr: it closes once the watcher is done too.
    const stderrDone = new Promise((r) => root.stderr.on('close', r));
    try {
      await until(() => stdout.includes('\n'), 'the root to make its blocks', PATIENCE);
    } finally {
      root.kill('SIGKILL');
    }
    await stderrDone;
    const names = stdout.trim().split(' ');
    assert.equal(names.length, 2, stdout);
    assert.deepEqual(names.map(exists), [false, false]);
    assert.match(
      stderr,
      /ended without shutdown\(\): 2 SharedMemory block\(s\) it tracked unlinked/,
    );
    // The killed root's slab and markers, as the next root would.
    sweepStaleSlabs();
  });

  test('a program that ends without shutdown shuts it down at exit, silently', () => {
    for (const end of ['', 'process.exit(3);']) {
      const r = runRoot(
        `import('./src/multiprocessing/index.ts').then((m) => {
           const smm = new m.SharedMemoryManager().start();
           console.log(smm.SharedMemory(8).name, smm.ShareableList(['a']).shm.name);
           ${end}
         });`,
      );
      assert.equal(r.status, end === '' ? 0 : 3, r.stderr);
      const names = r.stdout.trim().split(' ');
      assert.equal(names.length, 2);
      assert.deepEqual(names.map(exists), [false, false]);
      assert.doesNotMatch(r.stderr, /never unlinked|without shutdown/, 'no leak to report');
    }
  });
});
