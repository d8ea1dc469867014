/**
 * The first module a weft child process runs (protocol.ts), after early-inbox.cjs. It takes the
 * boot message, guards against becoming an orphan, then hands over to the role module.
 *
 * No orphans: a daemon child must end when its parent ends, however the parent ends. The IPC
 * channel closing ('disconnect') tells a child whose event loop is free; a child busy in
 * synchronous code never sees that event, so a tiny watchdog thread polls `process.ppid`
 * (which changes when the parent dies and the child is re-parented) and SIGKILLs its own
 * process — a signal reaches the process however busy its main thread is.
 */
import { Worker } from 'node:worker_threads';
import { setIdentity } from '../../multiprocessing/process-identity.js';
import { adoptTsLoader } from '../ts-loader.js';
import { onBoot } from './channel.js';
import {
  type BootMessage,
  ENV_DAEMON,
  ENV_EARLY_MODULES,
  ENV_FROM_THREAD,
  ENV_PARENT,
} from './protocol.js';

/** Trade-off: how often the watchdog looks for its parent (latency of orphan clean-up vs. wake-ups). */
const WATCH_MS = 100;

/**
 * One module importing each of `urls`, in order: one graph for Node's loader to link and
 * evaluate instead of one per URL, each walking the modules it shares with the others again.
 * A tenth of a child's start (callgrind, a child of a parent that imported weft/multiprocessing:
 * 463M instructions against 514M for sixteen `import()`s, the same modules loaded).
 */
function importingAll(urls: string[]): string {
  const body = urls.map((u) => `import ${JSON.stringify(u)};`).join('\n');
  return `data:text/javascript,${encodeURIComponent(body)}`;
}

function watchParent(parentPid: number): void {
  const w = new Worker(
    `setInterval(() => { if (process.ppid !== ${parentPid}) process.kill(${process.pid}, 'SIGKILL'); }, ${WATCH_MS});`,
    { eval: true, execArgv: [], stdout: false, stderr: false },
  );
  w.unref();
}

// Start loading the modules the child needs before its role runs now, while the boot message
// crosses the channel, and all at once: one module graph loading in parallel instead of one module after
// another (about 5% off a child's start here, measured A/B). The role's main runs only after the boot
// message, as before; the variable goes so that the child's own children do not inherit it.
const earlyUrls = JSON.parse(process.env[ENV_EARLY_MODULES] ?? '[]') as string[];
delete process.env[ENV_EARLY_MODULES];
// Should one fail, they are imported one by one: the error is then the module's own, not one
// naming the whole data: URL as its importer, and the others are loaded as before.
const early =
  earlyUrls.length === 0
    ? Promise.resolve()
    : import(importingAll(earlyUrls)).catch(() => Promise.all(earlyUrls.map((u) => import(u))));
// A failed import is reported where it is awaited (after boot), not as an unhandled rejection.
early.catch(() => {});
// A parent that ends (process.exit(), a kill) before this child started its target: the target
// does not run (the boot message may have come, and no result could go back). A daemon ends
// silently, as its parent's end would end it anyway; any other child says why it ran nothing
// instead of vanishing without a word.
const daemon = process.env[ENV_DAEMON] === '1';
const parentPid = process.env[ENV_PARENT] ?? String(process.ppid);
// Forked by a worker thread: the channel is that thread's, and closes when the thread ends, while
// the process the child belongs to (as Python's child belongs to the process, not the thread
// that started it) runs on. Only a new parent pid then says that the parent ended.
const fromThread = process.env[ENV_FROM_THREAD] === '1';
delete process.env[ENV_DAEMON];
delete process.env[ENV_FROM_THREAD];
const parentGone = (): boolean => !fromThread || process.ppid !== Number(parentPid);
const unborn = (): void => {
  if (!daemon)
    process.stderr.write(
      parentGone()
        ? `weft: process ${process.pid}: its parent (pid ${parentPid}) ended before it started its target, which did not run\n`
        : `weft: process ${process.pid}: the thread of pid ${parentPid} that started it ended before it had sent it its target, which did not run\n`,
    );
  process.exit(1);
};
// The channel closing before the boot message came: it never will (what was sent before the
// closing has been delivered), whoever closed it.
let booted = false;
const onDisconnect = (): void => {
  if (!booted) unborn();
};
// The channel may have closed while this module loaded: then 'disconnect' has come and gone
// (and a boot message sent before it is delivered by onBoot, below, first).
if (process.connected) process.once('disconnect', onDisconnect);
onBoot((m) => {
  const boot = m as BootMessage;
  // The boot message is sent at fork: it may be read after the parent ended (its 'disconnect'
  // not yet seen). A parent that is gone has been replaced as this process's parent.
  if ((!process.connected && !fromThread) || process.ppid !== boot.parentPid) {
    unborn();
    return;
  }
  booted = true;
  process.off('disconnect', onDisconnect);
  adoptTsLoader(boot.tsLoader ?? null, boot.tsLoaderOn === true);
  process.title = boot.name;
  // Every child is a child, whatever its role: a pool worker that still answered `MainProcess`
  // ran the top-level code the docs guard with `currentProcess().name === 'MainProcess'`, and
  // started pools of its own without end. A Process's role refines this (process-child.ts).
  setIdentity({
    name: boot.name,
    daemon: boot.daemon,
    parentPid: boot.parentPid,
    parentName: boot.parentName,
    childPrefix: `${boot.name}:`,
    ...(boot.ident ? { ident: boot.ident } : {}),
  });
  if (boot.daemon) {
    watchParent(boot.parentPid);
    // A thread's channel closes with the thread: the watchdog alone sees the process end.
    if (!fromThread) process.on('disconnect', () => process.exit(1));
  }
  void (async () => {
    // The shared kinds' modules and the role, named at fork (see ENV_EARLY_MODULES).
    await early;
    const role = (await import(boot.role)) as { main(payload: unknown): Promise<void> };
    await role.main(boot.payload);
  })();
});
// Closed already, and no boot message came before the closing (onBoot answered at once if one had).
if (!process.connected && !booted) unborn();
