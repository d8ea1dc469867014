// The server side of a SharedMemoryManager (shared-memory-manager.ts), as Python's
// SharedMemoryServer and its _SharedMemoryTracker: what unlinks the blocks a manager tracks.
// Three callers:
// - the manager's own process, whose `shutdown()` (or exit) calls `release` through require;
// - a watcher process the manager starts (`node shared-memory-tracker.cjs DIR PID START MODE`),
//   which reads its stdin until the manager's thread closes it: at `shutdown()`, or by ending
//   however it ends (a SIGKILL too: the kernel closes the pipe). It then calls `release`, which
//   finds nothing left after a shutdown and the manager's blocks otherwise;
// - a manager being started, whose `sweep` releases the directories of managers whose process
//   and watcher both died (a SIGKILL of the whole group leaves them to nobody else).
// Plain CommonJS with no import of weft: the watcher runs with no TypeScript loader, and tsc
// copies this file to dist (allowJs).
//
// A manager's tracked blocks are the empty files of its directory DIR (/dev/shm/weft-smm-…), one
// per block, named as the block (a file of /dev/shm); names starting with '.' are the manager's
// own records (`.owner`: who to ask whether it lives), never blocks. A maker writes the block's
// file first, then makes the block, then checks that the file is still in DIR ("confirms");
// `release` renames DIR to DIR.closing first, so that no file can be added to DIR any more and no
// maker confirms after it, then, for each file, removes the file and then unlinks the block.
// Whichever order a maker and a release run in, every block either is unlinked by the release
// (it was confirmed before the rename) or is unlinked by its maker, which then fails (it
// confirmed after the rename, or its file was gone).
//
// A watcher's MODE says which end the pipe's closing means. 'process': the manager was started
// in a process's main thread, whose pipe closes only with the process (a normal exit shuts the
// manager down first): killed, so it says what it unlinked. 'thread': started in a worker thread,
// whose pipe closes when that thread ends. A thread's normal end shuts the manager down first;
// one ended without running its exit (a daemon thread at the process's exit, a worker
// terminated) leaves the manager to the process, as Python's manager belongs to the process, not
// to the thread that started it: the watcher unlinks the blocks once the process has ended,
// silently, as Python's finalizer does at exit (it cannot tell that end from a kill).
'use strict';

const {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
} = require('node:fs');
const { join } = require('node:path');

/** Where managers keep their directories: beside their blocks, on the same tmpfs. */
const ROOM = '/dev/shm';
/** A manager's directory (`weft-smm-<pid>-<hex>`), or one whose release was cut short. */
const DIR_NAME = /^weft-smm-\d+-[0-9a-f]+(\.closing)?$/;
/** The record in a manager's directory of who owns it (see `sweep`). */
const RECORD = '.owner';
/** How often a 'thread' watcher looks whether the process it waits for has ended. */
const OWNER_POLL_MS = 100;

/**
 * Unlinks every block tracked in `dir` and removes `dir`; returns the names of the blocks it
 * unlinked (those unlinked already, by their users, are left out). `forget(name)` runs for each
 * block, unlinked or not (the manager removes its tree's marker of the block there). An error
 * other than a block gone already is thrown once every block has been tried.
 */
function release(dir, forget) {
  const closing = `${dir}.closing`;
  try {
    renameSync(dir, closing);
  } catch (e) {
    // Released already, or a release cut short (its process died) left DIR.closing: go on there.
    if (e.code !== 'ENOENT') throw e;
  }
  const unlinked = [];
  let failure = null;
  for (;;) {
    let names;
    try {
      names = readdirSync(closing);
    } catch (e) {
      if (e.code === 'ENOENT') break;
      throw e;
    }
    // The records last: a release cut short leaves them with the blocks still to unlink, for a
    // sweep to find (see `sweep`).
    names.sort((a, b) => Number(a.startsWith('.')) - Number(b.startsWith('.')));
    for (const name of names) {
      // The file goes before the block: a maker that has not confirmed yet then sees it gone.
      rmSync(join(closing, name), { force: true });
      if (name.startsWith('.')) continue;
      try {
        unlinkSync(join(ROOM, name));
        unlinked.push(name);
      } catch (e) {
        if (e.code !== 'ENOENT') failure ??= e;
      }
      forget?.(name);
    }
    try {
      rmdirSync(closing);
      break;
    } catch (e) {
      // A maker whose write had found DIR before the rename added a file since: once more.
      if (e.code === 'ENOENT') break;
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    }
  }
  if (failure !== null) throw failure;
  return unlinked;
}

/** `stateOf` of a process that has ended (a zombie too: its descriptors are closed already). */
const GONE = Symbol('gone');
/** `stateOf` when /proc cannot say. */
const UNKNOWN = Symbol('unknown');

