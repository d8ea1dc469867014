/**
 * Python's `multiprocessing.managers.SharedMemoryManager`: makes `SharedMemory` blocks and
 * `ShareableList`s and unlinks every one of them when it is shut down, so that a program cannot
 * leave them behind in /dev/shm.
 *
 * Implementation notes
 * - Python's manager is a server process holding the list of blocks; a client makes a block
 *   itself and then asks the server to track it. weft needs no server for the list: a block is
 *   tracked by an empty file named after it in the manager's directory, which any process can
 *   add to and which outlives every process of the tree. The directory is in /dev/shm, beside
 *   the blocks: on the same tmpfs, it lives and goes with them, whatever TMPDIR says and whatever
 *   cleans /tmp. The protocol between makers and `shutdown()` (why no block is left behind,
 *   whatever order they run in) is at the top of shared-memory-tracker.cjs.
 * - What Python's server also does — outlive the process that started the manager — is done by
 *   a watcher: a plain Node process (no weft, no TypeScript loader: one of Node's own starts)
 *   reading a pipe from the thread that started the manager. The pipe ends when that thread
 *   ends, however it ends (a SIGKILL, the root's death with its broker, a daemon thread stopped
 *   at the process's exit), and the watcher then unlinks what the manager still tracked: at once
 *   and saying so on stderr when that was the process's main thread (the process was killed: a
 *   normal exit shuts the manager down first), once the process has ended and silently when it
 *   was a worker thread (the manager is the process's, as Python's: see the tracker's notes).
 *   Python's server does not: killed without shutdown, the process that started it leaves the
 *   server running, an orphan holding the blocks for as long as it lives.
 *
 *       manager's thread ──stdin pipe──▶ watcher (node shared-memory-tracker.cjs DIR PID START MODE)
 *         │   start(): sweep dead managers' directories, DIR/.owner, watcher
 *         │   SharedMemory(n): file DIR/NAME, block NAME, confirm
 *         │   shutdown(): release(DIR), then close the pipe
 *       child (the manager received in args): SharedMemory(n) the same way, into DIR
 *                                   pipe closed ──▶ watcher: release(DIR) (nothing after a shutdown)
 *
 * - A normal exit without `shutdown()` shuts the manager down silently, as Python's finalizer
 *   does at exit; before the tree's own sweep of blocks never unlinked, which would warn. A
 *   manager started in a worker thread has no such exit when the thread is stopped without
 *   running its own (a daemon thread at the process's exit): the tree's sweep would find its
 *   blocks first and call them leaked, so they carry no tree marker (shared-memory.ts) — their
 *   watcher unlinks them — unless the watcher has died (DIR/.unwatched).
 * - Both the process and its watcher killed (a SIGKILL of the process group) leave the directory
 *   to nobody: the next manager started on the machine releases it (`sweep`, with a warning),
 *   judging by the `.owner` record — pids and start times, in one pid namespace — that both are
 *   gone.
 * - The watcher is not a `Process`: it is not in `activeChildren()` and takes no process number,
 *   where Python's server is `SharedMemoryManager-1`. It gets the environment minus what would
 *   run more than Node in it (NODE_OPTIONS: a loader, preloads). One that cannot be started
 *   fails `start()` (Python's start() raises when its server cannot start); one that dies later
 *   is warned of.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { describeValue } from '../internal/errors.js';
import { ENV_BROKER } from '../internal/process/broker-client.js';
import { helperPids } from '../internal/process/helper-pids.js';
import { blockMarkerOf } from '../internal/process/lock-slab.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import {
  AttributeError,
  FileExistsError,
  FileNotFoundError,
  OSError,
  ProcessError,
  refuseToSend,
  valueError,
} from './errors.js';
import { type ShareableItem, ShareableList } from './shareable-list.js';
import { BLOCK_PREFIX, pathOf as blockPath, SharedMemory } from './shared-memory.js';

const trackerPath = fileURLToPath(new URL('./shared-memory-tracker.cjs', import.meta.url));

/** shared-memory-tracker.cjs, as this side uses it. */
interface Tracker {
  release(dir: string, forget?: (name: string) => void): string[];
  sweep(): Array<{ pid: number; unlinked: string[] }>;
  startTimeOf(pid: number): string | null;
  pidNamespace(): string | null;
  /** The record in a manager's directory of its process and watcher. */
  RECORD: string;
  /** Where the directories are: /dev/shm. */
  ROOM: string;
}
let tracker: Tracker | null = null;

