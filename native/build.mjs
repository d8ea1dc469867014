#!/usr/bin/env node
// Builds the native addons at install time: native/ (sendfile.c, io.c), native/context/
// (context.cc), native/shm/ (shm.cc) and native/spawn/ (spawn.c) — context and shm are C++
// against V8's own API, and spawn needs glibc 2.29's posix_spawn_file_actions_addchdir_np, so
// each is built on its own: if one does not compile, the others are still built. It must never
// fail an install: without a compiler (or off Linux) weft/sendfile uses its copy loop,
// `sendfile.native` is false, weft/asyncio carries the current task with promise hooks instead of
// the context addon, multiprocessing locks are held by the broker alone (no shared-memory fast
// path), and subprocesses start through Node's child_process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);
if (process.platform !== 'linux') {
  console.log(
    "weft: native addons skipped (Linux only): weft/sendfile copies, no RawSocket/EpollSelector, multiprocessing locks through the broker, subprocesses through Node's child_process",
  );
  process.exit(0);
}
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].filter((p) => p && existsSync(p));
// Outside npm (no npm_config_nodedir) point node-gyp at the headers installed beside this node,
// so it never tries to download them.
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  !process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))
    ? [`--nodedir=${prefix}`]
    : [];

function build(directory) {
  const args = ['rebuild', '--directory', directory, ...nodedir];
  const r =
    candidates.length > 0
      ? spawnSync(process.execPath, [candidates[0], ...args], { stdio: 'inherit' })
      : spawnSync('node-gyp', args, { stdio: 'inherit', shell: false });
  return r.status === 0;
}

if (!build(here)) {
  console.log(
    'weft: native addons not built (no compiler?): weft/sendfile copies, no RawSocket/EpollSelector',
  );
}
if (!build(join(here, 'context'))) {
  console.log(
    'weft: context addon not built (no C++ compiler?): weft/asyncio uses promise hooks (slower awaits in tasks)',
  );
}
if (!build(join(here, 'shm'))) {
  console.log(
    'weft: shm addon not built (no C++ compiler?): multiprocessing locks go through the broker for every acquire',
  );
}
if (!build(join(here, 'spawn'))) {
  console.log(
    "weft: spawn addon not built (no compiler, or glibc before 2.29?): weft/asyncio subprocesses start through Node's child_process (a fork, slower from a large process)",
  );
}
process.exit(0);
