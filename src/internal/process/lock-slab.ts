/**
 * The lock slab: memory shared by every process of one multiprocessing tree, where the words of
 * its `Lock`s and `RLock`s live (and the counts of its `Semaphore`s, the flags of its
 * `Event`s), so that an uncontended acquire and release are an atomic compare-and-swap in the
 * acquiring thread instead of a broker round trip (Python's locks are semaphores in shared memory for the same reason). The broker
 * (broker-lock.ts) still serves every wait: a thread that finds a lock held by another thread
 * reads its word for a moment (SPIN reads, while WAITERS is clear) in case it comes free, then
 * asks the broker, which parks it, hands the lock over in FIFO order, walks for deadlocks and
 * frees the locks of a session that ends.
 *
 * The slab is a file in /dev/shm named after the broker's socket, mapped MAP_SHARED by
 * native/shm/shm.cc as a SharedArrayBuffer; the root process unlinks it when it exits. Without
 * the addon (no compiler, not Linux), without /dev/shm, or with WEFT_LOCK_SLAB=0 or
 * WEFT_NO_NATIVE=1, no slab is mapped and every lock is served by the broker alone, as before.
 *
 * Layout (Int32 indices; the file is SLAB_BYTES, zero-filled when created):
 *
 *   | index      | field        | written by                                   | read by          |
 *   | ---------- | ------------ | -------------------------------------------- | ---------------- |
 *   | 0          | next slot    | a thread creating a lock (Atomics.add)       | the same         |
 *   | 1          | last session | a thread's first use (Atomics.add)           | the same         |
 *   | 2          | broker ready | the broker, 1 once it has mapped the slab    | clients          |
 *   | 3          | Array files  | a thread making an Array's file (Atomics.add) | the same         |
 *   | 4 … 15     | reserved     |                                              |                  |
 *   | 16 + 4k    | slot k: word | see below                                    | everyone         |
 *   | 16 + 4k + 1| holder task  | the holder as it takes it, re-enters or gives back a level; the broker as it grants or stores a release's | the broker's deadlock walk |
 *   | 16 + 4k + 2| count        | the holder (RLock re-entry, release; a plain Lock's stays 1 as it is released in the slab); the broker as it grants, releases or restores a Condition wait's depth | the holder, the broker (only while the lock is held) |
 *   | 16 + 4k + 3| reserved     |                                              |                  |
 *
 * The holder task: the client's number of the asyncio task that took the lock (0: code outside
 * any task), or, for an RLock held by more than one task of its thread, a set of them (sign bit
 * SHARED plus a bit per task, src/internal/process/broker-deadlock.ts).
 *
 * The word: 0 free; else the holder's session number (bits 0–29; HANDOFF while the broker hands
 * the lock over inside one of its handlers), plus WAITERS (bit 30) while the broker has waiters
 * parked for it. Who may change it:
 *   - a thread taking a free lock: CAS 0 → its session number (one that found it held by another
 *     thread reads it up to SPIN times first, and stops at WAITERS, so that it never takes the
 *     lock past a parked waiter; a word naming its own thread it never waits on here: the
 *     holder is its own code, which cannot run while it spins);
 *   - the holder releasing: CAS its number → 0, which fails once WAITERS is set, so that the
 *     release goes to the broker, which hands the lock to the first waiter;
 *   - the broker: any change, always by CAS from the value it read.
 *
 * Invariants:
 *   - A waiter parked in the broker for a lock ⇒ WAITERS is set in its word (the broker sets it
 *     as it parks the waiter, before it answers anything else), so no release can miss it.
 *     WAITERS without waiters (a waiter timed out or withdrew) only sends the next release
 *     through the broker, which clears it.
 *   - The holder task and count are written by the holder's own thread while it holds the lock
 *     outside the broker, and by the broker only while the session it writes for is parked in it
 *     (being granted, or in a Condition wait), so they never have two writers at once. While a
 *     Condition wait of a thread is going on, its other tasks leave the lock's word to the
 *     broker (src/multiprocessing/lock.ts, Holds.waits).
 *   - A thread takes a lock without the broker only once the broker knows its session number
 *     (its hello was written to the socket: `announced()`), so that a process that dies holding
 *     a lock is always one the broker can free it for.
 *   - Slots are never reused: a lock's slot is its for the tree's lifetime. Past SLAB_SLOTS locks,
 *     new ones are served by the broker alone.
 *   - A `Value` takes a slot too and keeps its number there instead (value-cell.ts has that
 *     slot's layout); nothing else reads a Value's slot as a lock word.
 *   - A `Semaphore` (or `BoundedSemaphore`) takes a slot too, whose word is its count (see
 *     below); its other three ints are unused. Nothing reads it as a lock word.
 *   - An `Event` takes a slot too, whose word is its flag (see below); its other three ints
 *     are unused. Nothing reads it as a lock word.
 *   - An `Array` takes no slot: its items are in a file of their own beside the slab
 *     (`arrayPathOf`, array-store.ts).
 *
 * A semaphore's word: its count of permits (bits 0–29, SEM_COUNT; written by its creator before
 * the semaphore reaches anyone), plus WAITERS (bit 30) while the broker has acquires parked for
 * it (broker-sem.ts). Who may change it:
 *   - a thread taking a permit: CAS w → w − 1 when the count is not 0 and WAITERS is clear (with
 *     the count at 0 it may read it up to SPIN times first; with WAITERS set it asks the broker,
 *     so that the parked are served first, in FIFO order);
 *   - a thread giving n back: CAS w → w + n, after checking a BoundedSemaphore's bound and the
 *     count's room (2^30 − 1) against the count it read (the CAS makes those checks hold, so a
 *     refusal is thrown in the releasing thread, never dropped); with WAITERS set it then tells
 *     the broker (a release of 0), which hands the permits to the parked. A BoundedSemaphore's
 *     thread, with WAITERS set, asks the broker to release instead and waits for its answer (the
 *     permits go straight to the parked, so they never count against the bound meanwhile);
 *   - the broker: any change, always by CAS from the value it read.
 * Invariants: a waiter parked for it ⇒ WAITERS set (the broker sets it as it parks the waiter,
 * before it answers anything else, then grants any permit a release left meanwhile), so no
 * acquire in the slab can take a permit past a waiter; permits in the count while waiters are
 * parked are theirs, and the broker serves the parked before any acquire that reaches it
 * (broker.ts, 'semAcquire'), even one that comes before the releaser's word; WAITERS without
 * waiters (a wait timed out or withdrawn, a waiter's process gone) only makes the next release
 * tell the broker, which clears it; a releaser that ends between its compare-and-swap and its
 * word (a process killed) leaves permits the broker hands to the parked when it sees its session
 * end (broker.ts onSessionEnd; a thread not yet known to the broker makes itself known before
 * a release over WAITERS, data-route.ts `knownBeforeWake`, so that its end is seen). No
 * session owns a permit: one taken by a process that dies is not given back (onSessionEnd), so
 * nothing about the takers is kept.
 *
 * An event's word (broker-event.ts):
 *
 *   | bits   | field      | written by                                                        |
 *   | ------ | ---------- | ----------------------------------------------------------------- |
 *   | 0      | FLAG       | a thread's set (CAS, with the generation) and clear (Atomics.and)  |
 *   | 1–29   | generation | a set that raises FLAG adds 1 (modulo 2^29), in the same CAS       |
 *   | 30     | WAITERS    | the broker only, by CAS from the value it read                    |
 *
 * Who may change it:
 *   - a thread's set: CAS w → FLAG | (generation + 1) | (w's WAITERS), only when FLAG is clear
 *     in w (a set of a set event changes nothing); with WAITERS in w it then tells the broker the
 *     generation it made (a post, AT_ONCE), which wakes every waiter parked at an older one;
 *   - a thread's clear: Atomics.and(~FLAG); no message, whoever waits;
 *   - the broker: WAITERS, by CAS from the value it read (and FLAG and the generation, by the
 *     same rules, for the threads that reach it without the slab).
 * Invariants: a waiter parked ⇒ WAITERS set, by a CAS from a word with FLAG clear whose
 * generation the waiter keeps (so every set after it is told to the broker, and a set that
 * came between the waiter's read and that CAS makes the CAS fail and the read start again); no
 * waiter is parked while FLAG is set (the broker wakes them all when it sees it); WAITERS is
 * clear at the end of every broker turn in which no waiter is left (a timeout, a withdrawal,
 * the waiters' session ending). A generation told to the broker wakes only waiters of older
 * generations: one parked after a set and a clear waits for the next set. A set whose thread
 * ended before telling (killed after its CAS) is found when its session ends: the broker then
 * wakes the waiters of generations older than the word's (a thread not yet known to the
 * broker makes itself known before a set over WAITERS, `knownBeforeWake`, so that its end is
 * seen).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

export const SLAB_BYTES = 1 << 20;
const HEADER = 16;
const SLOT_INTS = 4;
export const SLAB_SLOTS = (SLAB_BYTES / 4 - HEADER) / SLOT_INTS;
const NEXT_SLOT = 0;
const LAST_SESSION = 1;
const BROKER_READY = 2;
const ARRAY_FILES = 3;
/**
 * Array files a tree makes (array-store.ts); later Arrays live in the broker. Each file is a
 * mapping in every process that uses its Array, and the root's broker maps them all: Linux
 * allows about 65,530 mappings a process (vm.max_map_count), and V8 itself crashed past it (a
 * reviewer's 70,000 small Arrays). Each file also takes at least a 4 KiB page of /dev/shm.
 */
