/**
 * The world: one SharedArrayBuffer shared by every weft thread of a process, created by the main
 * thread and handed to each worker at spawn. It holds what any thread must be able to read about
 * any other thread or lock without having been given that object: the thread table (liveness,
 * names, what each thread waits for) and the lock cells (Lock and RLock state words), so that
 * deadlock detection can walk "thread → lock it waits for → thread holding it → …" from anywhere.
 *
 * Header
 * | idx | name           | writer        | readers | meaning                                     |
 * |  0  | MAGIC          | creator       | any     | 0x57454654 ("WEFT") once initialised        |
 * |  1  | NEXT_CELL      | any (add)     | any     | lock cells handed out so far                |
 * |  2  | NEXT_SAB_ID    | any (add)     | any     | ids given to shared buffers so far          |
 * |  3  | THREAD_COUNTER | any (add)     | any     | N of the last default name `Thread-N`       |
 * |  4  | FREE_LOCK      | any (cas)     | any     | spin lock of the free-cell stack            |
 * |  5  | FREE_COUNT     | lock holder   | any     | cells on the free-cell stack (at FREE)      |
 * |  6  | BROKER         | any (cas)     | any     | multiprocessing's broker: 0 none, 1 being   |
 * |     |                |               |         | claimed, 2 started (main), 3 wanted (a      |
 * |     |                |               |         | worker claimed it; the main thread starts)  |
 * |  7  | BROKER_NONCE   | the claimer   | any     | names its socket; valid once BROKER ≥ 2     |
 * |  8  | PROC_COUNTER   | any (add)     | any     | N of the last child process numbered here   |
 * |     |                |               |         | (multiprocessing's `Process-N`, one counter |
 * |     |                |               |         | for every thread, as Python's)              |
 * |  9  | REWALK         | any (add)     | any     | moved on (and notified) when a wait-for walk|
 * |     |                |               |         | closed a cycle it was not sure of: every    |
 * |     |                |               |         | thread's async lock waits walk again        |
 * |     |                |               |         | (src/threading/lock-core.ts)                |
 * | 10  | CHILD_SWEEP    | any (cas)     | any     | try-lock of the child table's sweep: the    |
 * |     |                |               |         | holder's tid (0 free); it alone frees       |
 * |     |                |               |         | orphans' slots                              |
 * | 11  | TASK_IDS       | any (add)     | any     | ids given to asyncio tasks that took or     |
 * |     |                |               |         | waited for a lock (lock-core.ts), so far    |
 * | 12  | STACK_SIZE     | any (xchg)    | spawners| threading.stackSize() in bytes: the stack of|
 * |     |                |               |         | the threads started from now on; 0 Node's   |
 * |     |                |               |         | default (at most 2^30: fits the word)       |
 *
 * Thread slot (SLOT_WORDS words; a thread claims the first free or finished slot from
 * THREADS + (tid mod THREAD_CAP) × SLOT_WORDS on, see `claimSlot`)
 * | idx | name        | writer              | readers | meaning                                    |
 * |  0  | TID         | spawner, thread     | any     | tid owning the slot (threadId + 1)         |
 * |  1  | STATE       | spawner, thread     | any     | 0 free, 1 alive, 2 finished, 3 claimed     |
 * |  2  | WAITING_FOR | the thread          | any     | lock cell + 1 it is parked on (blocking),  |
 * |     |             |                     |         | −(cell + 1) for an async wait, 0 if none   |
 * |  3  | DAEMON      | spawner; an         | any     | 1 for a daemon thread; 2 for an executor's |
 * |     |             | executor's thread   |         | (not daemonic; its executor waits for it;  |
 * |     |             | (2)                 |         | the thread writes it at its start)         |
 * |  4  | NATIVE_ID   | the thread          | any     | OS thread id, 0 until the thread booted    |
 * |  5  | NAME_LEN    | spawner, renamer    | any     | bits 0–7: UTF-16 length of the name (≤     |
 * |     |             | (cas)               |         | NAME_CHARS); bits 8–30: rename count; −1   |
 * |     |             |                     |         | while a rename writes NAME (a seqlock)     |
 * |  6  | WAIT_TASK   | the thread          | any     | id of the asyncio task whose wait          |
 * |     |             |                     |         | WAITING_FOR records (0: none); written     |
 * |     |             |                     |         | with WAITING_FOR at 0, so a reader that    |
 * |     |             |                     |         | reads WAITING_FOR, it, WAITING_FOR and     |
 * |     |             |                     |         | sees one value twice has a matching pair   |
 * | 7…  | NAME        | spawner, renamer    | any     | the name, two UTF-16 code units a word     |
 *
 * Lock cell (CELL_WORDS words at CELLS + cell × CELL_WORDS)
 * | idx | name    | writer          | readers | meaning                                           |
 * |  0  | STATE   | any (cas)       | any     | 0 free; owner tid; OWNER_DIED after a dead holder; |
 * |     |         |                 |         | ORPHANED: a Lock held, its holder ended normally  |
 * |  1  | COUNT   | the owner (*)   | owner   | RLock recursion depth                             |
 * |  2  | WAITERS | waiters (add)   | wakers  | threads/tasks parked or about to park on STATE    |
 * |  3  | KIND    | creator         | any     | 1 Lock, 2 RLock (for names in deadlock reports)   |
 * |  4  | ASYNC   | async waiters   | wakers  | the async ones among WAITERS (wait.ts: wakeSome)  |
 * |  5  | TASK    | the owner (**)  | any     | id (in the owner's thread) of the asyncio task    |
 * |     |         |                 |         | whose async acquire took it; 0 for a take by      |
 * |     |         |                 |         | blocking code or outside any task, or when free   |
 *
 * (*) and, once the owner has died without recovering its locks, the thread that saw it exit
 *     (`recoverCellsOf`), which resets COUNT before it marks STATE OWNER_DIED.
 * (**) written just after the take that sets STATE; cleared by whichever thread releases it, just
 *     after STATE is given up (a cas: only the id it read, so a new holder's is left), or by
 *     `markOwnerDied` before STATE is marked. Task ids are unique in the process
 *     (`nextTaskId`), so a stale id never names a task of the lock's new holder.
 *
 * Child slot (CHILD_WORDS words at CHILDREN + k × CHILD_WORDS; multiprocessing's table of the
 * child processes any thread of this process started, src/multiprocessing/child-table.ts)
 * | idx | name    | writer (*)          | readers | meaning                                      |
 * |  0  | PID     | owner (cas), sweeper| any     | the child's pid; 0 for a free slot; −tid     |
 * |     |         | (cas), reaper       |         | while thread tid claims or frees the slot    |
 * |  1  | FLAGS   | owner, reaper (or), | any     | bit 0 daemon; bit 1 orphan: its owner thread |
 * |     |         | sweeper             |         | is gone (set by the owner as it exits, or by |
 * |     |         |                     |         | the thread that saw it exit: reapThread)     |
 * |  2  | OWNER   | owner, sweeper,     | any     | tid of the thread that started it            |
 * |     |         | reaper              |         |                                              |
 * |  3  | IDENT   | owner               | any     | last number of the child's `_identity` (its  |
 * |     |         |                     |         | start's nextChild); 0 when not known         |
 * |  4  | NAME_LEN| owner               | any     | UTF-16 length of the name as written (at     |
 * |     |         |                     |         | most CH_NAME_UNITS: a longer name is cut)    |
 * | 5–31| NAME    | owner               | any     | the child's name at start(), two UTF-16      |
 * |     |         |                     |         | units a word (low half first)                |
 * IDENT, NAME_LEN and NAME are written before PID is published, and a reader that reads them
 * after PID checks PID again: a slot freed and taken meanwhile shows another pid.
 * (*) owner: the thread that started the child, which frees the slot when it hears the child's
 *     exit; sweeper: the holder of CHILD_SWEEP, which frees an orphan's slot once the child has
 *     ended (child-table.ts: `sweep`); reaper: the thread that saw the owner exit
 *     (`orphanChildrenOf`), which also frees a slot the owner left at −tid.
 *
 * Task waits (TASK_WAIT_CAP entries of TW_WORDS words per thread slot, at TASK_WAITS +
 * (slot index × TASK_WAIT_CAP + k) × TW_WORDS; the untimed async lock waits of a thread's asyncio
 * tasks, one entry each, so that a walk reaching the thread by a lock one task holds finds that
 * task's wait, whichever wait WAITING_FOR records; src/threading/lock-core.ts)
 * | idx | name    | writer     | readers | meaning                                              |
 * |  0  | RECORD  | the thread | any     | −(cell + 1) of the lock the task awaits; 0 free      |
 * |  1  | TASK    | the thread | any     | the waiting task's id; 0 free. Claimed TASK then     |
 * |     |         |            |         | RECORD, freed RECORD then TASK: a reader that reads  |
 * |     |         |            |         | RECORD, TASK, RECORD and sees one value twice has a  |
 * |     |         |            |         | matching pair (as WAITING_FOR and WAIT_TASK)         |
 * The slot's claimer clears them (`registerThread`).
 *
 * Invariants: a tid is below 2^30 and never 0, so STATE fits a tid or the OWNER_DIED and ORPHANED
 * markers (neither names a thread: a walk of the wait-for graph stops there); for
 * one tid a slot's STATE only goes 3 → 1 → 2 (a finished slot may then be claimed again); cells are never freed, so a cell index names
 * the same lock while any thread may hold it: only a lock that never left its thread goes back to
 * the free-cell stack when it is garbage-collected (`freeCell`). When the cells run out, locks
 * fall back to private memory and are left out of deadlock detection (see `allocCell`).
 */
