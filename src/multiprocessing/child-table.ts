/**
 * The children of this process, whichever thread started them: Python's child belongs to the
 * process, which joins the non-daemon ones and terminates the daemon ones at exit. A weft child's
 * handle (its IPC channel, its exit event) lives in the thread that forked it, and a thread's
 * worker may be gone before the process ends (a daemon Thread, a ThreadPoolExecutor worker): so
 * every child is also written into the world's child table (layout in src/internal/shm/world.ts),
 * which the thread that ends the process reads, and every thread's activeChildren() (with the
 * child's name and identity, written at start).
 *
 *   thread A: p.start() ──record(pid)──▶ world CHILDREN ◀──read── main thread at its end:
 *             'exit' of p ──forget──▶     (pid, flags,          waits while a non-daemon child
 *             A's own end ──orphan──▶      owner tid,           of another thread runs and
 *                                          ident, name)         SIGTERMs the daemon ones (in a
 *                                                               child process: these first)
 *
 * Whether a child still runs: its owner clears its slot when it hears the child's exit. A child
 * whose owner is gone (an orphan: the owner marks it as it exits, or the thread that saw its
 * worker exit does, for one ended by terminate() or out of memory — world.ts `reapThread`) is
 * reaped by nobody (a worker's exit leaves its children running, then zombies), so on Linux /proc
 * answers — running means present, not a zombie, and still ours (the ppid), which also guards
 * against a pid the system has reused. Elsewhere an orphan cannot be watched: it is not waited
 * for, and its slot is freed at the next sweep.
 *
 * Slots: CHILD_CAP (1024) children at once. An orphan's slot is freed by a sweep once its child
 * has ended (a zombie has); a sweep runs each time a thread records a child and when the main
 * thread looks at the table at the process's end, so a long-running program whose threads
 * leave children behind does not fill the table. A child that finds the table full of running
 * children is seen only by its own thread, as every child was before the table.
 *
 * Invariants: a slot's PID goes 0 → −tid → pid (thread tid claims it by cas, fills in FLAGS and
 * OWNER, then publishes the pid) → −tid → 0 (thread tid frees it: the owner when it hears the
 * child's exit; for an orphan, the sweeper once the child has ended; FLAGS and OWNER are zeroed
 * in between). A −tid left by a thread killed mid-way is freed by the thread that sees it exit.
 * The orphan bit is set only once the owner is gone, the owner frees only non-orphans, and only
 * the holder of the world's CHILD_SWEEP lock frees orphans: so one thread at most frees a slot.
 */
import { readFileSync } from 'node:fs';
import { cas, load, parkSync, store } from '../internal/atomics.js';
import { pollUntil } from '../internal/poll-until.js';
import {
  CH_DAEMON,
  CH_FLAGS,
  CH_IDENT,
  CH_NAME,
  CH_NAME_LEN,
  CH_NAME_UNITS,
  CH_ORPHAN,
  CH_OWNER,
  CH_PID,
  CHILD_CAP,
  CHILD_WORDS,
  CHILDREN,
  H_CHILD_SWEEP,
  orphanChildrenOf,
  selfTid,
  worldWords,
} from '../internal/shm/world.js';

/** Trade-off: how often the process's end looks for children of other threads (latency of the exit vs. wake-ups). */
export const CHILD_POLL_MS = 50;
/**
 * Trade-off: how long the process's exit waits for the daemon children it terminated (Python
 * waits for ever; a child that ignores SIGTERM is then left to its watchdog, which SIGKILLs it).
 */
const TERMINATE_GRACE_MS = 2000;

const linux = process.platform === 'linux';

/**
 * Records a child this thread started, with what other threads' activeChildren() show of it:
 * its name at start (cut to CH_NAME_UNITS) and the last number of its `_identity` (0: not
 * known). Its slot, or -1 when the table is full of running children (CHILD_CAP at once): such
 * a child is then seen only by its own thread.
 */
