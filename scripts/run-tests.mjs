#!/usr/bin/env node
// Runs every test/**/*.test.ts file under Node's own test runner, with the repository's own
// TypeScript loader (scripts/ts-loader/: tsx's work for a fraction of its CPU per process, which
// the suite's hundreds of processes and workers add up). Node 20's `--test` does not expand globs
// itself, so the files are listed here.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { prebuild } from './ts-loader/prebuild.mjs';

const root = new URL('..', import.meta.url).pathname;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
};
walk(join(root, 'test'));
const filters = process.argv.slice(2);
const chosen = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (chosen.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Files run side by side, one more than there are cores: most of a file's time is spent waiting
// (for timers, sockets, child processes starting), so on a 2-core machine three at once keep both
// cores busy where Node's default (cores - 1, one file at a time there) left the suite at some
// 12 minutes. WEFT_TEST_CONCURRENCY overrides the count; Node before 20.10 has no such flag.
const concurrency = Number(process.env.WEFT_TEST_CONCURRENCY) || availableParallelism() + 1;
const [major, minor] = process.versions.node.split('.').map(Number);
const concurrencyFlag =
  major > 20 || (major === 20 && minor >= 10) ? [`--test-concurrency=${concurrency}`] : [];
// The web tests compare weft with aiohttp 3.8 servers and clients run by /usr/bin/python3: Debian's
// python3-aiohttp, installed here when missing (as the bench installs its peers), so that a fresh
// machine's `npm test` has it. The script never fails; a test whose peer cannot start says why.
const NEEDS_AIOHTTP = ['test/web/client-web-socket.test.ts', 'test/web/compression.test.ts'];
if (chosen.some((f) => NEEDS_AIOHTTP.includes(f))) {
  spawnSync('bash', [join(root, 'scripts/install-bench-deps.sh'), 'python3-aiohttp'], {
    stdio: 'inherit',
    cwd: root,
  });
}
// Every .ts file transformed once, here, rather than by the first process that imports it, and
// written as JavaScript to a mirror of the tree (WEFT_TS_MIRROR): the test files' imports go there
// through the loader, and the children and workers they start then run it without any loader
// (ts-loader/mirror.mjs says why).
const { mirror } = await prebuild();
const loader = new URL('./ts-loader/register.mjs', import.meta.url).href;
// What the test files' children and workers register (WEFT_TS_LOADER): the same loader without
// source maps (see register.mjs).
const childLoader = `${loader}?maps=0`;
const runner = (list, env) =>
  spawnSync(
    process.execPath,
    [
      '--import',
      loader,
      '--test',
      ...concurrencyFlag,
      '--test-reporter=spec',
      // Node 20 holds each file, as a whole, to this bound as well as each test: files side by
      // side on a loaded 2-core machine took executor-process.test.ts (92 s alone under load)
      // past 120 s. It is a bound against a hang, not a measure of speed.
      '--test-timeout=300000',
      ...list,
    ],
    {
      stdio: 'inherit',
      cwd: root,
      env: { ...process.env, WEFT_TS_LOADER: childLoader, WEFT_TS_MIRROR: mirror, ...env },
    },
  ).status ?? 1;
let status = runner(chosen, {});
// weft/asyncio carries the current task with its context addon where it is built and with
// promise hooks otherwise (src/internal/context.ts): the tests of what rests on it run again
// under the hooks, so a machine without a C++ compiler gets tested code too.
const HOOKS_PASS = ['test/asyncio/', 'test/gevent/', 'test/internal/context.test.ts'];
const again = chosen.filter((f) => HOOKS_PASS.some((x) => f.startsWith(x)));
if (again.length > 0 && process.env.WEFT_CONTEXT !== 'hooks') {
  console.log(`\n# again with WEFT_CONTEXT=hooks (promise hooks): ${again.length} files`);
  status = runner(again, { WEFT_CONTEXT: 'hooks' }) || status;
}
// An IPv4 weft socket listens on weft's own descriptor where the weft_io addon is built, and on
// Node's net otherwise (src/socket/socket.ts): the socket, selector, hand-off and Listener tests
// run again on net (where an IP literal is bound by listen() through src/socket/net-listen.ts).
const NET_PASS = [
  'test/socket/socket.test.ts',
  'test/socket/listen-bind.test.ts',
  'test/selectors/default-selector.test.ts',
  'test/multiprocessing/process-socket.test.ts',
  'test/multiprocessing/listener.test.ts',
  'test/multiprocessing/socket-connection.test.ts',
];
const onNet = chosen.filter((f) => NET_PASS.includes(f));
if (onNet.length > 0 && process.env.WEFT_SOCKET_TRANSPORT !== 'net') {
  console.log(`\n# again with WEFT_SOCKET_TRANSPORT=net (Node's net): ${onNet.length} files`);
  status = runner(onNet, { WEFT_SOCKET_TRANSPORT: 'net' }) || status;
}
// multiprocessing locks are taken, and Values kept, in the shared lock slab where the shm addon
// is built, and by the broker alone otherwise (src/internal/process/lock-slab.ts): their tests
// run again without the slab.
const BROKER_PASS = [
  'test/multiprocessing/lock-slab.test.ts',
  'test/multiprocessing/deadlock.test.ts',
  'test/multiprocessing/deadlock-walk.test.ts',
  'test/multiprocessing/deadlock-tasks.test.ts',
  'test/multiprocessing/signal.test.ts',
  'test/multiprocessing/bb6-sync.test.ts',
  'test/multiprocessing/shared.test.ts',
  'test/multiprocessing/value-slab.test.ts',
  'test/multiprocessing/lock-model.test.ts',
  'test/multiprocessing/rlock-broker-path.test.ts',
  'test/multiprocessing/array-shm.test.ts',
  'test/multiprocessing/raw-value.test.ts',
  'test/multiprocessing/sharedctypes.test.ts',
  'test/multiprocessing/semaphore-slab.test.ts',
  'test/multiprocessing/lock-spin.test.ts',
  'test/multiprocessing/semaphore-chaos.test.ts',
  'test/multiprocessing/semaphore-late-grant.test.ts',
  'test/multiprocessing/lock-holds-records.test.ts',
  'test/multiprocessing/event-slab.test.ts',
  'test/multiprocessing/plain-worker-exit.test.ts',
  'test/multiprocessing/poll-ships.test.ts',
];
const onBroker = chosen.filter((f) => BROKER_PASS.includes(f));
if (onBroker.length > 0 && process.env.WEFT_LOCK_SLAB !== '0') {
  console.log(
    `\n# again with WEFT_LOCK_SLAB=0 (locks, semaphores, events, Values and Arrays in the broker): ${onBroker.length} files`,
  );
  status = runner(onBroker, { WEFT_LOCK_SLAB: '0' }) || status;
}
// A thread's blocking broker calls go on its own socket where the io addon is built, and through
// a sync client thread otherwise (src/internal/process/broker-sync.ts): the tests of blocking
// calls run again on the client thread.
const SYNC_THREAD_PASS = [
  'test/multiprocessing/blocking.test.ts',
  'test/multiprocessing/early-post.test.ts',
  'test/multiprocessing/event-set-compute.test.ts',
  'test/multiprocessing/event-setter-death.test.ts',
  'test/multiprocessing/event-slab.test.ts',
  'test/multiprocessing/semaphore-event-ping-fails.test.ts',
  'test/multiprocessing/semaphore-releaser-death.test.ts',
  'test/multiprocessing/start-then-block.test.ts',
  'test/multiprocessing/sync-direct.test.ts',
  'test/multiprocessing/sync-unreadable.test.ts',
];
const onThread = chosen.filter((f) => SYNC_THREAD_PASS.includes(f));
if (onThread.length > 0 && process.env.WEFT_SYNC_CLIENT !== 'thread') {
  console.log(
    `\n# again with WEFT_SYNC_CLIENT=thread (blocking calls through a sync client thread): ${onThread.length} files`,
  );
  status = runner(onThread, { WEFT_SYNC_CLIENT: 'thread' }) || status;
}
process.exit(status);
