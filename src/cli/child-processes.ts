/**
 * The child processes a lesson started (weft/multiprocessing `Process`es still running), ended
 * when `weft run` / `weft tour` stops before the lesson could end them itself: the lesson failed,
 * the user pressed Ctrl-C (or the command got SIGTERM or SIGHUP), or the reader of its output
 * went away. Without this, a non-daemon child outlives the command: its parent, and with it the
 * multiprocessing broker, are gone, and a child that waits (on a Barrier, a join, a timer that
 * never ends) waits for ever. Python's own exit terminates the daemon children and joins the
 * others; a command that is stopping joins nobody, so it ends them all.
 *
 * Ctrl-C on a terminal signals the whole process group, children included, but `kill -INT
 * <pid>` (or SIGTERM from a supervisor) reaches the command alone: then only this ends them.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import type { CliContext } from './command.js';

/** Tuning: how long a child may take to end after SIGTERM before it gets SIGKILL. */
const GRACE_MS = 1000;
/** Tuning: how many times to look again for children the lesson started meanwhile. */
const MAX_ROUNDS = 5;

/**
 * Ends the children of this process that are still running: SIGTERM, and SIGKILL for those
 * still alive after GRACE_MS. The lesson goes on meanwhile and may start others (its join()
 * returned): they are ended too. Resolves with how many there were, once they have all ended.
 */
export async function endChildProcesses(): Promise<number> {
  // A multiprocessing child is forked by Process.start() itself (no later step), so one listed
  // by activeChildren() is a Node child of this process that the kernel lists too, until it has
  // been reaped. With none, there is nothing to end, and nothing to load.
  if (hasNoNodeChild()) return 0;
  // Loaded here: only a stopping command with children pays for it (some 0.3 s of CPU where the
  // lesson had not loaded it). The same module as the lessons' `weft/multiprocessing` (tsconfig
  // maps it to src/multiprocessing/), so it knows their children.
  const { activeChildren } = await import('../multiprocessing/index.js');
  const seen = new Set<unknown>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const children = activeChildren();
    if (children.length === 0) break;
    for (const p of children) seen.add(p);
    const signal = (sig: 'terminate' | 'kill') => {
      for (const p of children) {
        try {
          if (p.isAlive()) p[sig]();
        } catch {
          // Closed or ended meanwhile: nothing to end.
        }
      }
    };
    const ended = () => Promise.all(children.map((p) => p.join({ timeout: GRACE_MS })));
    signal('terminate');
    await ended();
    signal('kill');
    await ended();
  }
  return seen.size;
}

/**
 * True when no child of this process runs Node (this process's executable, which
 * weft/multiprocessing forks): then none is a lesson's Process. Linux lists each thread's
 * children in /proc/self/task/<tid>/children (one forked from a worker thread is that thread's);
 * other children are let be, as a TypeScript loader's esbuild service (a child of the loader's
 * hooks thread). False where it cannot tell: no such files (another system, a kernel without
 * CONFIG_PROC_CHILDREN), a child already ended but not yet reaped (no executable to read), or a
 * thread that ended while it looked (its children went to another, maybe one already read).
 */
function hasNoNodeChild(): boolean {
  try {
    const node = realpathSync(process.execPath);
    for (const tid of readdirSync('/proc/self/task')) {
      const children = readFileSync(`/proc/self/task/${tid}/children`, 'latin1').trim();
      if (children === '') continue;
      for (const pid of children.split(' ')) {
        // " (deleted)": the child's executable was replaced at its path after it started (Node
        // upgraded in place); this process's execPath names the new one.
        const exe = readlinkSync(`/proc/${pid}/exe`);
        if (exe === node || exe === `${node} (deleted)`) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/** `ended the 3 child processes the lesson had started` (for n > 0). */
export function endedChildren(n: number): string {
  return `ended the ${n === 1 ? 'child process' : `${n} child processes`} the lesson had started`;
}

let exiting = false;

/** True once a stopping command is ending its children: it exits when they are gone. */
export function isExiting(): boolean {
  return exiting;
}

/**
 * Ends the children (endChildProcesses), then calls `exit` with how many there were. For the
 * ways out of a command that is stopping early (a signal, a closed pipe): only the first call
 * does anything, so that a pipe that closes while a signal is handled does not exit half-way.
 */
export function endChildrenThenExit(exit: (ended: number) => void): void {
  if (exiting) return;
  exiting = true;
  endChildProcesses().then(
    async (n) => exit(n + (await endOtherChildren())),
    async () => exit(await endOtherChildren()),
  );
}

/**
 * SIGTERM to the children of the main thread that are still running once the lesson's Processes
 * are ended: programs the lesson started with weft/asyncio's createSubprocessExec/Shell or
 * node:child_process (lesson 52's `sleep 60`), which `kill -INT <pid>` does not reach and which
 * would run on after the command (Python's asyncio kills a child that still runs when its
 * transport is closed). Only on the way out of a stopping command: a lesson that merely failed
 * leaves them be, since a child of the main thread may serve the command itself; weft's own
 * helpers (helper-pids.ts) are let be. How many it signalled; none where /proc cannot tell.
 */
async function endOtherChildren(): Promise<number> {
  const list = (): string[] => {
    try {
      const children = readFileSync(`/proc/self/task/${process.pid}/children`, 'latin1').trim();
      return children === '' ? [] : children.split(' ');
    } catch {
      return []; // No /proc: nothing known to end.
    }
  };
  if (list().length === 0) return 0;
  // Loaded here, not at the top: `weft --help` and `weft lessons` load nothing outside src/cli/.
  const helperPids = await import('../internal/process/helper-pids.js').then(
    (m) => m.helperPids,
    () => new Set<number>(),
  );
  let ended = 0;
  // Read again: the lesson went on while the module loaded.
  for (const pid of list()) {
    // weft's own helpers (a SharedMemoryManager's watcher) clean up after this process.
    if (helperPids.has(Number(pid))) continue;
    try {
      // An ended child not yet reaped is a zombie: nothing to end, and not to be counted.
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      process.kill(Number(pid), 'SIGTERM');
      ended++;
    } catch {
      // Ended meanwhile.
    }
  }
  return ended;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * For the commands that run lessons: SIGINT, SIGTERM or SIGHUP ends the lesson's child
 * processes, says so, then ends this process by the same signal (as it would have died without
 * the handler, so that a shell sees 130 for Ctrl-C). A second signal while that happens ends the
 * process at once.
 */
export function endChildrenOnSignals(context: CliContext): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    endChildrenThenExit((n) => {
      context.err(`\nweft: stopped by ${signal}${n > 0 ? `; ${endedChildren(n)}` : ''}\n`);
      process.kill(process.pid, signal);
    });
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
}
