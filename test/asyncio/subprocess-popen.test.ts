/**
 * Popen's keywords of createSubprocessExec/createSubprocessShell (src/asyncio/subprocess-popen.ts):
 * `executable`, `startNewSession`, `processGroup`, `passFds`, `closeFds`, `umask`, `user`,
 * `group`, `extraGroups` — through the spawn addon and through Node's spawn, each case.
 *
 * Each outcome was first seen with CPython 3.11.2 (/usr/bin/python3, asyncio's
 * create_subprocess_exec/_shell with the same child); the Python outcome is in the comment.
 * What Node's spawn cannot do (a process group, a umask, extra groups) is a RuntimeError there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  createSubprocessExec,
  createSubprocessShell,
  KeyError,
  OSError,
  PermissionError,
  PIPE,
  RuntimeError,
  run,
  STDOUT,
  type SubprocessOptions,
} from '../../src/asyncio/index.js';
import { _allowNativeSpawn } from '../../src/asyncio/subprocess.js';
import { nativeSpawnAvailable } from '../../src/asyncio/subprocess-native.js';
import { checkPopen, type Popen, resolvePopen } from '../../src/asyncio/subprocess-popen.js';
import { KeyError as MpKeyError } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks({ graceMs: 3000 });

const ROOT = new URL('../../', import.meta.url).pathname;

/** What a spawn gave: its output (stdout and stderr) and status, or the class, errno and
 * filename of its error. */
async function outcome(
  program: string,
  args: string[],
  options: SubprocessOptions = {},
): Promise<string> {
  try {
    const p = await createSubprocessExec(program, ...args, {
      stdout: PIPE,
      stderr: STDOUT,
      ...options,
    });
    const [out] = await p.communicate();
    return `${out?.toString().trim()} (exit ${p.returncode})`;
  } catch (e) {
    const err = e as { name: string; errnoName?: string; filename?: string };
    return `${err.name} ${err.errnoName} ${err.filename}`;
  }
}

/**
 * Each `[options, class]`: `createSubprocessExec('true', options)` rejects with that class, its
 * message naming the option (the first key).
 */
async function rejectsBadOptions(
  cases: readonly (readonly [options: object, cls: new (...args: never[]) => Error])[],
): Promise<void> {
  for (const [options, cls] of cases) {
    await assert.rejects(
      createSubprocessExec('true', options as never),
      (x) =>
        x instanceof cls &&
        new RegExp(`option ${Object.keys(options)[0]}`).test((x as Error).message),
      JSON.stringify(options),
    );
  }
}

/** The error `call` rejects with. */
async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (e) {
    return e as Error;
  }
  assert.fail('it did not fail');
}

/** The shell's pid, process group and session, from its /proc stat. */
const IDS = 'read pid comm state ppid pgrp sid rest < /proc/$$/stat; echo $pid $pgrp $sid';

/** This process's process group and session. */
function ownIds(): [pgrp: number, sid: number] {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[2]), Number(f[3])];
}

/** A descriptor number that is not open here. */
function closedFd(): number {
  for (let fd = 4000; ; fd++) {
    try {
      fstatSync(fd);
    } catch {
      return fd;
    }
  }
}