import { existsSync, readlinkSync } from 'node:fs';
import { isMainThread, threadId, workerData } from 'node:worker_threads';
import { add, cas, exchange, load, notify, or, store } from '../atomics.js';
import { RuntimeError } from '../errors.js';

export const MAGIC = 0x57454654;
const H_MAGIC = 0;
const H_NEXT_CELL = 1;
const H_NEXT_SAB_ID = 2;
const H_THREAD_COUNTER = 3;
const H_FREE_LOCK = 4;
const H_FREE_COUNT = 5;
const H_BROKER = 6;
const H_BROKER_NONCE = 7;
const H_PROC_COUNTER = 8;
/** Header word moved on to make every async lock wait walk the wait-for graph again. */
export const H_REWALK = 9;
/** Header word: the child table's sweep lock (child-table.ts). */
export const H_CHILD_SWEEP = 10;
/** Header word: asyncio task ids handed out so far (`nextTaskId`). */
const H_TASK_IDS = 11;
/** Header word: threading.stackSize() (src/threading/stack-size.ts). */
const H_STACK_SIZE = 12;
const BROKER_CLAIMING = 1;
const BROKER_STARTED = 2;
const BROKER_WANTED = 3;
const HEADER_WORDS = 16;

export const THREAD_CAP = 1024;
/** 33: the name keeps its 26 words (52 UTF-16 units) after WAIT_TASK. */
export const SLOT_WORDS = 33;
export const T_TID = 0;
export const T_STATE = 1;
export const T_WAITING_FOR = 2;
export const T_DAEMON = 3;
export const T_NATIVE_ID = 4;
const T_NAME_LEN = 5;
/** The asyncio task id of the wait WAITING_FOR records (see the layout and lock-core.ts). */
export const T_WAIT_TASK = 6;
const T_NAME = 7;
const NAME_CHARS = (SLOT_WORDS - T_NAME) * 2;
export const THREAD_FREE = 0;
export const THREAD_ALIVE = 1;
export const THREAD_FINISHED = 2;
/** A spawner has taken the slot and is filling it in. */
const THREAD_CLAIMED = 3;