export const MAX_ARRAY_FILES = 4096;

/** Word bits: the holder's session number, and WAITERS. */
export const HOLDER = 0x3fffffff;
export const WAITERS = 0x40000000;
/** A semaphore's word: its count (the bits below WAITERS), so at most this many permits. */
export const SEM_COUNT = 0x3fffffff;
/** An Event's word: FLAG (bit 0), and the generation (bits 1–29) its sets count. */
export const EVENT_FLAG = 1;
export const EVENT_GEN = 0x3ffffffe;
/**
 * Reads of a word before a thread that found it taken asks the broker (a lock held by another
 * thread, a semaphore with no permit left): a few µs, against a round trip of 50–100 µs.
 */
export const SPIN = 200;
/** The word's holder while the broker hands a lock over (no session has this number). */
export const HANDOFF = HOLDER;

/** Int32 index of slot `slot`'s word; +1 holder task, +2 count. */
export function wordIndex(slot: number): number {
  return HEADER + slot * SLOT_INTS;
}

/**
 * The broker's index of the word of a slot a client sent (a lock's or a semaphore's), or -1
 * when there is no slab here or the slot is not one of its slots: the object then lives in the
 * broker alone.
 */
export function brokerWordIndex(slab: Int32Array | null, slot: unknown): number {
  return slab !== null &&
    Number.isInteger(slot) &&
    (slot as number) >= 0 &&
    (slot as number) < SLAB_SLOTS
    ? wordIndex(slot as number)
    : -1;
}

