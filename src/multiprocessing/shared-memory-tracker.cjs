// The server side of a SharedMemoryManager (shared-memory-manager.ts), as Python's
// SharedMemoryServer and its _SharedMemoryTracker: what unlinks the blocks a manager tracks.
// Two callers:
// - the manager's own process, whose `shutdown()` (or exit) calls `release` through require;
// - a watcher process the manager starts (`node shared-memory-tracker.cjs DIR PID`), which reads
//   its stdin until the manager's process closes it: at `shutdown()`, or by ending however it
//   ends (a SIGKILL too: the kernel closes the pipe). It then calls `release`, which finds
//   nothing left after a shutdown and the manager's blocks otherwise.
// Plain CommonJS with no import of weft: the watcher runs with no TypeScript loader, and tsc
// copies this file to dist (allowJs).
//
// A manager's tracked blocks are the empty files of its directory DIR, one per block, named as
// the block (a file of /dev/shm). A maker writes the block's file first, then makes the block,
// then checks that the file is still in DIR ("confirms"); `release` renames DIR to DIR.closing
// first, so that no file can be added to DIR any more and no maker confirms after it, then, for
// each file, removes the file and then unlinks the block. Whichever order a maker and a release
// run in, every block either is unlinked by the release (it was confirmed before the rename) or
// is unlinked by its maker, which then fails (it confirmed after the rename, or its file was
// gone).
'use strict';

const { readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } = require('node:fs');
const { join } = require('node:path');

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
    for (const name of names) {
      // The file goes before the block: a maker that has not confirmed yet then sees it gone.
      rmSync(join(closing, name), { force: true });
      try {
        unlinkSync(join('/dev/shm', name));
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

module.exports = { release };

if (require.main === module) {
  const [dir, owner] = process.argv.slice(2);
  // Python's resource tracker ignores these too: a Ctrl-C or a SIGTERM sent to the manager's
  // whole process group must not end the watcher before it has seen its manager end.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    let unlinked = [];
    try {
      unlinked = release(dir);
    } catch (e) {
      process.stderr.write(`weft: SharedMemoryManager watcher: ${e.message}\n`);
    }
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