export const CELL_CAP = 65536;
/** Trade-off: one 64-byte cache line per lock (4 MiB of address space for all cells, committed
 * only as touched) so that two locks used by two threads never share a line. */
export const CELL_WORDS = 16;
export const C_STATE = 0;
export const C_COUNT = 1;
export const C_WAITERS = 2;
export const C_KIND = 3;
export const C_ASYNC_WAITERS = 4;
/** The holding asyncio task's id within its thread (0: none), see the layout. */
export const C_TASK = 5;
/** STATE of a lock whose holder died holding it: the next waiter learns it, then it is free. */
export const OWNER_DIED = 0x40000000;
/**
 * STATE of a Lock (never an RLock) whose holder thread ended normally without releasing it: still
 * held, as in Python, where a Lock has no owner and a thread's end releases nothing; any thread
 * may release it (a hand-off). Not OWNER_DIED: nobody crashed, and nothing half-done is reported.
 */
export const ORPHANED = 0x40000001;

const THREADS = HEADER_WORDS;
const CELLS = THREADS + THREAD_CAP * SLOT_WORDS;
const FREE = CELLS + CELL_CAP * CELL_WORDS;
/** Multiprocessing's child table (layout above): CHILD_CAP slots of CHILD_WORDS words. */
export const CHILDREN = FREE + CELL_CAP;
export const CHILD_CAP = 1024;
export const CHILD_WORDS = 32;
export const CH_PID = 0;
export const CH_FLAGS = 1;
export const CH_OWNER = 2;
export const CH_IDENT = 3;
export const CH_NAME_LEN = 4;
export const CH_NAME = 5;
/** The longest name a child slot keeps: 27 words of two UTF-16 units. */
export const CH_NAME_UNITS = (CHILD_WORDS - CH_NAME) * 2;
export const CH_DAEMON = 1;
export const CH_ORPHAN = 2;
/**
 * The task-wait table (layout above). Tuning: how many asyncio tasks of one thread may each await
 * a lock and be seen by every walk (a wait beyond is seen only while it is its thread's latest),
 * against 256 bytes per thread slot (committed only as touched).
 */