export function recordChild(pid: number, daemon: boolean, name: string, ident: number): number {
  // Orphans' ended children give their slots back first (the table would fill up otherwise).
  sweep();
  const w = worldWords();
  for (let k = 0; k < CHILD_CAP; k++) {
    const at = CHILDREN + k * CHILD_WORDS;
    // The PID word claims the slot (−tid while this thread fills it in: readers skip it, and
    // if this worker is killed meanwhile, the thread that sees it exit frees it: reapThread).
    if (cas(w, at + CH_PID, 0, -selfTid) === 0) {
      store(w, at + CH_FLAGS, daemon ? CH_DAEMON : 0);
      store(w, at + CH_OWNER, selfTid);
      store(w, at + CH_IDENT, ident);
      const n = cutName(name);
      for (let i = 0; i < n; i += 2) {
        store(w, at + CH_NAME + i / 2, name.charCodeAt(i) | ((name.charCodeAt(i + 1) || 0) << 16));
      }
      store(w, at + CH_NAME_LEN, n);
      store(w, at + CH_PID, pid);
      return at;
    }
  }
  return -1;
}

/**
 * How many UTF-16 units of `name` a slot keeps: at most CH_NAME_UNITS, cut at a code point's
 * boundary (a surrogate pair is kept whole or left out).
 */
export function cutName(name: string): number {
  if (name.length <= CH_NAME_UNITS) return name.length;
  const last = name.charCodeAt(CH_NAME_UNITS - 1);
  return last >= 0xd800 && last <= 0xdbff ? CH_NAME_UNITS - 1 : CH_NAME_UNITS;
}

/** The owner heard the child's exit: its slot is free again. */
export function forgetChild(at: number, pid: number): void {
  if (at < 0) return;
  free(worldWords(), at, pid);
}

/** Frees slot `at` (pid `pid`): −tid while FLAGS and OWNER are zeroed, as in recordChild. */
function free(w: Int32Array, at: number, pid: number): void {
  if (cas(w, at + CH_PID, pid, -selfTid) !== pid) return;
  store(w, at + CH_FLAGS, 0);
  store(w, at + CH_OWNER, 0);
  store(w, at + CH_PID, 0);
}

/** This thread is ending: the children it still has are left to the table (Linux: /proc). */
export function orphanChildren(): void {
  orphanChildrenOf(selfTid);
}

/** Whether the child in slot `at` (pid `pid`) still runs, as far as this thread can tell. */
function running(at: number, pid: number): boolean {
  if (linux) return runsHere(pid);
  return (load(worldWords(), at + CH_FLAGS) & CH_ORPHAN) === 0;
}

/** Linux: whether `pid` is present, not a zombie, and our child. */
function runsHere(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.ppid === process.pid;
}

/** Linux: whether process `pid` has ended (gone, or a zombie nobody has reaped yet). */
export function processEnded(pid: number): boolean {
  const st = procStat(pid);
  return st === null || st.state === 'Z';
}

/**
 * Linux: the state letter, parent pid and start time (field 22, in clock ticks since boot: with
 * the pid, it tells one process from a later one given the same pid) of process `pid` from
 * /proc, or null when it is gone.
 */
function procStat(pid: number): { state: string; ppid: number; start: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) S ppid …": the command may hold spaces and parentheses, the last ')' ends it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', ppid: Number(rest[1]), start: rest[19] ?? '' };
}

/**
 * Frees the slots of orphans whose child has ended (off Linux, of every orphan: none can be
 * watched); nothing when another thread is sweeping (it frees them). Reads /proc for orphans
 * only: a few microseconds for an empty table.
 */
function sweep(): void {
  const w = worldWords();
  // The lock holds the sweeper's tid: if its worker is killed mid-sweep, reapThread lets go.
  if (cas(w, H_CHILD_SWEEP, 0, selfTid) !== 0) return;
  try {
    for (let k = 0; k < CHILD_CAP; k++) {
      const at = CHILDREN + k * CHILD_WORDS;
      const pid = load(w, at + CH_PID);
      if (pid <= 0 || (load(w, at + CH_FLAGS) & CH_ORPHAN) === 0) continue;
      if (!linux || !runsHere(pid)) free(w, at, pid);
    }
  } finally {
    store(w, H_CHILD_SWEEP, 0);
  }
}

/** The children other threads started that run now: pid and daemon flag (orphans' freed first). */
function othersRunning(): Array<{ pid: number; daemon: boolean }> {
  sweep();
  const w = worldWords();
  const out: Array<{ pid: number; daemon: boolean }> = [];
  for (let k = 0; k < CHILD_CAP; k++) {
    const at = CHILDREN + k * CHILD_WORDS;
    const pid = load(w, at + CH_PID);
    if (pid <= 0 || load(w, at + CH_OWNER) === selfTid) continue;
    if (running(at, pid)) out.push({ pid, daemon: (load(w, at + CH_FLAGS) & CH_DAEMON) !== 0 });
  }
  return out;
}