function trackerModule(): Tracker {
  tracker ??= createRequire(import.meta.url)(trackerPath) as Tracker;
  return tracker;
}

/** In a manager's directory once its watcher has died: its blocks keep their tree markers. */
const UNWATCHED = '.unwatched';

/** The managers of this thread started and not shut down: shut down at its exit. */
const live = new Set<SharedMemoryManager>();
let exitHooked = false;

/** What a revival is making a handle on (see `_revive`). */
let reviving: { dir: string; marked: boolean } | null = null;

type State = 'initial' | 'started' | 'shutdown' | 'received';

/**
 * Python's `multiprocessing.managers.SharedMemoryManager`. `start()` it (it returns the manager,
 * so `using smm = new SharedMemoryManager().start()` is Python's `with SharedMemoryManager() as
 * smm:`), make blocks with `SharedMemory(size)` and `ShareableList(sequence)`, and `shutdown()`
 * (or leave the `using` block): every block it made is unlinked, in every process (a process
 * that has one mapped keeps its pages until it lets go of them, as with `unlink()`).
 *
 * The manager may be passed to a child process or a thread (in `args`, or a queue item): there
 * it makes blocks that the manager tracks too (Python's child reaches the server with
 * `connect()`), and cannot shut it down. The blocks themselves cross as any `SharedMemory` and
 * `ShareableList` do: attached there by name.
 *
 * When the thread that started it ends without `shutdown()`: at a normal exit the manager is
 * shut down then, silently (Python's finalizer); a main thread killed with its process, its
 * watcher unlinks the blocks and says so on stderr; a worker thread stopped without its exit (a
 * daemon thread at the process's exit), its watcher unlinks them silently once the process has
 * ended (see the notes above).
 * @example
 * using smm = new SharedMemoryManager().start();
 * const shm = smm.SharedMemory(1024);
 * const sl = smm.ShareableList([1, 'two', 3.0]);
 * // … hand shm, sl (or their names) to other processes …
 * // leaving the block unlinks both
 */
export class SharedMemoryManager {
  #state: State = 'initial';
  /** The directory of its tracked blocks (null until started). */
  #dir: string | null = null;
  /**
   * Whether its blocks keep the tree's marker (shared-memory.ts): those of a manager started in
   * a main thread do, whose exit shuts it down before the tree's sweep runs.
   */
  #marked = true;
  #watcher: ChildProcess | null = null;

  constructor(...none: []) {
    if (none.length > 0)
      throw new TypeError(
        `SharedMemoryManager takes no arguments (weft's has no server process, so no address or authkey: a child reaches it by receiving the manager itself): received ${describeValue((none as unknown[])[0])}`,
      );
    if (reviving !== null) {
      this.#dir = reviving.dir;
      this.#marked = reviving.marked;
      this.#state = 'received';
    }
  }