export const TASK_WAIT_CAP = 32;
export const TW_WORDS = 2;
export const TW_RECORD = 0;
export const TW_TASK = 1;
const TASK_WAITS = CHILDREN + CHILD_CAP * CHILD_WORDS;
const TOTAL_WORDS = TASK_WAITS + THREAD_CAP * TASK_WAIT_CAP * TW_WORDS;

/** Name of the workerData field that carries the world to a worker. */
export const WORLD_KEY = '__weftWorld';

interface World {
  sab: SharedArrayBuffer;
  i32: Int32Array;
  u16: Uint16Array;
}

function createWorld(): World {
  const sab = new SharedArrayBuffer(TOTAL_WORDS * 4);
  const w = { sab, i32: new Int32Array(sab), u16: new Uint16Array(sab) };
  const main = THREADS + 1 * SLOT_WORDS; // the main thread (tid 1) in its home slot
  store(w.i32, main + T_TID, 1);
  store(w.i32, main + T_STATE, THREAD_ALIVE);
  // On Linux the main thread's id is the process id.
  store(w.i32, main + T_NATIVE_ID, process.pid);
  writeName(w, main, 'MainThread');
  // Published last: a reader that sees MAGIC sees the main thread's slot too.
  store(w.i32, H_MAGIC, MAGIC);
  return w;
}

function adopt(sab: SharedArrayBuffer): World {
  checkLayout(sab);
  return { sab, i32: new Int32Array(sab), u16: new Uint16Array(sab) };
}

/**
 * A world made by another build of weft (a stale dist/ next to the sources, two versions in one
 * program) has another layout: refused here, not a RangeError in some later thread or child.
 */
function checkLayout(sab: SharedArrayBuffer): void {
  if (sab.byteLength === TOTAL_WORDS * 4) return;
  throw new RuntimeError(
    `weft: this thread's shared state was made by another build of weft (${sab.byteLength} bytes, this build's is ${TOTAL_WORDS * 4}): load one build of weft (rebuild dist/ if it is stale)`,
    'ERR_WEFT_WORLD_MISMATCH',
  );
}

// Kept on globalThis under a registered symbol: two copies of weft in one thread (sources under
// tsx and dist/) must see one world, or their locks could not detect each other's deadlocks.
const KEY = Symbol.for('weft.world');
const holder = globalThis as unknown as { [KEY]?: World };
if (holder[KEY] === undefined) {
  const given = (workerData as Record<string, unknown> | null)?.[WORLD_KEY];
  holder[KEY] = !isMainThread && given instanceof SharedArrayBuffer ? adopt(given) : createWorld();
}
const world: World = holder[KEY];
checkLayout(world.sab);

export const worldBuffer = (): SharedArrayBuffer => world.sab;
export const worldWords = (): Int32Array => world.i32;

/** This thread's id in lock words and the thread table (Node's threadId + 1: never 0). */
export const selfTid = threadId + 1;

// Where each tid's slot is, as this thread last found it.
const slots = new Map<number, number>();

/**
 * The slot of `tid`, or its home slot (tid mod THREAD_CAP) when the table has none for it:
 * callers compare the slot's TID before trusting it.
 */