/** A child another thread of this process started, as the table shows it (`othersListed`). */
export interface OtherChild {
  pid: number;
  daemon: boolean;
  /** Its name at start(), cut to CH_NAME_UNITS. */
  name: string;
  /** The last number of its `_identity`; 0 when not known. */
  ident: number;
  /** Which child this is (`otherStillRuns`): its slot, its owner's tid, its start time (Linux). */
  slot: number;
  owner: number;
  start: string;
}

/**
 * The children other threads of this process started that run now, with their name and
 * identity (activeChildren(): Python lists every child of the process, whichever thread started
 * it).
 */
export function othersListed(): OtherChild[] {
  sweep();
  const w = worldWords();
  const out: OtherChild[] = [];
  for (let k = 0; k < CHILD_CAP; k++) {
    const at = CHILDREN + k * CHILD_WORDS;
    const pid = load(w, at + CH_PID);
    const owner = load(w, at + CH_OWNER);
    if (pid <= 0 || owner === selfTid) continue;
    const flags = load(w, at + CH_FLAGS);
    const ident = load(w, at + CH_IDENT);
    const n = Math.min(load(w, at + CH_NAME_LEN), CH_NAME_UNITS);
    const units: number[] = [];
    for (let i = 0; i < n; i++) {
      const word = load(w, at + CH_NAME + (i >> 1));
      units.push((i & 1) === 0 ? word & 0xffff : word >>> 16);
    }
    // Freed and taken again while it was read: another child's, or none (skipped).
    if (load(w, at + CH_PID) !== pid || load(w, at + CH_OWNER) !== owner || !running(at, pid)) {
      continue;
    }
    out.push({
      pid,
      daemon: (flags & CH_DAEMON) !== 0,
      name: String.fromCharCode(...units),
      ident,
      slot: at,
      owner,
      start: linux ? (procStat(pid)?.start ?? '') : '',
    });
  }
  return out;
}

/**
 * Whether the child `c` (seen by othersListed) still runs: its slot still holds it, for the same
 * owner (the owner frees it when it hears the child's exit), and on Linux /proc shows it running,
 * our child, with the same start time — so a later child given the same pid, in that slot or
 * another, is not taken for it. Off Linux a slot taken again by the same thread for a child with
 * the same pid cannot be told apart.
 */
export function otherStillRuns(c: OtherChild): boolean {
  const w = worldWords();
  if (load(w, c.slot + CH_PID) !== c.pid || load(w, c.slot + CH_OWNER) !== c.owner) return false;
  if (!linux) return (load(w, c.slot + CH_FLAGS) & CH_ORPHAN) === 0;
  const st = procStat(c.pid);
  return st !== null && st.state !== 'Z' && st.ppid === process.pid && st.start === c.start;
}

/**
 * Resolves once no non-daemon child started by another thread of this process runs (this
 * thread's own are joined through their Process objects); polls, and holds the event loop
 * meanwhile. Null when there is none now.
 */
export function awaitOthersNonDaemon(): Promise<void> | null {
  const busy = (): boolean => othersRunning().some((c) => !c.daemon);
  return busy() ? pollUntil(() => !busy(), CHILD_POLL_MS) : null;
}

/**
 * At the process's exit: SIGTERM to every daemon child another thread started (Python's exit
 * terminates them all; this thread's own get it through their Process objects), once each: a
 * pid in `done` was signalled already (a second SIGTERM could end a child inside its handler
 * for the first), and the pids signalled now are added to it.
 */
export function terminateOthersDaemon(done: Set<number>): void {
  for (const c of othersRunning()) {
    if (!c.daemon || done.has(c.pid)) continue;
    try {
      process.kill(c.pid, 'SIGTERM');
      done.add(c.pid);
    } catch {
      // ended meanwhile
    }
  }
}

/**
 * Blocks until every pid in `pids` has ended (a zombie has), at most TERMINATE_GRACE_MS: Python
 * joins the daemon children it terminated at exit, so what their SIGTERM handlers do is done
 * before the parent is gone (and their watchdogs, which SIGKILL, see it). Linux only: elsewhere
 * the end of a process that is not reaped cannot be seen.
 */
export function awaitEndSync(pids: readonly number[]): void {
  if (!linux || pids.length === 0) return;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + TERMINATE_GRACE_MS;
  for (const pid of pids) {
    while (performance.now() < deadline && !processEnded(pid)) parkSync(nap, 0, 0, 10);
  }
}
