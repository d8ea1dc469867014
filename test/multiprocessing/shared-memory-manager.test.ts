/**
 * multiprocessing's SharedMemoryManager (Python's multiprocessing.managers.SharedMemoryManager):
 * blocks and lists it makes, here or in a process it was passed to, are unlinked when it shuts
 * down, when its process exits, and when its process is killed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  ownInThread,
  writeInto,
} from './fixtures/shared-memory-manager-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;
const repo = new URL('../../', import.meta.url).pathname;

const exists = (name: string): boolean => existsSync(`/dev/shm/${name}`);

/** The watcher's side (src/multiprocessing/shared-memory-tracker.cjs), for its records. */
const trackerSide = createRequire(import.meta.url)(
  '../../src/multiprocessing/shared-memory-tracker.cjs',
) as {
  alive(pid: number, start: string | null): boolean;
  startTimeOf(pid: number): string | null;
  pidNamespace(): string | null;
};

interface OwnerRecord {
  ns: string | null;
  pid: number;
  start: string | null;
  watcher: number;
  watcherStart: string | null;
}

/** A manager directory as a process would leave it, tracking one block (a plain file). */
function fakeDir(
  owner: number,
  record: Partial<OwnerRecord> | null,
): { dir: string; block: string } {
  const dir = `/dev/shm/weft-smm-${owner}-${randomBytes(6).toString('hex')}`;
  const block = `wnsm_${randomBytes(4).toString('hex')}`;
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(`/dev/shm/${block}`, 'x');
  writeFileSync(join(dir, block), '');
  if (record !== null)
    writeFileSync(
      join(dir, '.owner'),
      JSON.stringify({ ns: trackerSide.pidNamespace(), ...record }),
    );
  return { dir, block };
}