export function slotOf(tid: number): number {
  const known = slots.get(tid);
  if (known !== undefined && load(world.i32, known + T_TID) === tid) return known;
  for (let k = 0; k < THREAD_CAP; k++) {
    const slot = THREADS + ((tid + k) % THREAD_CAP) * SLOT_WORDS;
    if (load(world.i32, slot + T_TID) === tid) {
      if (slots.size > 4 * THREAD_CAP) slots.clear();
      slots.set(tid, slot);
      return slot;
    }
  }
  return THREADS + (tid % THREAD_CAP) * SLOT_WORDS;
}

/**
 * Claims a slot for `tid`: its own if it has one, else the first free or finished one from its
 * home slot on. Slots are reused, so a long-lived thread never collides with later ones.
 */
function claimSlot(tid: number): number {
  const own = ownSlot(tid);
  if (own >= 0) return own;
  for (let k = 0; k < THREAD_CAP; k++) {
    const slot = THREADS + ((tid + k) % THREAD_CAP) * SLOT_WORDS;
    const state = load(world.i32, slot + T_STATE);
    // CAS on STATE: two spawners racing for one slot, one wins.
    if (
      (state === THREAD_FREE || state === THREAD_FINISHED) &&
      cas(world.i32, slot + T_STATE, state, THREAD_CLAIMED) === state
    ) {
      store(world.i32, slot + T_TID, tid);
      slots.set(tid, slot);
      return slot;
    }
  }
  throw new RangeError(`weft: more than ${THREAD_CAP} threads alive at once`);
}

/** Where the task-wait entries of thread slot `slot` start (TASK_WAIT_CAP of TW_WORDS words). */
export function taskWaitsOf(slot: number): number {
  return TASK_WAITS + ((slot - THREADS) / SLOT_WORDS) * TASK_WAIT_CAP * TW_WORDS;
}

export function cellOffset(cell: number): number {
  return CELLS + cell * CELL_WORDS;
}

function lockFreeList(): void {
  // Held for one push or pop: a few instructions, so spinning beats parking.
  while (cas(world.i32, H_FREE_LOCK, 0, 1) !== 0) {}
}

function unlockFreeList(): void {
  store(world.i32, H_FREE_LOCK, 0);
}

/** A fresh lock cell of `kind` (1 Lock, 2 RLock), or -1 when all are taken (the lock then
 * lives in its own buffer). */
export function allocCell(kind: number): number {
  let cell = -1;
  if (load(world.i32, H_FREE_COUNT) > 0) {
    lockFreeList();
    const n = load(world.i32, H_FREE_COUNT);
    if (n > 0) {
      cell = load(world.i32, FREE + n - 1);
      store(world.i32, H_FREE_COUNT, n - 1);
    }
    unlockFreeList();
  }
  if (cell < 0) {
    cell = add(world.i32, H_NEXT_CELL, 1);
    if (cell >= CELL_CAP) return -1;
  }
  store(world.i32, cellOffset(cell) + C_KIND, kind);
  return cell;
}

/** Gives back the cell of a garbage-collected lock that no other thread ever saw. */
export function freeCell(cell: number): void {
  const at = cellOffset(cell);
  store(world.i32, at + C_STATE, 0);
  store(world.i32, at + C_COUNT, 0);
  store(world.i32, at + C_WAITERS, 0);
  store(world.i32, at + C_ASYNC_WAITERS, 0);
  store(world.i32, at + C_TASK, 0);
  lockFreeList();
  const n = load(world.i32, H_FREE_COUNT);
  store(world.i32, FREE + n, cell);
  store(world.i32, H_FREE_COUNT, n + 1);
  unlockFreeList();
}

/**
 * Hands back every lock cell that thread `tid` still holds, marked OWNER_DIED, and wakes their
 * waiters; returns how many it found. For a worker that ended without recovering what it held
 * itself: ended by `terminate()` (a forced cancellation, `Pool.terminate`), out of memory, or an
 * executor worker, which runs no per-lock recovery. Called by the thread that saw the worker's
 * 'exit', so `tid` is dead: Node never gives a thread id twice in a process, so no later thread
 * can hold these cells under it, and a lock that reads `tid` now will never be released.
 * A walk over the cells handed out so far: tens of microseconds for thousands of locks, once
 * per worker exit.
 */