/** Byte offset of slot `slot` (16 bytes, 8-aligned: a `Value`'s cell, value-cell.ts). */
export function slotOffset(slot: number): number {
  return wordIndex(slot) * 4;
}

export type ShmAddon = {
  map(path: string, size: number, create: boolean, keep?: boolean): SharedArrayBuffer;
  abandoned(path: string): boolean;
  /** Files this process has mapped now (a mapping goes with the last buffer over it). */
  mapped(): number;
};
let addon: ShmAddon | null | undefined;

/**
 * The shm addon (native/shm/shm.cc), or null: not built (no compiler), not Linux, or
 * WEFT_NO_NATIVE=1. `SharedMemory` needs only this; the slab and Array files also need
 * WEFT_LOCK_SLAB not 0 (`loadAddon`).
 */
export function shmAddon(): ShmAddon | null {
  if (addon !== undefined) return addon;
  let found: ShmAddon | null = null;
  if (process.env.WEFT_NO_NATIVE !== '1' && process.platform === 'linux') {
    try {
      // src/internal/process/ and dist/internal/process/ are both three levels below the root.
      found = createRequire(import.meta.url)(
        '../../../native/shm/build/Release/weft_shm.node',
      ) as ShmAddon;
    } catch {
      found = null;
    }
  }
  addon = found;
  return found;
}

/** WEFT_LOCK_SLAB=0, as read at this thread's first use of the slab. */
let slabOff: boolean | undefined;

/** The addon for the slab and Array files: null also with WEFT_LOCK_SLAB=0. */
function loadAddon(): ShmAddon | null {
  slabOff ??= process.env.WEFT_LOCK_SLAB === '0';
  return slabOff ? null : shmAddon();
}

