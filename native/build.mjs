#!/usr/bin/env node
// Builds the native addons (sendfile.c, io.c) at install time. It must never fail an install: without a compiler
// (or off Linux) weft/sendfile uses its copy loop and `sendfile.native` is false.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);
if (process.platform !== 'linux') {
  console.log(
    'weft: native addons skipped (Linux only): weft/sendfile copies, no RawSocket/EpollSelector',
  );
  process.exit(0);
}
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].filter((p) => p && existsSync(p));
const args = ['rebuild', '--directory', here];
// Outside npm (no npm_config_nodedir) point node-gyp at the headers installed beside this node,
// so it never tries to download them.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r =
  candidates.length > 0
    ? spawnSync(process.execPath, [candidates[0], ...args], { stdio: 'inherit' })
    : spawnSync('node-gyp', args, { stdio: 'inherit', shell: false });
if (r.status !== 0) {
  console.log(
    'weft: native addons not built (no compiler?): weft/sendfile copies, no RawSocket/EpollSelector',
  );
}
process.exit(0);