export function recoverCellsOf(tid: number): number {
  const w = world.i32;
  const used = Math.min(load(w, H_NEXT_CELL), CELL_CAP);
  let found = 0;
  for (let cell = 0; cell < used; cell++) if (markOwnerDied(w, cellOffset(cell), tid)) found++;
  return found;
}

/**
 * The lock whose STATE word is a[at] (a cell, or a lock in its own buffer) was held by `tid`,
 * which has ended: marks it OWNER_DIED and wakes its waiters; false if `tid` did not hold it.
 * COUNT and TASK first: the thread that takes OWNER_DIED next starts from a depth of 0 and no
 * holding task.
 */
export function markOwnerDied(a: Int32Array, at: number, tid: number): boolean {
  if (load(a, at + C_STATE) !== tid) return false;
  store(a, at + C_COUNT, 0);
  store(a, at + C_TASK, 0);
  if (cas(a, at + C_STATE, tid, OWNER_DIED) !== tid) return false;
  notify(a, at + C_STATE);
  return true;
}

/**
 * What the thread that sees worker thread `tid` exit does: hands back the locks it still holds
 * (`recoverCellsOf`: it may have been killed before it could) and marks it finished, in that
 * order, so that joiners find them recovered. Returns how many locks it handed back.
 */
export function reapThread(tid: number): number {
  const recovered = recoverCellsOf(tid);
  orphanChildrenOf(tid);
  finishThread(tid);
  return recovered;
}

/**
 * Marks orphan the child processes thread `tid` started and has not seen end: `tid` is gone (it
 * exits, or another thread saw its worker exit — one ended by `terminate()` or out of memory ran
 * no exit code of its own), and nobody else will hear those children's exit (child-table.ts).
 */
export function orphanChildrenOf(tid: number): void {
  const w = world.i32;
  // A thread killed while it swept or wrote a slot left it taken (−tid): let go of it.
  cas(w, H_CHILD_SWEEP, tid, 0);
  for (let k = 0; k < CHILD_CAP; k++) {
    const at = CHILDREN + k * CHILD_WORDS;
    const pid = load(w, at + CH_PID);
    if (pid === -tid) {
      store(w, at + CH_FLAGS, 0);
      store(w, at + CH_OWNER, 0);
      store(w, at + CH_PID, 0);
      continue;
    }
    if (pid <= 0 || load(w, at + CH_OWNER) !== tid) continue;
    // An or, not a store: FLAGS keeps the daemon bit. Skipped when already set: the slot may be
    // freed and taken again once it is (tids are never reused, so a new owner is another tid).
    if ((load(w, at + CH_FLAGS) & CH_ORPHAN) === 0) or(w, at + CH_FLAGS, CH_ORPHAN);
  }
}

/** The name deadlock reports give a lock cell, the same in every thread. */
export function cellName(cell: number): string {
  return `${load(world.i32, cellOffset(cell) + C_KIND) === 2 ? 'RLock' : 'Lock'}-${cell + 1}`;
}

/** A new asyncio task id, unique in the process (1 … 2^31 − 1, then again from 1). */
export function nextTaskId(): number {
  return (add(world.i32, H_TASK_IDS, 1) + 1) & 0x7fffffff || 1;
}

/** The stack size threads are started with, in bytes (0: Node's default). */
export function threadStackSize(): number {
  return load(world.i32, H_STACK_SIZE);
}

/** Sets the stack size of the threads started from now on; returns the one it replaces. */
export function exchangeThreadStackSize(bytes: number): number {
  return exchange(world.i32, H_STACK_SIZE, bytes);
}

export function nextSabId(): number {
  return add(world.i32, H_NEXT_SAB_ID, 1) + 1;
}

/**
 * The one multiprocessing broker of this process's threads (broker-client.ts). The first caller
 * of any thread claims it and picks the nonce that names its socket; `claimed` tells it to see to
 * the start. A worker cannot start it (the broker would end with that worker): it leaves it
 * WANTED for the main thread.
 */
export function claimBroker(): { nonce: number; claimed: boolean } {
  const w = world.i32;
  if (cas(w, H_BROKER, 0, BROKER_CLAIMING) === 0) {
    const nonce = 1 + Math.floor(Math.random() * 0x7ffffffe);
    store(w, H_BROKER_NONCE, nonce);
    store(w, H_BROKER, isMainThread ? BROKER_STARTED : BROKER_WANTED);
    return { nonce, claimed: true };
  }
  while (load(w, H_BROKER) === BROKER_CLAIMING) {
    // The claimer is between its two stores: a few instructions.
  }
  return { nonce: load(w, H_BROKER_NONCE), claimed: false };
}