/** The name of the tree of the broker at `brokerPath` (its socket's): its files' common prefix. */
function treeName(brokerPath: string): string {
  return basename(brokerPath).replace(/\.sock$/, '');
}

/** The names in /dev/shm (none when it cannot be read). */
function shmNames(): string[] {
  try {
    return readdirSync('/dev/shm');
  } catch {
    return [];
  }
}

/** The slab's file for the broker at `brokerPath`: /dev/shm/<its name>.locks. */
export function slabPathOf(brokerPath: string): string {
  return join('/dev/shm', `${treeName(brokerPath)}.locks`);
}

/**
 * The file of the Array with id `id` (array-store.ts), beside the slab of the broker at
 * `brokerPath`: /dev/shm/<its name>.array-<id>. The root removes them with its slab.
 */
export function arrayPathOf(brokerPath: string, id: string): string {
  return join('/dev/shm', `${treeName(brokerPath)}.array-${id}`);
}

/**
 * Maps an Array's file of `bytes` bytes (`create`: making it, as its creator does before the
 * Array's handle exists anywhere else), or null when this thread cannot (no addon, no room in
 * /dev/shm, WEFT_LOCK_SLAB=0): the broker then serves it.
 */
export function mapArrayFile(
  path: string,
  bytes: number,
  create: boolean,
): SharedArrayBuffer | null {
  const a = loadAddon();
  if (a === null) return null;
  try {
    return a.map(path, bytes, create, false);
  } catch {
    return null;
  }
}

/** Whether this tree may make one more Array file (`MAX_ARRAY_FILES`): counted when true. */
export function claimArrayFile(): boolean {
  if (mine === null) return false;
  // Past the cap the counter keeps counting; it only has to stay past it.
  return Atomics.add(mine, ARRAY_FILES, 1) < MAX_ARRAY_FILES;
}

/** The broker path this thread joined the slab of (`joinSlab`), or null. */
export function slabBrokerPath(): string | null {
  return mine === null ? null : mineFor;
}

/**
 * The marker of the `SharedMemory` block at `blockPath` made in the tree of the broker at
 * `brokerPath` (src/multiprocessing/shared-memory.ts): /dev/shm/<its name>.shm-<digest of the
 * block's path>, holding that path (a digest, so that a block name of any length fits). The root
 * removes at its exit the blocks whose markers are left (never unlinked).
 */
export function blockMarkerOf(brokerPath: string, blockPath: string): string {
  const digest = createHash('sha256').update(blockPath).digest('hex').slice(0, 32);
  return join('/dev/shm', `${treeName(brokerPath)}.shm-${digest}`);
}

/**
 * The root, at exit: removes its tree's Array files, and the `SharedMemory` blocks made in the
 * tree and never unlinked, saying so on stderr, as Python's resource tracker warns of leaked
 * shared_memory objects. Called before the slab goes: a sweep takes files left without a slab for
 * those of an exit cut short.
 */
export function removeTreeFiles(brokerPath: string): void {
  const arrays = `${treeName(brokerPath)}.array-`;
  const markers = `${treeName(brokerPath)}.shm-`;
  const leaked: string[] = [];
  for (const name of shmNames()) {
    if (name.startsWith(arrays)) {
      remove(name);
      continue;
    }
    if (!name.startsWith(markers)) continue;
    let block = '';
    try {
      block = readFileSync(join('/dev/shm', name), 'utf8');
    } catch {
      // gone already
    }
    if (block.startsWith('/dev/shm/') && existsSync(block)) {
      try {
        unlinkSync(block);
        leaked.push(basename(block));
      } catch {
        // unlinked meanwhile
      }
    }
    remove(name);
  }
  if (leaked.length > 0)
    process.stderr.write(
      `weft: ${leaked.length} SharedMemory block(s) made and never unlinked, removed at exit: ${leaked.join(', ')} (call unlink() when done with a block)\n`,
    );
}

/**
 * Maps the slab of the broker at `brokerPath`, or null if it cannot. The root process (whose pid
 * the broker's name carries) creates the file, before the path reaches any child (ensureBroker);
 * other processes only open it, so that none maps a file its creator has not sized yet.
 */
export function mapSlab(brokerPath: string): Int32Array | null {
  const a = loadAddon();
  if (a === null) return null;
  const create = basename(brokerPath).startsWith(`weft-${process.pid}-`);
  try {
    return new Int32Array(a.map(slabPathOf(brokerPath), SLAB_BYTES, create));
  } catch {
    return null;
  }
}