  /**
   * Starts the manager (Python's `start()`) and returns it, so that `using` can hold it:
   * `using smm = new SharedMemoryManager().start()`. It first releases what managers whose
   * process and watcher were both killed left in /dev/shm (with a warning: see the notes above).
   * @throws ProcessError when it was started already ("Already started server", as Python's, in
   *   a child that received it too) or shut down ("Manager has shut down").
   * @throws OSError (`ERR_WEFT_MANAGER_START`, the failure's errno as `errnoName`) when its
   *   directory in /dev/shm cannot be made or its watcher process cannot be started, as
   *   Python's `start()` raises when its server cannot start.
   * @throws TypeError for an initializer: weft's manager has no server process to run one in.
   */
  start(...none: []): this {
    if (none.length > 0)
      throw new TypeError(
        `SharedMemoryManager.start takes no arguments (weft's manager has no server process to run an initializer in): received ${describeValue((none as unknown[])[0])}`,
      );
    if (this.#state === 'started' || this.#state === 'received')
      throw new ProcessError('Already started server', 'ERR_WEFT_MANAGER_STARTED');
    if (this.#state === 'shutdown')
      throw new ProcessError('Manager has shut down', 'ERR_WEFT_MANAGER_SHUTDOWN');
    const t = trackerModule();
    sweepAbandoned(t);
    const dir = join(t.ROOM, `weft-smm-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      throw startError(`could not make its directory ${dir}`, e);
    }
    const start = t.startTimeOf(process.pid);
    let w: ChildProcess | null = null;
    try {
      w = startWatcher(dir, start);
      // What a later manager's sweep reads to tell whether this one and its watcher still live.
      writeFileSync(
        join(dir, t.RECORD),
        JSON.stringify({
          ns: t.pidNamespace(),
          pid: process.pid,
          start,
          watcher: w.pid,
          watcherStart: t.startTimeOf(w.pid as number),
        }),
        { mode: 0o600 },
      );
    } catch (e) {
      // Its pipe closed, a watcher started finds nothing in the directory and ends.
      w?.stdin?.end();
      rmSync(dir, { recursive: true, force: true });
      throw e instanceof OSError ? e : startError(`could not write its record in ${dir}`, e);
    }
    this.#dir = dir;
    this.#marked = isMainThread;
    this.#state = 'started';
    const watcher = w;
    this.#watcher = watcher;
    watcher.once('exit', (code, signal) => this.#watcherDied(watcher, code, signal));
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // Before the broker's own exit listener (broker-client.ts), which would unlink the blocks
      // as never unlinked, with a warning.
      process.prependListener('exit', shutDownLive);
    }
    return this;
  }

  /**
   * Python's `smm.SharedMemory(size)`: a new block of `size` bytes (a fresh name), tracked by
   * the manager: `shutdown()` unlinks it. Made in this process, as Python's client makes it.
   * @throws RangeError (Python's ValueError, `ERR_WEFT_MANAGER_NOT_STARTED`) before `start()`.
   * @throws FileNotFoundError (Python's, whose server is gone) once the manager is shut down
   *   (`ENOENT`); in the process that started it, `ERR_WEFT_MANAGER_LOST` when its directory was
   *   removed by something else than `shutdown()`.
   * @throws TypeError / RangeError for a bad `size`, as `new SharedMemory({ create: true, size })`.
   */
  SharedMemory(size: number): SharedMemory {
    const dir = this.#usable('SharedMemory');
    if (typeof size !== 'number')
      throw new TypeError(
        `SharedMemoryManager.SharedMemory size must be a number of bytes: received ${describeValue(size)}`,
      );
    return track(
      dir,
      this.#marked,
      (name) => new SharedMemory({ name, create: true, size }),
      (shm) => shm,
      () => this.#gone('SharedMemory'),
    );
  }

  /**
   * Python's `smm.ShareableList(sequence)`: a new `ShareableList` of the items of `sequence`
   * (none, or null: an empty list) in a new block, tracked by the manager as `SharedMemory` is.
   * @throws as `SharedMemory(size)` for the manager's state, and as `new ShareableList(sequence)`
   *   for the items.
   */
  ShareableList<T = ShareableItem>(
    sequence?: Iterable<T & ShareableItem> | null,
  ): ShareableList<T> {
    const dir = this.#usable('ShareableList');
    // `new ShareableList(null, { name })` attaches: a list made from nothing is made from [].
    const items = sequence ?? [];
    return track(
      dir,
      this.#marked,
      (name) => new ShareableList<T>(items, { name }),
      (sl) => sl.shm,
      () => this.#gone('ShareableList'),
    );
  }

  /**
   * Unlinks every block the manager made (in this process or another) and not unlinked yet, and
   * stops it making more (Python's `shutdown()`). Idempotent; nothing before `start()`.
   * @throws AttributeError in a process or thread that received the manager: only the one that
   *   started it shuts it down (Python's connected manager has no `shutdown`).
   */
  shutdown(): void {
    if (this.#state === 'received')
      throw new AttributeError(
        "SharedMemoryManager.shutdown(): this manager was received from the process that started it, which alone shuts it down (Python's connected manager has no shutdown())",
      );
    if (this.#state !== 'started') return;
    this.#state = 'shutdown';
    live.delete(this);
    const watcher = this.#watcher;
    this.#watcher = null;
    const broker = process.env[ENV_BROKER];
    try {
      trackerModule().release(this.#dir as string, (name) => {
        // The tree's marker of the block (shared-memory.ts): unlinked, it is not a leak.
        if (broker) rmSync(blockMarkerOf(broker, blockPath(name)), { force: true });
      });
    } finally {
      // Its pipe closed, the watcher finds nothing left and ends.
      watcher?.stdin?.end();
    }
  }

  [Symbol.dispose](): void {
    this.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.shutdown();
  }

  toString(): string {
    return `SharedMemoryManager(${this.#state})`;
  }

  /** The directory to make a block in, or Python's error for the manager's state. */
  #usable(what: string): string {
    if (this.#state === 'initial')
      throw valueError(
        `SharedMemoryManager.${what}(): the manager is not started: call start() first (new SharedMemoryManager().start())`,
        'ERR_WEFT_MANAGER_NOT_STARTED',
      );
    if (this.#state === 'shutdown') throw shutDown(what);
    return this.#dir as string;
  }

  /** Why the directory was not there when a block was to be tracked in it. */
  #gone(what: string): FileNotFoundError {
    const dir = this.#dir as string;
    // Started here and not shut down: something else removed it.
    if (this.#state === 'started')
      return new FileNotFoundError(
        `SharedMemoryManager.${what}(): the manager's directory ${dir} was removed, and not by shutdown(): it can track no more blocks, and shutdown() cannot unlink those it made (unlink them yourself). Start a new SharedMemoryManager`,
        'ERR_WEFT_MANAGER_LOST',
      );
    if (this.#state === 'received')
      return new FileNotFoundError(
        `SharedMemoryManager.${what}(): the manager is shut down (or its directory ${dir} was removed) and makes no more blocks: start a new SharedMemoryManager`,
      );
    return shutDown(what);
  }

  /**
   * The watcher ended while the manager runs (killed, or it could not run Node): the blocks lose
   * the guard against this thread's being killed, which the tree's markers take over where they
   * were dropped. Said, as a warning: nothing the program did was wrong.
   */
  #watcherDied(w: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#watcher !== w || this.#state !== 'started') return;
    this.#watcher = null;
    const dir = this.#dir as string;
    if (!this.#marked) remark(dir);
    process.emitWarning(
      `SharedMemoryManager: its watcher process (pid ${w.pid}) ended (${signal ?? `exit code ${code}`}) while the manager runs: shutdown() and a normal exit still unlink its blocks, but if this process is killed they are left to the program's root at its exit, or to the next SharedMemoryManager started`,
      { type: 'RuntimeWarning', code: 'WEFT_SMM_WATCHER_DIED' },
    );
  }

  /**
   * Crosses to a child process or a thread as its directory: a handle there makes blocks the
   * manager tracks. A manager never started has nothing to reach: refused.
   * @internal
   */
  [kShared](): SharedState {
    if (this.#state === 'initial')
      refuseToSend(
        'A SharedMemoryManager that was never started',
        'start() it first; the process that receives it then makes blocks the manager tracks',
      );
    return { kind: 'mp:SharedMemoryManager', state: { dir: this.#dir, marked: this.#marked } };
  }

  /** @internal */
  static _revive(dir: string, marked: boolean): SharedMemoryManager {
    reviving = { dir, marked };
    try {
      return new SharedMemoryManager();
    } finally {
      reviving = null;
    }
  }
}

registerSharedKind(
  'mp:SharedMemoryManager',
  (s) => SharedMemoryManager._revive(s.dir as string, s.marked !== false),
  import.meta.url,
);

/** Python's FileNotFoundError of a call to a manager whose server is gone. */
function shutDown(what: string): FileNotFoundError {
  return new FileNotFoundError(
    `SharedMemoryManager.${what}(): the manager is shut down and makes no more blocks (its blocks are unlinked): start a new SharedMemoryManager`,
  );
}

/** `start()`'s failure to make what the manager needs, typed as the OS error it is. */
function startError(what: string, e: unknown): OSError {
  const err = e as NodeJS.ErrnoException;
  return new OSError(
    `SharedMemoryManager.start(): ${what}: ${err?.message ?? String(e)}`,
    err?.code ?? '',
    'ERR_WEFT_MANAGER_START',
    { cause: e },
  );
}

/**
 * Makes a block with `make(name)` under a fresh name, tracked in `dir` (the protocol of
 * shared-memory-tracker.cjs: its file first, then the block, then the confirmation). `gone()`
 * is the error when `dir` is not there.
 */
function track<T>(
  dir: string,
  marked: boolean,
  make: (name: string) => T,
  blockOf: (made: T) => SharedMemory,
  gone: () => Error,
): T {
  for (;;) {
    const name = `${BLOCK_PREFIX}${randomBytes(4).toString('hex')}`;
    const file = join(dir, name);
    try {
      writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw gone();
      if (code === 'EEXIST') continue;
      throw e;
    }
    let made: T;
    try {
      made = make(name);
    } catch (e) {
      rmSync(file, { force: true });
      // Another block has that name: another fresh one.
      if (e instanceof FileExistsError) continue;
      throw e;
    }
    if (!existsSync(file)) {
      // Shut down meanwhile: the release may have passed this name before the block existed.
      const shm = blockOf(made);
      try {
        shm.unlink();
      } catch {
        // the release unlinked it
      }
      shm.close();
      throw gone();
    }
    if (!marked) unmark(dir, name);
    return made;
  }
}

/**
 * Removes the tree's marker of the block `name` (shared-memory.ts), which the block of a manager
 * started in a worker thread does without: the manager's watcher unlinks it (see the notes
 * above). Put back when the watcher has died (`remark`), checked after the removal: a `remark`
 * running meanwhile wrote `UNWATCHED` before it listed the names, so one of the two marks it.
 */
function unmark(dir: string, name: string): void {
  const broker = process.env[ENV_BROKER];
  if (!broker) return;
  const marker = blockMarkerOf(broker, blockPath(name));
  rmSync(marker, { force: true });
  if (existsSync(join(dir, UNWATCHED))) mark(marker, name);
}

/** Marks every block tracked in `dir` again, and those made from now on keep theirs. */
function remark(dir: string): void {
  const broker = process.env[ENV_BROKER];
  if (!broker) return;
  let names: string[];
  try {
    writeFileSync(join(dir, UNWATCHED), '', { mode: 0o600 });
    names = readdirSync(dir);
  } catch {
    // shut down meanwhile
    return;
  }
  for (const name of names)
    if (!name.startsWith('.')) mark(blockMarkerOf(broker, blockPath(name)), name);
}

function mark(marker: string, name: string): void {
  try {
    writeFileSync(marker, blockPath(name), { mode: 0o600 });
  } catch {
    // no room: the block then outlives a kill of its manager's process
  }
}

/**
 * The watcher of the manager tracking in `dir` (see the notes at the top). Its environment is
 * this process's without NODE_OPTIONS (a TypeScript loader, preloads: nothing of them is needed
 * to run a plain script) and NODE_EXTRA_CA_CERTS (a file read for nothing, warned of when
 * missing); what Node itself may need to start (LD_LIBRARY_PATH, …) stays. It inherits only
 * stderr, for its warning.
 * @throws OSError when it cannot be started.
 */
function startWatcher(dir: string, start: string | null): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const args = [
    trackerPath,
    dir,
    String(process.pid),
    start ?? '',
    isMainThread ? 'process' : 'thread',
  ];
  let w: ChildProcess;
  try {
    w = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'inherit'], env });
  } catch (e) {
    throw startError('could not start its watcher process', e);
  }
  // Errors later (a pipe broken by its end) are its 'exit', which the manager hears.
  w.on('error', () => {});
  w.stdin?.on('error', () => {});
  if (w.pid === undefined) {
    // Node says why only on a later turn ('error'): the path's own failure, if it has one, else
    // what is left of the errors it reports so (no process or descriptor to spare).
    let cause: unknown = Object.assign(
      new Error(
        `spawn ${process.execPath} failed (EAGAIN, EMFILE or ENFILE: no process or file descriptor to spare)`,
      ),
      { code: 'EAGAIN' },
    );
    try {
      accessSync(process.execPath, constants.X_OK);
    } catch (e) {
      cause = e;
    }
    throw startError('could not start its watcher process', cause);
  }
  const pid = w.pid;
  helperPids.add(pid);
  w.once('exit', () => helperPids.delete(pid));
  // Neither holds the program open: the manager's exit is what the watcher waits for.
  w.unref();
  (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return w;
}

/**
 * Releases the directories that managers whose process and watcher both died left (tracker's
 * `sweep`), saying what it unlinked as Python's resource tracker warns of leaked segments.
 */
function sweepAbandoned(t: Tracker): void {
  let swept: Array<{ pid: number; unlinked: string[] }>;
  try {
    swept = t.sweep();
  } catch {
    return;
  }
  for (const { pid, unlinked } of swept)
    if (unlinked.length > 0)
      process.emitWarning(
        `SharedMemoryManager: a manager of process ${pid} ended without shutdown() and its watcher with it (both killed?): ${unlinked.length} SharedMemory block(s) it tracked unlinked now: ${unlinked.join(', ')}`,
        { type: 'UserWarning', code: 'WEFT_SMM_ABANDONED' },
      );
}

/** At the thread's exit: the managers still started are shut down, silently (Python's finalizer). */
function shutDownLive(): void {
  for (const m of [...live]) {
    try {
      m.shutdown();
    } catch {
      // its watcher unlinks what is left
    }
  }
}