/**
 * Main thread, asked by a worker started with a plain `new Worker` (a world of its own, whose
 * claim this one never saw) to start the broker its claim named by `nonce`: takes that nonce as
 * this process's broker when none is decided here yet; true then, for the caller that must start
 * it. False when one is decided already (this thread's, or another plain worker's).
 */
export function adoptBroker(nonce: number): boolean {
  const w = world.i32;
  if (cas(w, H_BROKER, 0, BROKER_CLAIMING) !== 0) return false;
  store(w, H_BROKER_NONCE, nonce);
  store(w, H_BROKER, BROKER_STARTED);
  return true;
}

/** Main thread: takes on a start a worker asked for; true once, for the caller that must start it. */
export function takeWantedBroker(): boolean {
  return cas(world.i32, H_BROKER, BROKER_WANTED, BROKER_STARTED) === BROKER_WANTED;
}

export function nextThreadNumber(): number {
  return add(world.i32, H_THREAD_COUNTER, 1) + 1;
}

/** The number of the next child process made in this process, whichever thread makes it. */
export function nextProcessNumber(): number {
  return add(world.i32, H_PROC_COUNTER, 1) + 1;
}

function writeName(w: World, slot: number, name: string): void {
  const n = Math.min(name.length, NAME_CHARS);
  const base = (slot + T_NAME) * 2;
  for (let k = 0; k < n; k++) w.u16[base + k] = name.charCodeAt(k);
  store(w.i32, slot + T_NAME_LEN, n);
}

/** NAME_LEN while a rename writes the name: readers retry (renames are rare and short). */
const NAME_BUSY = -1;

/**
 * Renames thread `tid` for every thread that reads its name (Python's one Thread object, seen
 * from everywhere): a `name =` after `start()`, in the thread or in any other. A seqlock on
 * NAME_LEN: the writer takes it with a cas, writes, and stores the length with the rename count
 * moved on, so a reader that saw the same word before and after its read read a whole name.
 * Nothing when the slot no longer names `tid` (the thread ended and its slot was taken).
 */
export function renameThread(tid: number, name: string): void {
  const slot = ownSlot(tid);
  if (slot < 0) return;
  const at = slot + T_NAME_LEN;
  let cur: number;
  for (;;) {
    cur = load(world.i32, at);
    if (cur !== NAME_BUSY && cas(world.i32, at, cur, NAME_BUSY) === cur) break;
  }
  const n = Math.min(name.length, NAME_CHARS);
  const base = (slot + T_NAME) * 2;
  for (let k = 0; k < n; k++) world.u16[base + k] = name.charCodeAt(k);
  const count = ((cur >>> 8) + 1) & 0x7fffff;
  store(world.i32, at, (count << 8) | n);
}

/** The calling worker thread takes its slot (`registerThread`) and records its OS thread id. */
export function registerSelf(name: string, daemon: boolean | 'executor'): void {
  registerThread(selfTid, name, daemon);
  store(world.i32, slotOf(selfTid) + T_NATIVE_ID, ownNativeId());
}

/** Claims the slot of `tid` for a new thread (the spawner calls it, the thread repeats it). */
export function registerThread(tid: number, name: string, daemon: boolean | 'executor'): void {
  const known = ownSlot(tid) >= 0;
  const slot = claimSlot(tid);
  store(world.i32, slot + T_DAEMON, daemon === 'executor' ? 2 : daemon ? 1 : 0);
  store(world.i32, slot + T_WAITING_FOR, 0);
  store(world.i32, slot + T_WAIT_TASK, 0);
  // A reused slot: the task waits a killed thread left behind name none of the new thread's.
  const waits = taskWaitsOf(slot);
  for (let k = 0; k < TASK_WAIT_CAP * TW_WORDS; k++) store(world.i32, waits + k, 0);
  // The thread repeating its spawner's registration keeps the name there: the spawner may have
  // renamed it already (renameThread), and the name it started with would undo that.
  if (!known) writeName(world, slot, name);
  store(world.i32, slot + T_STATE, THREAD_ALIVE);
}