/** A session number from the slab's counter (the broker's, for a client that has none). */
export function nextSessionNumber(slab: Int32Array): number {
  return Atomics.add(slab, LAST_SESSION, 1) + 1;
}

/**
 * Removes the slabs of roots that died without their 'exit' (a signal, a crash), with their
 * Arrays' files: a slab holds a megabyte of /dev/shm, an Array its items, and nothing else would
 * free them. Removed only when both say so: the pid its name carries is gone here, and nobody
 * holds the lock its root kept on it while it lived (native/shm/shm.cc: a root in another pid
 * namespace sharing /dev/shm is alive, whatever its pid means here).
 */
export function sweepStaleSlabs(): void {
  const a = loadAddon();
  if (a === null) return;
  const names = shmNames();
  const gone = (pid: number): boolean => {
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  const slabs = new Set<string>();
  const stale = new Set<string>();
  for (const name of names) {
    const m = /^(weft-(\d+)-[0-9a-z]+)\.locks$/.exec(name);
    if (m === null) continue;
    slabs.add(m[1] as string);
    if (gone(Number(m[2])) && a.abandoned(join('/dev/shm', name))) stale.add(m[1] as string);
  }
  for (const name of names) {
    // A root's Array files (and SharedMemory markers: the blocks stay, as Python's do when its
    // resource tracker is killed) go with its slab; one left without a slab is from a root whose
    // exit was cut short between the two (it removes them first), and the slab it had is gone.
    const m = /^(weft-(\d+)-[0-9a-z]+)\.(array|shm)-/.exec(name);
    const base = m?.[1];
    if (base === undefined) continue;
    if (stale.has(base) || (!slabs.has(base) && gone(Number(m?.[2])))) remove(name);
  }
  for (const base of stale) remove(`${base}.locks`);
}

function remove(name: string): void {
  try {
    unlinkSync(join('/dev/shm', name));
  } catch {
    // gone already, or not ours to remove
  }
}

/** The broker, once it has mapped the slab: clients may take locks through it from now on. */
export function markBrokerReady(slab: Int32Array): void {
  Atomics.store(slab, BROKER_READY, 1);
}

// ── this thread's side ──

let mine: Int32Array | null = null;
let mineFor: string | null = null;
let session = 0;
let announcedHere = false;

/**
 * This thread's mapping of the slab of the broker at `brokerPath`, and its session number (0
 * without a slab). Called by the broker client as it is made, before its hello.
 */
export function joinSlab(brokerPath: string): number {
  if (mineFor === brokerPath) return session;
  mineFor = brokerPath;
  mine = mapSlab(brokerPath);
  session = mine === null ? 0 : nextSessionNumber(mine);
  if (session >= HANDOFF) {
    mine = null;
    session = 0;
  }
  return session;
}

/** The broker has this thread's hello (written to its socket, or answered on the sync one). */
export function announced(): void {
  announcedHere = true;
}

/** A slot for a new lock, or -1 (no slab, or every slot taken): the broker alone serves it. */
export function newSlot(): number {
  if (mine === null) return -1;
  const k = Atomics.add(mine, NEXT_SLOT, 1);
  return k < SLAB_SLOTS ? k : -1;
}

/**
 * The slab when this thread may take locks in it now (mapped, the broker ready, this session
 * announced), else null; its session number is `slabSession()`.
 */
export function fastSlab(): Int32Array | null {
  return announcedHere ? readySlab() : null;
}

/**
 * The slab as mapped in this thread (a creating `Value` writes its first number there, before
 * anything can read it), or null.
 */
export function mappedSlab(): Int32Array | null {
  return mine;
}

/**
 * The slab once the broker has mapped it too, else null: a `Value` is read and written there
 * only then (value-cell.ts), as the broker serves the threads without a slab from the same cell;
 * before that (a broker still starting, or one without the slab) the broker has the number.
 */
export function readySlab(): Int32Array | null {
  if (brokerReady) return mine;
  if (mine === null || Atomics.load(mine, BROKER_READY) !== 1) return null;
  brokerReady = true;
  return mine;
}
/** The broker said it has the slab (it never takes that back). */
let brokerReady = false;

/** This thread's session number in the slab (0: none). */
export function slabSession(): number {
  return session;
}
