/**
 * Python's `multiprocessing.managers.SharedMemoryManager`: makes `SharedMemory` blocks and
 * `ShareableList`s and unlinks every one of them when it is shut down, so that a program cannot
 * leave them behind in /dev/shm.
 *
 * Implementation notes
 * - Python's manager is a server process holding the list of blocks; a client makes a block
 *   itself and then asks the server to track it. weft needs no server for the list: a block is
 *   tracked by an empty file named after it in the manager's directory (in the temporary
 *   directory), which any process can add to and which outlives every process of the tree. The
 *   protocol between makers and `shutdown()` (why no block is left behind, whatever order they
 *   run in) is at the top of shared-memory-tracker.cjs.
 * - What Python's server also does — outlive the process that started the manager — is done by
 *   a watcher: a plain Node process (no weft, no TypeScript loader: one of Node's own starts)
 *   reading a pipe from the manager's process. The pipe ends when that process ends, however it
 *   ends (a SIGKILL, or the root's death with its broker), and the watcher then unlinks what the
 *   manager still tracked and says so on stderr, as Python's resource tracker warns of leaked
 *   segments. Python's server does not: killed without shutdown, the process that started it
 *   leaves the server running, an orphan holding the blocks for as long as it lives.
 *
 *       manager's process ──stdin pipe──▶ watcher (node shared-memory-tracker.cjs DIR PID)
 *         │   SharedMemory(n): file DIR/NAME, block NAME, confirm
 *         │   shutdown(): release(DIR), then close the pipe
 *       child (the manager received in args): SharedMemory(n) the same way, into DIR
 *                                   pipe closed ──▶ watcher: release(DIR) (nothing after a shutdown)
 *
 * - A normal exit without `shutdown()` shuts the manager down silently, as Python's finalizer
 *   does at exit; before the tree's own sweep of blocks never unlinked, which would warn.
 * - The watcher is not a `Process`: it is not in `activeChildren()` and takes no process number,
 *   where Python's server is `SharedMemoryManager-1`. If it cannot be started, the blocks are
 *   still removed when the tree's root exits, as any block made and never unlinked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeValue } from '../internal/errors.js';
import { ENV_BROKER } from '../internal/process/broker-client.js';
import { blockMarkerOf } from '../internal/process/lock-slab.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import {
  AttributeError,
  FileExistsError,
  FileNotFoundError,
  ProcessError,
  refuseToSend,
  valueError,
} from './errors.js';
import { type ShareableItem, ShareableList } from './shareable-list.js';
import { SharedMemory } from './shared-memory.js';

const trackerPath = fileURLToPath(new URL('./shared-memory-tracker.cjs', import.meta.url));

interface Tracker {
  release(dir: string, forget?: (name: string) => void): string[];
}
/** Loaded at the first shutdown: a program that never shuts a manager down never loads it. */
let tracker: Tracker | null = null;

/** The managers of this thread started and not shut down: shut down at its exit. */
const live = new Set<SharedMemoryManager>();
let exitHooked = false;

/** The directory a revival is making a handle on (see `_revive`). */
let reviving: string | null = null;

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
 * When the process that started it ends without `shutdown()`: at a normal exit the manager is
 * shut down then, silently (Python's finalizer); killed, its watcher unlinks the blocks and says
 * so on stderr (see the notes above).
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
  #watcher: ChildProcess | null = null;

  constructor(...none: []) {
    if (none.length > 0)
      throw new TypeError(
        `SharedMemoryManager takes no arguments (weft's has no server process, so no address or authkey: a child reaches it by receiving the manager itself): received ${describeValue((none as unknown[])[0])}`,
      );
    if (reviving !== null) {
      this.#dir = reviving;
      this.#state = 'received';
    }
  }

  /**
   * Starts the manager (Python's `start()`) and returns it, so that `using` can hold it:
   * `using smm = new SharedMemoryManager().start()`.
   * @throws ProcessError when it was started already ("Already started server", as Python's, in
   *   a child that received it too) or shut down ("Manager has shut down").
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
    const dir = join(tmpdir(), `weft-smm-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    this.#dir = dir;
    this.#state = 'started';
    this.#watcher = startWatcher(dir);
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
   * @throws FileNotFoundError (Python's, whose server is gone) once the manager is shut down.
   * @throws TypeError / RangeError for a bad `size`, as `new SharedMemory({ create: true, size })`.
   */
  SharedMemory(size: number): SharedMemory {
    const dir = this.#usable('SharedMemory');
    if (typeof size !== 'number')
      throw new TypeError(
        `SharedMemoryManager.SharedMemory size must be a number of bytes: received ${describeValue(size)}`,
      );
    return track(
      'SharedMemory',
      dir,
      (name) => new SharedMemory({ name, create: true, size }),
      (shm) => shm,
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
      'ShareableList',
      dir,
      (name) => new ShareableList<T>(items, { name }),
      (sl) => sl.shm,
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
    const broker = process.env[ENV_BROKER];
    try {
      tracker ??= createRequire(import.meta.url)(trackerPath) as Tracker;
      tracker.release(this.#dir as string, (name) => {
        // The tree's marker of the block (shared-memory.ts): unlinked, it is not a leak.
        if (broker) rmSync(blockMarkerOf(broker, join('/dev/shm', name)), { force: true });
      });
    } finally {
      // Its pipe closed, the watcher finds nothing left and ends.
      this.#watcher?.stdin?.end();
      this.#watcher = null;
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
    return { kind: 'mp:SharedMemoryManager', state: { dir: this.#dir } };
  }

  /** @internal */
  static _revive(dir: string): SharedMemoryManager {
    reviving = dir;
    try {
      return new SharedMemoryManager();
    } finally {
      reviving = null;
    }
  }
}

registerSharedKind(
  'mp:SharedMemoryManager',
  (s) => SharedMemoryManager._revive(s.dir as string),
  import.meta.url,
);

/** Python's FileNotFoundError of a call to a manager whose server is gone. */
function shutDown(what: string): FileNotFoundError {
  return new FileNotFoundError(
    `SharedMemoryManager.${what}(): the manager is shut down and makes no more blocks (its blocks are unlinked): start a new SharedMemoryManager`,
  );
}

/**
 * Makes a block with `make(name)` under a fresh name, tracked in `dir` (the protocol of
 * shared-memory-tracker.cjs: its file first, then the block, then the confirmation).
 */
function track<T>(
  what: string,
  dir: string,
  make: (name: string) => T,
  blockOf: (made: T) => SharedMemory,
): T {
  for (;;) {
    const name = `wnsm_${randomBytes(4).toString('hex')}`;
    const file = join(dir, name);
    try {
      writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw shutDown(what);
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
      throw shutDown(what);
    }
    return made;
  }
}

/**
 * The watcher of the manager tracking in `dir` (see the notes at the top), or null when it
 * cannot be started. It inherits only stderr, for its warning; no environment (no NODE_OPTIONS:
 * no loader to start, no certificates to read).
 */
function startWatcher(dir: string): ChildProcess | null {
  let w: ChildProcess;
  try {
    w = spawn(process.execPath, [trackerPath, dir, String(process.pid)], {
      stdio: ['pipe', 'ignore', 'inherit'],
      env: {},
    });
  } catch {
    return null;
  }
  // A failed start (no process to spare) leaves the tree's exit sweep to remove the blocks.
  w.on('error', () => {});
  w.stdin?.on('error', () => {});
  // Neither holds the program open: the manager's exit is what the watcher waits for.
  w.unref();
  (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return w;
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