/**
 * Marks thread `tid` finished (joiners wake). Called by the thread itself as it ends and by the
 * thread that sees its worker exit (one that was killed ran no code of its own to do it).
 */
export function finishThread(tid: number): void {
  const slot = ownSlot(tid);
  if (slot < 0) return;
  store(world.i32, slot + T_STATE, THREAD_FINISHED);
  // Joiners park on STATE without a waiter count: always wake them.
  notify(world.i32, slot + T_STATE);
}

/** The operating system's id of the calling thread (Linux: from /proc; elsewhere the pid). */
export function ownNativeId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || process.pid;
  } catch {
    return process.pid;
  }
}

/**
 * Whether thread `tid` is known to have ended: its slot still names it and says finished, or
 * (Linux) the operating-system thread its slot names is gone. The second answer needs no other
 * thread: a worker killed by `terminate()` is marked finished only by the thread that handles
 * its 'exit' event, which may be the very thread asking (blocked in a synchronous wait). False
 * for a thread the table never had, or whose slot has been taken by another since.
 */
/**
 * Tuning: how often a thread waiting on something a dead thread may hold (a queue's mutex, a
 * Barrier's state) looks at the table for that thread's end: how late it learns of the death,
 * against a look per slice (a stat of /proc on Linux) while the holder stays.
 */
export const DEAD_HOLDER_RECHECK_MS = 100;

export function threadEnded(tid: number): boolean {
  const slot = ownSlot(tid);
  if (slot < 0) return false;
  if (load(world.i32, slot + T_STATE) === THREAD_FINISHED) return true;
  const native = load(world.i32, slot + T_NATIVE_ID);
  if (native === 0 || native === process.pid || process.platform !== 'linux') return false;
  return !existsSync(`/proc/self/task/${native}`);
}

/**
 * The slot `tid` has of its own in the thread table (weft's Threads and pool workers have one),
 * or -1: `slotOf` alone may answer another thread's slot.
 */
export function ownSlot(tid: number): number {
  const slot = slotOf(tid);
  return load(world.i32, slot + T_TID) === tid ? slot : -1;
}

export function threadName(tid: number): string {
  return sharedThreadName(tid) ?? `thread ${tid}`;
}

/** How many UTF-16 code units of a name the thread table keeps. */
export const THREAD_NAME_CHARS = NAME_CHARS;

/** The name thread `tid` has in the table now (its first THREAD_NAME_CHARS units), or null. */
export function sharedThreadName(tid: number): string | null {
  const slot = ownSlot(tid);
  if (slot < 0) return null;
  const at = slot + T_NAME_LEN;
  const base = (slot + T_NAME) * 2;
  for (;;) {
    const before = load(world.i32, at);
    if (before === NAME_BUSY) continue;
    const n = before & 0xff;
    const name = String.fromCharCode(...world.u16.subarray(base, base + n));
    if (load(world.i32, at) === before) return name;
  }
}

export function threadState(tid: number): number {
  const slot = ownSlot(tid);
  return slot >= 0 ? load(world.i32, slot + T_STATE) : THREAD_FINISHED;
}

/**
 * Whether a thread of this process other than the caller, not a daemon (DAEMON 0: an executor's
 * thread, 2, is its executor's to wait for), is alive: what a process's exit waits for.
 */
export function otherNonDaemonAlive(): boolean {
  return aliveTids().some(
    (tid) => tid !== selfTid && load(world.i32, slotOf(tid) + T_DAEMON) === 0,
  );
}

/** Whether the child table records a child of this process (any thread's). */
export function anyChildRecorded(): boolean {
  for (let k = 0; k < CHILD_CAP; k++)
    if (load(world.i32, CHILDREN + k * CHILD_WORDS + CH_PID) !== 0) return true;
  return false;
}

/** Tids of every thread the table knows alive, in slot order (the main thread first). */
export function aliveTids(): number[] {
  const out: number[] = [];
  for (let k = 0; k < THREAD_CAP; k++) {
    const slot = THREADS + k * SLOT_WORDS;
    if (load(world.i32, slot + T_STATE) === THREAD_ALIVE) out.push(load(world.i32, slot + T_TID));
  }
  return out.sort((a, b) => a - b);
}