for (const viaNode of [false, true]) {
  // With WEFT_NO_NATIVE=1 (or no addon) both rounds go through Node's spawn.
  const addon = !viaNode && nativeSpawnAvailable();
  const where = addon ? 'the spawn addon' : "Node's spawn";

  describe(`Popen's keywords through ${where}${viaNode ? '' : ' (where there is one)'}`, () => {
    let was = true;
    let dir = '';
    before(() => {
      was = _allowNativeSpawn(!viaNode);
      dir = mkdtempSync(join(tmpdir(), 'weft-popen-'));
    });
    after(() => {
      _allowNativeSpawn(was);
      rmSync(dir, { recursive: true, force: true });
    });

    /** Node's spawn cannot: the RuntimeError naming the option. */
    const unsupported = (name: string) => (e: unknown) =>
      e instanceof RuntimeError &&
      (e as RuntimeError).code === 'ERR_WEFT_SUBPROCESS_UNSUPPORTED' &&
      (e as Error).message.includes(`option ${name} needs weft's spawn addon`);

    test('executable runs in place of the program, which stays argv[0]; for a shell it replaces /bin/sh', async () => {
      // Python: exec('foo', '-c', 'echo $0', executable='sh') → b'foo\n'; shell('echo $0',
      // executable='/bin/bash') → b'/bin/bash\n' (bash itself); a missing executable →
      // FileNotFoundError naming it; executable='' → PermissionError ''; executable=3 → TypeError.
      await run(async () => {
        assert.equal(await outcome('foo', ['-c', 'echo $0'], { executable: 'sh' }), 'foo (exit 0)');
        assert.equal(
          await outcome('foo', ['-c', 'echo $0'], { executable: pathToFileURL('/bin/sh') }),
          'foo (exit 0)',
        );
        const p = await createSubprocessShell('echo $0; [ -z "$BASH_VERSION" ] || echo bash', {
          stdout: PIPE,
          executable: '/bin/bash',
        });
        assert.equal((await p.communicate())[0]?.toString(), '/bin/bash\nbash\n');
        assert.equal(
          await outcome('true', [], { executable: 'weft-no-such-program' }),
          'FileNotFoundError ENOENT weft-no-such-program',
        );
        assert.equal(await outcome('true', [], { executable: '' }), 'PermissionError EACCES ');
        await assert.rejects(
          createSubprocessExec('true', { executable: 3 as never }),
          (e) => e instanceof TypeError && /option executable must be a path/.test(e.message),
        );
      });
    });

    test('startNewSession: the child leads a session and process group of its own', async () => {
      // Python: start_new_session=True → pid == pgid == sid; without it the parent's.
      await run(async () => {
        const [pid, pgrp, sid] = (await outcome('sh', ['-c', IDS], { startNewSession: true }))
          .split(' ')
          .map(Number);
        assert.ok(pid !== undefined && pid > 0);
        assert.deepEqual([pgrp, sid], [pid, pid]);
        const [, pgrp2, sid2] = (await outcome('sh', ['-c', IDS])).split(' ').map(Number);
        assert.deepEqual([pgrp2, sid2], ownIds());
        // Python takes any truthy value; weft wants a boolean.
        await assert.rejects(
          createSubprocessExec('true', { startNewSession: 1 as never }),
          (e) =>
            e instanceof TypeError && /option startNewSession must be a boolean/.test(e.message),
        );
      });
    });

    test('processGroup: setpgid(0, n) in the child; a group that cannot be joined is EPERM', async () => {
      // Python 3.11: process_group=0 → pgid == pid, same session; process_group=<a leader's pid>
      // → that group; 999999 → PermissionError(1) without filename; with start_new_session=True
      // → PermissionError (a session leader cannot change group); -1 → nothing.
      const [ownPgrp, ownSid] = ownIds();
      await run(async () => {
        if (!addon) {
          await assert.rejects(
            createSubprocessExec('true', { processGroup: 0 }),
            unsupported('processGroup'),
          );
        } else {
          const [pid, pgrp, sid] = (await outcome('sh', ['-c', IDS], { processGroup: 0 }))
            .split(' ')
            .map(Number);
          assert.deepEqual([pgrp, sid], [pid, ownSid]);
          const leader = await createSubprocessExec('sleep', '30', { processGroup: 0 });
          try {
            const [, joined] = (await outcome('sh', ['-c', IDS], { processGroup: leader.pid }))
              .split(' ')
              .map(Number);
            assert.equal(joined, leader.pid);
          } finally {
            leader.kill();
            await leader.wait();
          }
          for (const options of [
            { processGroup: 999_999 },
            { processGroup: 0, startNewSession: true },
          ]) {
            const e = await failure(createSubprocessExec('true', options));
            assert.ok(e instanceof PermissionError, String(e));
            assert.equal((e as PermissionError).errnoName, 'EPERM');
            assert.equal((e as PermissionError).filename, null);
            assert.equal(e.message, 'Operation not permitted');
          }
          // Python: process_group=999999 with a program that does not exist, by path or by
          // name → PermissionError EPERM, no filename: the child's setpgid (or setsid) fails
          // before any exec, on every path (the addon's posix_spawn and its own clone alike).
          for (const program of [join(dir, 'missing'), 'weft-no-such-program']) {
            for (const options of [
              { processGroup: 999_999 },
              { processGroup: 0, startNewSession: true },
              { processGroup: 999_999, umask: 0o22 },
            ]) {
              assert.equal(
                await outcome(program, [], options),
                'PermissionError EPERM null',
                `${program} ${JSON.stringify(options)}`,
              );
            }
          }
        }
        for (const none of [null, -1]) {
          const [, pgrp] = (await outcome('sh', ['-c', IDS], { processGroup: none }))
            .split(' ')
            .map(Number);
          assert.equal(pgrp, ownPgrp);
        }
        await rejectsBadOptions([
          [{ processGroup: -2 }, RangeError],
          [{ processGroup: 1.5 }, RangeError],
          [{ processGroup: '0' }, TypeError],
        ]);
      });
    });

    test('passFds: the descriptors reach the child at their own numbers; others do not', async () => {
      // Python: pass_fds=[w] → the child has w at its number; not passed: closed;
      // pass_fds=[<not open>] → OSError(9, 'Bad file descriptor') without filename;
      // [-1] → ValueError; 3 → TypeError (not iterable).
      await run(async () => {
        const fh = await open(join(dir, 'passed'), 'w');
        try {
          const fd = fh.fd;
          const probe = `[ -e /proc/$$/fd/${fd} ] && echo open || echo closed`;
          assert.equal(await outcome('sh', ['-c', probe]), 'closed (exit 0)');
          assert.equal(await outcome('sh', ['-c', probe], { passFds: [fd] }), 'open (exit 0)');
          // The same file at the same number (dash's >& takes one digit: no write through it).
          assert.equal(
            await outcome('sh', ['-c', `readlink /proc/$$/fd/${fd}`], {
              passFds: new Set([fd, 1]),
            }),
            `${join(dir, 'passed')} (exit 0)`,
          );
          // Python: RuntimeWarning "pass_fds overriding close_fds.", and the fd is passed.
          const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
          assert.equal(
            await outcome('sh', ['-c', probe], { passFds: [fd], closeFds: false }),
            'open (exit 0)',
          );
          const w = await warned;
          assert.equal(w.name, 'RuntimeWarning');
          assert.equal((w as Error & { code?: string }).code, 'WEFT_SUBPROCESS_PASS_FDS');
        } finally {
          await fh.close();
        }
        const e = await failure(createSubprocessExec('true', { passFds: [closedFd()] }));
        assert.ok(e instanceof OSError, String(e));
        assert.equal((e as OSError).errnoName, 'EBADF');
        assert.equal((e as OSError & { filename: unknown }).filename, null);
        assert.equal(e.message, 'Bad file descriptor');
        // The highest descriptor number (Node's spawn once grew its stdio array to it, until the
        // heap gave out), and the lowest free one, which the stdout pipe made for this very
        // spawn would take (the child was handed our end of it there, with no error).
        const lowest = openSync('/dev/null', 'r');
        closeSync(lowest);
        for (const fd of [2 ** 31 - 1, lowest]) {
          const x = await failure(
            createSubprocessExec('sh', '-c', `readlink /proc/$$/fd/${fd}`, {
              stdout: PIPE,
              passFds: [fd],
            }),
          );
          assert.ok(x instanceof OSError, `${fd}: ${x}`);
          assert.equal((x as OSError).errnoName, 'EBADF');
          assert.equal((x as OSError & { filename: unknown }).filename, null);
        }
        await rejectsBadOptions([
          [{ passFds: [-1] }, RangeError],
          [{ passFds: [2 ** 31] }, RangeError],
          [{ passFds: [3.5] }, RangeError],
          [{ passFds: ['3'] }, TypeError],
          [{ passFds: 3 }, TypeError],
          [{ passFds: '3' }, TypeError],
        ]);
        await assert.rejects(
          createSubprocessExec('true', { closeFds: 'yes' as never }),
          (x) => x instanceof TypeError && /option closeFds must be a boolean/.test(x.message),
        );
      });
    });

    test('closeFds: a descriptor inherited without FD_CLOEXEC is closed in the child (not through Node’s)', async () => {
      // Python, with fd 200 inherited from the shell that started it: close_fds (the default)
      // → the child has 0 1 2 (3: ls's own); close_fds=False → 200 too; pass_fds=[200] → 200.
      // Every descriptor Node opens is close-on-exec: only one this process was given without
      // it can leak, and libuv closes nothing above 2 itself.
      const script = join(dir, 'fds.ts');
      writeFileSync(
        script,
        `import { createSubprocessExec, PIPE, run } from '${ROOT}src/asyncio/index.ts';
import { _allowNativeSpawn } from '${ROOT}src/asyncio/subprocess.ts';
_allowNativeSpawn(${!viaNode});
await run(async () => {
  for (const options of [{}, { closeFds: false }, { passFds: [200] }]) {
    const p = await createSubprocessExec('ls', '/proc/self/fd', { stdout: PIPE, ...options });
    const [out] = await p.communicate();
    console.log(out!.toString().split('\\n').includes('200') ? 'has 200' : 'no 200');
  }
});
`,
      );
      const fh = await open(join(dir, 'inherited'), 'w');
      try {
        const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
        while (stdio.length < 200) stdio.push('ignore');
        stdio.push(fh.fd); // libuv dup2()s it to fd 200 of the script: no FD_CLOEXEC there
        const child = spawn(process.execPath, ['--import', TS_IMPORT, script], { stdio });
        let out = '';
        let err = '';
        child.stdout?.on('data', (d) => {
          out += d;
        });
        child.stderr?.on('data', (d) => {
          err += d;
        });
        const status = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(status, 0, err);
        assert.deepEqual(out.trim().split('\n'), [
          addon ? 'no 200' : 'has 200',
          'has 200',
          'has 200',
        ]);
      } finally {
        await fh.close();
      }
    });

    test('umask: the child’s own (Node’s spawn has none)', async () => {
      // Python: umask=0o077 → the shell's `umask` prints 0077; -1 → the parent's; 0o1777 is
      // masked to 0777 (weft: RangeError); '022' → TypeError.
      // (process.umask() without an argument is deprecated: the kernel says it.)
      const own = readFileSync('/proc/self/status', 'utf8').match(/^Umask:\s+(\d+)/m)?.[1];
      await run(async () => {
        if (addon) {
          assert.equal(await outcome('sh', ['-c', 'umask'], { umask: 0o077 }), '0077 (exit 0)');
          assert.equal(await outcome('sh', ['-c', 'umask'], { umask: 0 }), '0000 (exit 0)');
        } else {
          await assert.rejects(
            createSubprocessExec('true', { umask: 0o077 }),
            unsupported('umask'),
          );
        }
        assert.equal(await outcome('sh', ['-c', 'umask'], { umask: -1 }), `${own} (exit 0)`);
        await rejectsBadOptions([
          [{ umask: -2 }, RangeError],
          [{ umask: 0o1000 }, RangeError],
          [{ umask: 1.5 }, RangeError],
          [{ umask: '022' }, TypeError],
        ]);
      });
    });

    test('user and group: names or ids; the same user and group as this process', async () => {
      // Python (as root): user='nobody' → uid=65534; group=65534 → gid 65534; user=<own uid> or
      // <own name> → unchanged.
      const uid = process.getuid?.() as number;
      const gid = process.getgid?.() as number;
      const ids = 'echo $(id -u) $(id -g)';
      await run(async () => {
        for (const options of [
          { user: uid },
          { user: userInfo().username },
          { group: gid },
          { user: uid, group: gid },
        ]) {
          assert.equal(
            await outcome('sh', ['-c', ids], options),
            `${uid} ${gid} (exit 0)`,
            JSON.stringify(options),
          );
        }
        if (uid === 0) {
          assert.equal(
            await outcome('sh', ['-c', ids], { user: 65534, group: 65534 }),
            '65534 65534 (exit 0)',
          );
          assert.equal(await outcome('sh', ['-c', ids], { user: 'nobody' }), '65534 0 (exit 0)');
        }
      });
    });

    test('extraGroups: setgroups in the child (Node’s spawn cannot)', async () => {
      // Python (as root): extra_groups=['daemon', 2] → groups 0, 1, 2; [] → none but the gid's.
      await run(async () => {
        if (!addon) {
          await assert.rejects(
            createSubprocessExec('true', { extraGroups: [] }),
            unsupported('extraGroups'),
          );
          return;
        }
        if (process.getuid?.() !== 0) return; // setgroups needs CAP_SETGID: the EPERM test
        const daemon = readFileSync('/etc/group', 'utf8').match(/^daemon:[^:]*:(\d+):/m)?.[1];
        const groups = async (options: SubprocessOptions): Promise<string> =>
          (await outcome('sh', ['-c', 'id -G'], options)).replace(' (exit 0)', '');
        assert.equal(await groups({ group: 0, extraGroups: [1, 2] }), ['0', '1', '2'].join(' '));
        if (daemon !== undefined) {
          assert.equal(await groups({ group: 0, extraGroups: ['daemon'] }), `0 ${daemon}`);
        }
        assert.equal(await groups({ group: 0, extraGroups: [] }), '0');
      });
    });

    test('an unknown user or group name is a KeyError; a bad id a RangeError or TypeError', async () => {
      // Python: KeyError("getpwnam(): name not found: 'x'"), KeyError("getgrnam(): …") for
      // group and each extra group; user=-1 → ValueError; 1.5 → TypeError;
      // extra_groups='daemon' → ValueError ("Groups must be a list, not a string").
      await run(async () => {
        for (const [options, fn, name] of [
          [{ user: 'weft-no-such-user' }, 'getpwnam', 'weft-no-such-user'],
          [{ group: 'weft-no-such-group' }, 'getgrnam', 'weft-no-such-group'],
          [{ extraGroups: [0, 'weft-no-such-group'] }, 'getgrnam', 'weft-no-such-group'],
        ] as const) {
          const e = await failure(createSubprocessExec('true', options as SubprocessOptions));
          assert.ok(e instanceof KeyError && e instanceof MpKeyError, String(e));
          assert.equal(e.name, 'KeyError');
          assert.match(e.message, new RegExp(`${fn}\\(\\): name not found: '${name}'`));
        }
        await rejectsBadOptions([
          [{ user: -1 }, RangeError],
          [{ user: 1.5 }, RangeError],
          [{ user: 2 ** 32 - 1 }, RangeError], // (uid_t)-1: setreuid's "unchanged"
          [{ user: {} }, TypeError],
          [{ group: -1 }, RangeError],
          [{ group: [1] }, TypeError],
          [{ extraGroups: 'daemon' }, TypeError],
          [{ extraGroups: 3 }, TypeError],
          [{ extraGroups: [-1] }, RangeError],
          [{ extraGroups: [{}] }, TypeError],
        ]);
      });
    });

    test('without the privilege: EPERM for another user, group or extraGroups, no filename', async () => {
      // Python as uid 65534: user='root', group='root', extra_groups=[] and [own gid] →
      // PermissionError(1, 'Operation not permitted') without filename; user=<own uid> runs.
      // As root here, the program drops to uid/gid 65534 itself once its modules and the addon are
      // loaded, so the checkout need not be readable by that user (a private temporary folder).
      const script = join(dir, 'eperm.mjs');
      writeFileSync(
        script,
        `import { createSubprocessExec, run } from '${ROOT}src/asyncio/index.ts';
import { _allowNativeSpawn } from '${ROOT}src/asyncio/subprocess.ts';
_allowNativeSpawn(${!viaNode});
await run(async () => {
  if (process.getuid() === 0) {
    await (await createSubprocessExec('true')).wait(); // loads the addon while still root
    process.setgroups([65534]);
    process.setgid(65534);
    process.setuid(65534);
  }
  const cases = [{ user: 0 }, { group: 0 }, { user: 'root', group: 'root' }, { extraGroups: [] }];
  for (const options of cases) {
    try {
      await createSubprocessExec('true', options);
      console.log('started');
    } catch (e) {
      console.log(e.name, e.errnoName ?? e.code, e.filename ?? null);
    }
  }
  const p = await createSubprocessExec('true', { user: process.getuid(), group: process.getgid() });
  console.log('own', await p.wait());
});
`,
      );
      chmodSync(dir, 0o755);
      chmodSync(script, 0o644);
      const r = await run(async () => {
        const p = await createSubprocessExec(process.execPath, '--import', TS_IMPORT, script, {
          stdout: PIPE,
          stderr: PIPE,
        });
        const [out, err] = await p.communicate();
        return { status: p.returncode, out: out?.toString() ?? '', err: err?.toString() ?? '' };
      });
      assert.equal(r.status, 0, r.err);
      assert.deepEqual(r.out.trim().split('\n'), [
        'PermissionError EPERM null',
        'PermissionError EPERM null',
        'PermissionError EPERM null',
        addon ? 'PermissionError EPERM null' : 'RuntimeError ERR_WEFT_SUBPROCESS_UNSUPPORTED null',
        'own 0',
      ]);
    });

    test('a full descriptor table is an OSError EMFILE naming nothing, and no child starts', async () => {
      // Python (ulimit -n at the edge): OSError(24, 'Too many open files') without filename,
      // from its pipe; here the pipe, the look at the cwd, the slot kept for the pidfd or the
      // clone's pidfd fail, each before any child runs. The cwd is not to blame: the child's
      // chdir needs no descriptor (it was once named the filename).
      const script = join(dir, 'emfile.ts');
      const marker = join(dir, 'started');
      writeFileSync(
        script,
        `import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { createSubprocessExec, PIPE, run } from '${ROOT}src/asyncio/index.ts';
import { _allowNativeSpawn } from '${ROOT}src/asyncio/subprocess.ts';
_allowNativeSpawn(${!viaNode});
await run(async () => {
  await (await createSubprocessExec('true')).wait(); // every module loaded before the table fills
  const cases = [{}, { cwd: ${JSON.stringify(dir)} }, ${addon ? '{ umask: 0o22 }' : ''}];
  for (const options of cases) {
    const seen = [];
    for (let free = 0; free <= 12; free++) {
      rmSync(${JSON.stringify(marker)}, { force: true });
      const held = [];
      try {
        for (;;) held.push(openSync('/dev/null', 'r'));
      } catch {}
      for (let i = 0; i < free; i++) closeSync(held.pop());
      let r;
      try {
        const p = await createSubprocessExec('sh', '-c', 'touch ${marker}', { stdout: PIPE, ...options });
        for (const fd of held.splice(0)) closeSync(fd);
        await p.communicate();
        r = 'ok ' + p.returncode;
      } catch (e) {
        for (const fd of held.splice(0)) closeSync(fd);
        r = [e.name, e.errnoName, e.filename].join(' ');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      r += existsSync(${JSON.stringify(marker)}) ? ' started' : ' none';
      if (seen.at(-1) !== r) seen.push(r);
    }
    console.log(seen.join(', '));
  }
});
`,
      );
      const child = spawn(
        'sh',
        ['-c', 'ulimit -n 256 && exec "$@"', 'sh', process.execPath, '--import', TS_IMPORT, script],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      child.stderr?.on('data', (d) => {
        err += d;
      });
      const status = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(status, 0, err);
      const lines = out.trim().split('\n');
      assert.equal(lines.length, addon ? 3 : 2, out);
      for (const line of lines) assert.equal(line, 'OSError EMFILE  none, ok 0 started', out);
    });
  });
}

test('resolvePopen answers at once, not with a promise, when no user or group name is to be looked up', async () => {
  // 6e33395 awaited resolvePopen on every spawn: turns of the microtask queue (and promise hooks
  // without the context addon) for nothing in nearly every spawn. Names still go through the
  // name service, which may take time (the files without the addon are read asynchronously).
  for (const options of [
    {},
    { user: 0, group: 0, extraGroups: [0] },
    { umask: 0o22, passFds: [] },
  ]) {
    const p = resolvePopen('t', checkPopen('t', options), null);
    assert.ok(!(p instanceof Promise), JSON.stringify(options));
    const { uid, gid, groups } = p as Popen;
    assert.deepEqual(
      [uid, gid, groups],
      'user' in options ? [0, 0, [0]] : [-1, -1, null],
      JSON.stringify(options),
    );
  }
  const { username, uid } = userInfo();
  const named = resolvePopen('t', checkPopen('t', { user: username, extraGroups: [0] }), null);
  assert.ok(named instanceof Promise);
  assert.deepEqual([(await named).uid, (await named).groups], [uid, [0]]);
});