/** Removes what `fakeDir` made, released or not. */
function removeFake({ dir, block }: { dir: string; block: string }): void {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.closing`, { recursive: true, force: true });
  rmSync(`/dev/shm/${block}`, { force: true });
}

/** The `.owner` record of the manager directory `dir`. */
function recordOf(dir: string): OwnerRecord {
  return JSON.parse(readFileSync(join(dir, '.owner'), 'utf8')) as OwnerRecord;
}

/** The manager directories of process `pid`. */
function dirsOf(pid: number): string[] {
  return readdirSync('/dev/shm')
    .filter((d) => d.startsWith(`weft-smm-${pid}-`))
    .map((d) => join('/dev/shm', d));
}

/** The directories of the managers this process started (in /dev/shm, beside the blocks). */
function managerDirs(): string[] {
  return dirsOf(process.pid);
}

/** The directory of the manager `start()` starts. */
function startIn(start: () => SharedMemoryManager): [SharedMemoryManager, string] {
  const before = new Set(managerDirs());
  const smm = start();
  const dirs = managerDirs().filter((d) => !before.has(d));
  assert.equal(dirs.length, 1, `one new directory: ${dirs}`);
  return [smm, dirs[0] as string];
}

/** The blocks the managers this process started track now (their directories' files). */
function tracked(): string[] {
  return managerDirs().flatMap((d) => {
    try {
      // '.owner' and the like are the manager's records, not blocks.
      return readdirSync(d).filter((n) => !n.startsWith('.'));
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

  test('a daemon thread’s manager, its thread stopped at the process’s exit, goes silently: no “never unlinked”', async () => {
    // The thread gets no exit of its own: the tree's sweep at the root's exit found its blocks
    // first and called them leaked (Python's manager is the process's, shut down at its exit).
    const r = runRoot(
      `Promise.all([
         import('./src/multiprocessing/index.ts'),
         import('./src/threading/index.ts'),
         import('./test/multiprocessing/fixtures/shared-memory-manager-targets.ts'),
       ]).then(async ([m, th, f]) => {
         const out = new m.Queue();
         new th.Thread({ target: f.ownAndHang, args: [out], daemon: true }).start();
         console.log(await out.get());
       });`,
    );
    assert.equal(r.status, 0, r.stderr);
    const names = r.stdout.trim().split(' ');
    assert.equal(names.length, 2, r.stdout);
    await until(() => !names.some(exists), 'the daemon thread’s blocks to go', PATIENCE);
    assert.doesNotMatch(r.stderr, /never unlinked|without shutdown/);
    assert.deepEqual(
      readdirSync('/dev/shm').filter(
        (d) => /^weft-smm-\d+-/.test(d) && !existsSync(join('/dev/shm', d, '.owner')),
      ),
      [],
      'no directory left without its record',
    );
  });

  test('a worker thread’s manager: its blocks carry no tree marker; its watcher’s death is warned of and puts them back', async () => {
    const out = new Queue<string>();
    const cmd = new Queue<string>();
    const before = new Set(managerDirs());
    const t = new Thread({ target: ownInThread, args: [out, cmd] });
    t.start();
    let name = '';
    try {
      const [warned, block] = (await out.get({ timeout: PATIENCE })).split(' | ');
      assert.equal(warned, '');
      const [made, marked] = (block as string).split(' ');
      name = made as string;
      assert.equal(
        marked,
        'false',
        'the manager’s watcher unlinks it: no marker for the root to call it leaked',
      );
      const dir = managerDirs().find((d) => !before.has(d)) as string;
      const { watcher, watcherStart } = recordOf(dir);
      assert.equal(trackerSide.alive(watcher, watcherStart), true);
      process.kill(watcher, 'SIGKILL');
      const deadline = Date.now() + PATIENCE;
      let seen = '';
      while (!seen.startsWith('WEFT_SMM_WATCHER_DIED')) {
        assert.ok(Date.now() < deadline, `no warning of the watcher's death: ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
        await cmd.put('again');
        seen = await out.get({ timeout: PATIENCE });
      }
      assert.equal(
        seen,
        `WEFT_SMM_WATCHER_DIED | ${name} true`,
        'marked again for the tree’s sweep',
      );
    } finally {
      await cmd.put('stop');
      await t.join();
    }
    assert.equal(exists(name), false, 'shutdown() still unlinks it');
  });

  test('its directory is in /dev/shm beside its blocks: an unusable TMPDIR does not matter', () => {
    // It was in os.tmpdir(): a TMPDIR that does not exist threw a raw ENOENT from start().
    const r = runRoot(
      `import('./src/multiprocessing/index.ts').then((m) => {
         const smm = new m.SharedMemoryManager().start();
         const shm = smm.SharedMemory(8);
         console.log(shm.name);
         smm.shutdown();
       });`,
      { env: { TMPDIR: '/nonexistent/weft-tmp' } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wnsm_[0-9a-f]{8}\n$/);
    assert.equal(exists(r.stdout.trim()), false);
    const [smm, dir] = startIn(() => new SharedMemoryManager().start());
    assert.match(dir, /^\/dev\/shm\/weft-smm-\d+-[0-9a-f]{12}$/);
    smm.shutdown();
    assert.equal(existsSync(dir), false);
  });

  test('a directory removed by something else than shutdown() is said so, not “shut down”', async () => {
    const [smm, dir] = startIn(() => new SharedMemoryManager().start());
    const first = smm.SharedMemory(8);
    const q = new Queue<SharedMemoryManager>();
    q.putNowait(smm);
    const there = await q.get();
    rmSync(dir, { recursive: true });
    const e = thrownBy(() => smm.SharedMemory(8));
    assert.ok(e instanceof FileNotFoundError, String(e));
    assert.equal(e.code, 'ERR_WEFT_MANAGER_LOST');
    assert.doesNotMatch(e.message, /is shut down/);
    assert.match(e.message, /was removed, and not by shutdown\(\)/);
    assert.throws(() => smm.ShareableList([1]), { code: 'ERR_WEFT_MANAGER_LOST' });
    // A handle elsewhere cannot tell a shutdown from a removal: it names both.
    const far = thrownBy(() => there.SharedMemory(8));
    assert.ok(far instanceof FileNotFoundError);
    assert.equal(far.code, 'ENOENT');
    assert.match(far.message, /shut down \(or its directory .* was removed\)/);
    smm.shutdown();
    first.unlink();
  });

  test('a watcher that cannot be started fails start() with an OSError; one started gets the environment but NODE_OPTIONS', async () => {
    // Python's start() raises when its server cannot start; weft's said nothing.
    const r = runRoot(
      `import('./src/multiprocessing/index.ts').then((m) => {
         process.execPath = '/nonexistent/weft-node';
         try {
           new m.SharedMemoryManager().start();
           console.log('started');
         } catch (e) {
           console.log(e instanceof m.OSError, e.code, e.errnoName);
         }
         console.log(require('node:fs').readdirSync('/dev/shm').filter((d) => d.startsWith('weft-smm-' + process.pid + '-')).length);
       });`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'true ERR_WEFT_MANAGER_START ENOENT\n0\n', 'nothing left behind');
    const saved = process.env.NODE_OPTIONS;
    process.env.WEFT_SMM_PROBE = 'here';
    process.env.NODE_OPTIONS = '--no-deprecation';
    let started: [SharedMemoryManager, string];
    try {
      started = startIn(() => new SharedMemoryManager().start());
    } finally {
      delete process.env.WEFT_SMM_PROBE;
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
    const [smm, dir] = started;
    try {
      const { watcher } = recordOf(dir);
      // Until its exec, /proc shows the environment this process started with.
      await until(
        () => readFileSync(`/proc/${watcher}/cmdline`, 'utf8').includes('shared-memory-tracker'),
        'the watcher to start',
        PATIENCE,
      );
      // It had an empty environment: a Node that needs LD_LIBRARY_PATH (say) could not start.
      const env = readFileSync(`/proc/${watcher}/environ`, 'utf8').split('\0');
      assert.ok(env.includes('WEFT_SMM_PROBE=here'));
      assert.ok(!env.some((v) => v.startsWith('NODE_OPTIONS=')), 'no loader or preload run in it');
    } finally {
      smm.shutdown();
    }
  });

  test('a process killed with its watcher leaves its blocks to the next manager started, which unlinks them and says so', async () => {
    const code = `import('./src/multiprocessing/index.ts').then((m) => {
      const smm = new m.SharedMemoryManager().start();
      console.log(smm.SharedMemory(8).name, smm.ShareableList([1]).shm.name);
      setInterval(() => {}, 1000);
    });`;
    const root = spawn(process.execPath, ['--import', TS_IMPORT, '-e', code], {
      cwd: repo,
      env: { ...process.env, WEFT_BROKER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: the root and its broker die by one kill below, so that the
      // broker cannot sweep the tree's blocks at the root's death (that path leaks nothing, and
      // would leave this test nothing to check).
      detached: true,
    });
    let stdout = '';
    root.stdout.on('data', (d) => {
      stdout += d;
    });
    root.stderr.resume();
    const closed = new Promise((r) => root.on('close', r));
    let dir = '';
    try {
      await until(() => stdout.includes('\n'), 'the root to make its blocks', PATIENCE);
      dir = dirsOf(root.pid as number)[0] as string;
      const { watcher, watcherStart } = recordOf(dir);
      process.kill(watcher, 'SIGKILL');
      await until(() => !trackerSide.alive(watcher, watcherStart), 'its watcher to die', PATIENCE);
    } finally {
      try {
        process.kill(-(root.pid as number), 'SIGKILL');
      } catch {
        root.kill('SIGKILL');
      }
    }
    await closed;
    const names = stdout.trim().split(' ');
    assert.equal(names.length, 2, stdout);
    assert.deepEqual(names.map(exists), [true, true], 'nobody was left to unlink them');
    const warnings: Array<Error & { code?: string }> = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    // Another test file's manager may sweep it first: then the warning is that process's.
    const there = existsSync(dir);
    try {
      new SharedMemoryManager().start().shutdown();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(names.map(exists), [false, false]);
    assert.equal(existsSync(dir), false);
    if (there) {
      const w = warnings.find((x) => x.code === 'WEFT_SMM_ABANDONED');
      assert.ok(w, 'a warning names what it unlinked');
      assert.match(
        w.message,
        new RegExp(`process ${root.pid} .*2 SharedMemory block\\(s\\).*${names[0]}`),
      );
    }
    // The killed root's slab and markers, as the next root would.
    sweepStaleSlabs();
  });

  test('the sweep releases only what nobody lives to release: a live process or watcher keeps its directory, a reused pid does not, another pid namespace is left alone', () => {
    const ns = trackerSide.pidNamespace();
    const me = process.pid;
    const myStart = trackerSide.startTimeOf(me);
    const gone = spawnSync('true').pid as number;
    const fakes: Array<{ dir: string; block: string }> = [];
    const fake = (owner: number, record: Partial<OwnerRecord> | null) => {
      const made = fakeDir(owner, record === null ? null : { ns, ...record });
      fakes.push(made);
      return made;
    };
    try {
      const owner = fake(me, { pid: me, start: myStart, watcher: gone, watcherStart: 'x' });
      const watched = fake(gone, { pid: gone, start: 'x', watcher: me, watcherStart: myStart });
      // This pid with another start time: a process gone whose pid this one got since.
      const reused = fake(me, { pid: me, start: `${myStart}0`, watcher: gone, watcherStart: 'x' });
      const elsewhere = fake(gone, {
        ns: 'pid:[1]',
        pid: gone,
        start: 'x',
        watcher: gone,
        watcherStart: 'x',
      });
      const unrecorded = fake(gone, null);
      new SharedMemoryManager().start().shutdown();
      const kept = (f: { dir: string; block: string }) => existsSync(f.dir) && exists(f.block);
      assert.deepEqual([owner, watched, reused, elsewhere, unrecorded].map(kept), [
        true,
        true,
        false,
        true,
        true,
      ]);
    } finally {
      fakes.forEach(removeFake);
    }
  });

  test('a process /proc cannot be read about (EMFILE, EACCES) is not taken for ended: the sweep leaves its manager alone', () => {
    // Any failed read of /proc/PID/stat counted as an ended process: a sweep run short of
    // descriptors released the directory of a live manager, and unlinked its blocks.
    const req = createRequire(import.meta.url);
    const path = req.resolve('../../src/multiprocessing/shared-memory-tracker.cjs');
    const fs = req('node:fs') as { readFileSync: (...a: unknown[]) => unknown };
    const read = fs.readFileSync;
    const cached = req.cache[path];
    const me = process.pid;
    const myStart = trackerSide.startTimeOf(me);
    const live = fakeDir(me, { pid: me, start: myStart, watcher: me, watcherStart: myStart });
    try {
      // Only this process's entry fails: other programs' managers are judged as ever.
      fs.readFileSync = (p: unknown, ...rest: unknown[]) => {
        if (p === `/proc/${me}/stat`)
          throw Object.assign(new Error(`EMFILE: too many open files, open '${p}'`), {
            code: 'EMFILE',
          });
        return read(p, ...rest);
      };
      delete req.cache[path];
      // A copy of the tracker holding the failing read (it takes fs's functions as it loads).
      const starved = req(path) as typeof trackerSide & { sweep(): unknown[] };
      fs.readFileSync = read;
      assert.equal(starved.alive(me, myStart), true, 'this process lives');
      starved.sweep();
      assert.equal(existsSync(live.dir), true, 'its directory stays');
      assert.equal(exists(live.block), true, 'its block stays');
    } finally {
      fs.readFileSync = read;
      if (cached) req.cache[path] = cached;
      removeFake(live);
    }
  });

  test('in a pid namespace whose /proc is another’s, a pid is not judged by a stranger’s /proc entry', (t) => {
    // `unshare --pid` without a /proc of its own: /proc/<pid> there is another process's, whose
    // start time was taken for this one's (this live process then counted as ended).
    const tracker = new URL('../../src/multiprocessing/shared-memory-tracker.cjs', import.meta.url)
      .pathname;
    const code = `const t = require(${JSON.stringify(tracker)});
      const s = require('node:fs').readFileSync('/proc/self/stat', 'utf8');
      const own = s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
      console.log(JSON.stringify({ start: t.startTimeOf(process.pid), own, alive: t.alive(process.pid, own) }));`;
    const r = spawnSync(
      'unshare',
      ['--user', '--map-root-user', '--pid', '--fork', process.execPath, '-e', code],
      { encoding: 'utf8', timeout: PATIENCE },
    );
    if (r.status !== 0) {
      t.skip(`no unprivileged pid namespace here: ${r.error?.message ?? r.stderr}`);
      return;
    }
    const seen = JSON.parse(r.stdout) as { start: string | null; own: string; alive: boolean };
    assert.ok(seen.start === null || seen.start === seen.own, `another's start time: ${r.stdout}`);
    assert.equal(seen.alive, true, `this live process counted as ended: ${r.stdout}`);
  });
});