let procIsOurs = null;
/**
 * Whether /proc shows this pid namespace's processes: not so in one made without a /proc of its
 * own (`unshare --pid` without `--mount-proc`), where /proc/<pid> is another process's.
 */
function procOurs() {
  if (procIsOurs === null) {
    try {
      procIsOurs = readlinkSync('/proc/self') === String(process.pid);
    } catch {
      procIsOurs = false;
    }
  }
  return procIsOurs;
}

/**
 * Process `pid` as /proc says: its start time (clock ticks since boot, /proc/PID/stat's 22nd
 * field, which tells it from a later process given the same pid), GONE, or UNKNOWN. Only a
 * missing entry or a zombie is GONE: a read that fails otherwise (EMFILE, EACCES) says nothing
 * of the process.
 */
function stateOf(pid) {
  if (!procOurs()) return UNKNOWN;
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    return e.code === 'ENOENT' || e.code === 'ESRCH' ? GONE : UNKNOWN;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return GONE;
  return fields[19] ?? UNKNOWN;
}

/** The start time of process `pid` (see `stateOf`); null when it has ended or /proc cannot say. */
function startTimeOf(pid) {
  const state = stateOf(pid);
  return typeof state === 'string' ? state : null;
}

/**
 * Whether process `pid`, started at `start` (from `startTimeOf`; null: not known), is alive.
 * Where /proc cannot say, a signal does: a pid that one still reaches is taken as alive (a pid
 * reused since is too: the sweep then leaves a directory rather than release a live one).
 */
function alive(pid, start) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = stateOf(pid);
  if (state === GONE) return false;
  if (state !== UNKNOWN) return start === null || state === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code !== 'ESRCH';
  }
}

/** This process's pid namespace ('pid:[…]'), or null: a pid means something only within one. */
function pidNamespace() {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/**
 * Releases the directories of managers that ended with nobody left to release them: their
 * process and their watcher both gone (SIGKILLed together, say), as their `.owner` record says,
 * and in this pid namespace (another's pids mean nothing here: a manager there is left alone).
 * A directory without a readable record (another user's, or one whose owner died as it was
 * making it, before any block) is left too. Returns what was released: the owner's pid and the
 * blocks unlinked, for each directory.
 */
function sweep() {
  const ns = pidNamespace();
  if (ns === null) return [];
  let names;
  try {
    names = readdirSync(ROOM);
  } catch {
    return [];
  }
  const swept = [];
  for (const name of names) {
    if (!DIR_NAME.test(name)) continue;
    const dir = join(ROOM, name.replace(/\.closing$/, ''));
    let record;
    try {
      record = JSON.parse(readFileSync(join(ROOM, name, RECORD), 'utf8'));
    } catch {
      continue;
    }
    if (record === null || typeof record !== 'object' || record.ns !== ns) continue;
    if (alive(record.pid, record.start ?? null)) continue;
    // A watcher that lives still does the release itself, when it sees its pipe closed.
    if (record.watcher !== undefined && alive(record.watcher, record.watcherStart ?? null))
      continue;
    try {
      swept.push({ pid: record.pid, unlinked: release(dir) });
    } catch {
      // another's to remove, or removed meanwhile: the next sweep sees
    }
  }
  return swept;
}

module.exports = { alive, pidNamespace, release, startTimeOf, sweep, RECORD, ROOM };

if (require.main === module) {
  const [dir, owner, ownerStart, mode] = process.argv.slice(2);
  const ownerPid = Number(owner);
  const start = ownerStart === '' || ownerStart === undefined ? null : ownerStart;
  // Python's resource tracker ignores these too: a Ctrl-C or a SIGTERM sent to the manager's
  // whole process group must not end the watcher before it has seen its manager end.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  const releaseAll = () => {
    try {
      return release(dir);
    } catch (e) {
      process.stderr.write(`weft: SharedMemoryManager watcher: ${e.message}\n`);
      return [];
    }
  };
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (mode === 'thread') {
      // Its thread ended without shutdown: the manager is the process's until the process ends.
      const over = () =>
        !alive(ownerPid, start) || !(existsSync(dir) || existsSync(`${dir}.closing`));
      if (!over()) {
        const wait = setInterval(() => {
          if (!over()) return;
          clearInterval(wait);
          releaseAll();
          process.exit(0);
        }, OWNER_POLL_MS);
        return;
      }
      releaseAll();
      process.exit(0);
    }
    const unlinked = releaseAll();
    if (unlinked.length > 0)
      process.stderr.write(
        `weft: a SharedMemoryManager's process (pid ${owner}) ended without shutdown(): ${unlinked.length} SharedMemory block(s) it tracked unlinked: ${unlinked.join(', ')}\n`,
      );
    process.exit(0);
  };
  process.stdin.on('data', () => {});
  process.stdin.on('end', finish);
  process.stdin.on('error', finish);
  process.stdin.on('close', finish);
}
