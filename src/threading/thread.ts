/**
 * `Thread`: Python's threading.Thread on a Node worker thread.
 *
 * Parent side: `start()` turns the target (or the subclass) into a task reference, encodes the
 * arguments (shared primitives arrive connected), spawns a weft worker (src/internal/worker/) with
 * the role module thread-worker.ts, and claims the thread's slot in the world's thread table.
 * The worker side marks the slot finished when `run()` settles; `join` waits on that word (so any
 * thread can join any thread, sync or async), and the starting thread also waits for the worker's
 * 'exit' so that nothing is left behind.
 *
 * Liveness: a non-daemon thread keeps the process alive (its Worker is ref'd), a daemon one does
 * not (unref'd), as in Python.
 *
 * A started Thread passed to another thread (in args, a queue item, a result) arrives as that
 * thread's handle for the same tid (`handleFor`): join, isAlive, name and ident work from the
 * world's thread table, as for the handles `enumerate()` gives.
 */
import { debuglog } from 'node:util';
import { isMainThread, type Worker } from 'node:worker_threads';
import { load } from '../internal/atomics.js';
import type { ArgList, Kwargs } from '../internal/call-args.js';
import { describeError } from '../internal/errors.js';
import { handleClosed, handleOpened } from '../internal/live-handles.js';
import {
  clearLongTimeout,
  type LongTimer,
  MAX_TIMER as MAX_TIMER_MS,
  setLongTimeout,
} from '../internal/long-timer.js';
import type { RunTargetOptions, RunTargetPayload, TargetFn } from '../internal/run-target.js';
import { checkDaemon, checkName, checkRunOptions, type RunTarget } from '../internal/run-target.js';
import {
  decodeError,
  type EncodedError,
  encode,
  kShared,
  registerSharedKind,
  type SharedState,
} from '../internal/serialize.js';
import { AGAIN, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import {
  nextThreadNumber,
  ownSlot,
  reapThread,
  registerThread,
  renameThread,
  selfTid,
  sharedThreadName,
  slotOf,
  T_DAEMON,
  T_NATIVE_ID,
  T_STATE,
  THREAD_ALIVE,
  THREAD_FINISHED,
  THREAD_NAME_CHARS,
  threadName,
  threadState,
  worldWords,
} from '../internal/shm/world.js';
import { refuseStartInTaskModule } from '../internal/task-ref.js';
import { beforeThreadExit } from '../internal/thread-exit.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import type { WorkerMessage } from '../internal/worker/protocol.js';
import { spawnWorker } from '../internal/worker/spawn.js';
import { RuntimeError } from './errors.js';
import { reportThreadException } from './excepthook.js';

/** Longest single park of a join (see `joinable`). */
const JOIN_RECHECK_MS = 250;

/**
 * `F`, `A` and `K` are the types of `target`, `args` and `kwargs`: given them (or inferred from
 * a call that takes these options), `target` must accept the others; the defaults leave them
 * unchecked.
 */
export interface ThreadOptions<
  F extends TargetFn = TargetFn,
  A extends ArgList = any[],
  K extends Kwargs = any,
> extends RunTargetOptions<F, A, K> {
  /** Default `Thread-N (target)`, or `Thread-N` without a named target (as Python 3.10+). */
  name?: string;
  /** Default: the daemon flag of the thread creating it. */
  daemon?: boolean | null;
}

/** What the worker side needs to rebuild the thread (encoded for postMessage). */
export interface ThreadPayload extends RunTargetPayload {
  name: string;
  daemon: boolean;
}

const debug = debuglog('weft');

const roleUrl = new URL(
  `./thread-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
).href;

/** Threads this thread started, by tid, while they may be alive (for enumerate/currentThread). */
const startedHere = new Map<number, Thread>();
/** Handles for threads started elsewhere, by tid. */
const handles = new Map<number, Thread>();
let current: Thread | null = null;

/**
 * A thread of control running on its own worker (with its own event loop and module instances,
 * in parallel with the others — no GIL). Two styles, as in Python:
 *
 * ```ts
 * new Thread({ target: work, args: [1, 2], kwargs: { verbose: true } }).start();
 *
 * class Worker extends Thread { override run() { … } }
 * task(import.meta, Worker);      // lets the worker find the subclass
 * new Worker().start();
 * ```
 *
 * The target runs in the worker: it must be a marked function or a self-contained one (an
 * inline function that uses its closure fails with an error saying so). Data is shared through
 * weft's shared objects passed in `args` (Value, Array, locks, queues), not through module
 * variables: each worker evaluates its modules afresh.
 *
 * An exception escaping `run()` goes to `threading.excepthook` (stderr by default); `join()`
 * does not throw it.
 */
export class Thread<
  F extends TargetFn = TargetFn,
  const A extends ArgList = [],
  K extends Kwargs = undefined,
> {
  #name: string;
  #daemon: boolean;
  #target: RunTarget;
  #tid: number | null = null;
  #started = false;
  #exited: Promise<void> | null = null;
  /** Settles when the worker has exited, or says it lives on past run()'s end ('ended'). */
  #ended: Promise<void> | null = null;

  /**
   * `target` must accept `args` and then `kwargs` (a compile error otherwise, where Python
   * raises TypeError when the thread runs); `F`, `A` and `K` serve only that check.
   */
  constructor(options: ThreadOptions<F, A, K> = {}) {
    const { target, name, daemon } = checkRunOptions('Thread', options);
    this.#target = target;
    // As Python 3.10+: `Thread-N (target)` for a target with a name (a JavaScript function
    // passed inline has none, where Python would say `<lambda>`: then `Thread-N`, as without one).
    const targetName = target.target?.name;
    this.#name =
      name ??
      (targetName
        ? `Thread-${nextThreadNumber()} (${targetName})`
        : `Thread-${nextThreadNumber()}`);
    this.#daemon = daemon ?? currentThread().daemon;
  }

  get name(): string {
    const tid = this.#tid;
    if (tid !== null) {
      // Renamed by another thread (or inside it) since: Python has one Thread object, seen from
      // everywhere. The table keeps THREAD_NAME_CHARS units, so a name that agrees that far is
      // this one, kept whole here.
      const shared = sharedThreadName(tid);
      if (shared !== null && shared !== this.#name.slice(0, THREAD_NAME_CHARS)) this.#name = shared;
    }
    return this.#name;
  }
  set name(v: string) {
    checkName('Thread', v);
    this.#name = v;
    if (this.#tid !== null) renameThread(this.#tid, v);
  }
  getName(): string {
    return this.name;
  }
  setName(v: string): void {
    this.name = v;
  }

  /** The thread's identifier (`getIdent()` inside it), null before `start()`. */
  get ident(): number | null {
    return this.#tid;
  }

  /** The operating system's id of the thread, null until it has booted. */
  get nativeId(): number | null {
    if (this.#tid === null) return null;
    const slot = ownSlot(this.#tid);
    if (slot < 0) return null;
    return load(worldWords(), slot + T_NATIVE_ID) || null;
  }

  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(v: boolean) {
    checkDaemon('Thread', v, this.#started);
    this.#daemon = v;
  }
  isDaemon(): boolean {
    return this.#daemon;
  }
  setDaemon(v: boolean): void {
    this.daemon = v;
  }

  /**
   * Starts the thread: `run()` will execute in a new worker. Synchronous, like Python's; the
   * thread is alive (`isAlive()`) as soon as it returns.
   * @throws RuntimeError when started twice; TaskReferenceError when the target or subclass
   *   cannot be found from a worker; TypeError when an argument cannot be cloned.
   */
  start(): void {
    if (this.#started)
      throw new RuntimeError('Threads can only be started once', 'ERR_WEFT_THREAD_STARTED');
    refuseStartInTaskModule('Thread.start()');
    const { payload: sent, modules } = this.#target.send(
      'Thread',
      this,
      this.run !== Thread.prototype.run,
    );
    const payload: ThreadPayload = { name: this.#name, daemon: this.#daemon, ...sent };
    let markEnded = (): void => {};
    // weft's messages come on a port of their own, the last of them read at the worker's exit
    // before the 'exit' listener below runs (worker/protocol.ts): join() never returns before
    // the exception that escaped run() was reported.
    const onMessage = (m: WorkerMessage): void => {
      switch (m.type) {
        case 'exception':
          reportThreadException(this, decodeError(m.error as EncodedError));
          return;
        case 'result':
          // Not a thread's: its return value is dropped, as in Python, and never sent (the
          // broker's thread says it listens with one).
          return;
        case 'ended':
          markEnded();
          return;
        case 'startUnreadable':
          // run() never ran: the excepthook is told why rather than nothing.
          reportThreadException(
            this,
            new RuntimeError(
              `Thread ${this.#name} could not start: its target, args, kwargs or fields could not be read in the new thread (${m.why}): nested too deeply for its stack, or too large for its memory. Pass flatter data, or raise threading.stackSize()`,
              'ERR_WEFT_UNREADABLE_MESSAGE',
            ),
          );
          return;
        default:
          m satisfies never;
      }
    };
    // Of weft's messages only the exception carries the user's data: one that cannot be read
    // here (nested deeper than this thread's stack can read) was that.
    const onUnreadable = (err: unknown): void =>
      reportThreadException(
        this,
        new RuntimeError(
          `Thread ${this.#name}: the exception that escaped run() could not be read here (${describeError(err)}): raise an error that carries flatter data`,
          'ERR_WEFT_UNREADABLE_MESSAGE',
          { cause: err },
        ),
      );
    let worker: Worker;
    try {
      worker = spawnWorker({
        role: roleUrl,
        payload: encode(payload, 'message'),
        modules,
        onMessage,
        onUnreadable,
        name: this.#name,
      });
    } catch (err) {
      if ((err as Error)?.name === 'DataCloneError') {
        throw new TypeError(
          `Thread ${this.#name}: its args, kwargs or fields cannot be sent to a worker (${(err as Error).message}); send plain data and weft shared objects`,
          { cause: err },
        );
      }
      throw err;
    }
    this.#started = true;
    const tid = worker.threadId + 1;
    this.#tid = tid;
    registerThread(tid, this.#name, this.#daemon);
    startedHere.set(tid, this);
    reapStartedAtExit();
    handleOpened('thread');
    debug('thread %s started: ident %d, daemon %s', this.#name, tid, this.#daemon);
    // Without a listener, a worker's 'error' would be thrown in this thread.
    worker.on('error', (err) => reportThreadException(this, err));
    this.#ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    // The thread's own code may post on parentPort: weft delivers none of it (a readable message
    // is dropped too); one that cannot be read here is only traced, never blamed on run().
    worker.on('messageerror', (err) => {
      debug(
        'thread %s: a message its code posted could not be read here: %s',
        this.#name,
        describeError(err),
      );
    });
    this.#exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        markEnded();
        debug('thread %s exited (worker exit code %d)', this.#name, code);
        // A worker ended from outside (out of memory) ran no exit handler: its locks are handed
        // back before joiners wake.
        const recovered = reapThread(tid);
        if (recovered > 0) debug('thread %s: %d lock(s) it held recovered', this.#name, recovered);
        startedHere.delete(tid);
        handleClosed('thread');
        resolve();
      });
    });
    if (this.#daemon) worker.unref();
  }

  /**
   * What the thread does; runs inside the thread. The default calls the target with `args` and
   * then `kwargs` (when given) as one trailing object. Override it in a subclass.
   */
  run(): unknown {
    return this.#target.call();
  }

  /** Whether `run()` has started and not yet finished. */
  isAlive(): boolean {
    return this.#tid !== null && threadState(this.#tid) === THREAD_ALIVE;
  }

  private joinable(): Parkable<true> {
    const tid = this.#tid as number;
    return {
      a: worldWords(),
      i: slotOf(tid) + T_STATE,
      w: -1,
      attempt: () => (threadState(tid) === THREAD_FINISHED ? true : AGAIN),
      // The slot of a finished thread can be claimed by a new one (FINISHED → CLAIMED → ALIVE)
      // between this joiner's read of ALIVE and its park: the word reads ALIVE again and may not
      // change until the new thread ends. A bounded park looks again (threadState checks the
      // tid) instead of waiting for a stranger; a parked joiner wakes 4 times a second.
      maxPark: JOIN_RECHECK_MS,
      timedOut: () => true,
    };
  }

  private checkJoin(): void {
    if (!this.#started && this.#tid === null) {
      throw new RuntimeError(
        'Cannot join a thread before it is started',
        'ERR_WEFT_THREAD_NOT_STARTED',
      );
    }
    if (this.#tid === selfTid)
      throw new RuntimeError('Cannot join the current thread', 'ERR_WEFT_JOIN_SELF');
  }

  /**
   * Waits until the thread ends, or until `timeout` (ms) passes — then check `isAlive()`. Never
   * rejects with the thread's own exception (that went to the excepthook).
   *
   * **Cancellation:** an aborted `signal` rejects with its reason; the thread runs on.
   */
  async join(options?: WaitOptions): Promise<void> {
    const { timeout, signal } = parseWait('Thread.join', options);
    this.checkJoin();
    const start = performance.now();
    await waitAsync(this.joinable(), timeout, signal);
    if (this.#ended && threadState(this.#tid as number) === THREAD_FINISHED) {
      // The worker exits right after run(): wait for it, so no handle outlives join(). One that
      // lives on for child processes the thread started says so ('ended'): those do not hold
      // join(), as Python's child belongs to the process.
      const left = timeout === null ? null : Math.max(0, timeout - (performance.now() - start));
      await raceTimeout(this.#ended, left, signal);
    }
  }

  /**
   * Blocking twin of `join`. **Blocking:** parks the calling thread, event loop included — never
   * on a server's main thread.
   */
  joinSync(options?: WaitOptions): void {
    const { timeout, signal } = parseWait('Thread.joinSync', options);
    this.checkJoin();
    waitSync(this.joinable(), timeout, signal);
  }

  /** Python's repr: `<Thread(worker, started daemon 3)>`, under the subclass's own name. */
  toString(): string {
    const state = this.#tid === null ? 'initial' : this.isAlive() ? 'started' : 'stopped';
    const ident = this.#tid === null ? '' : ` ${this.#tid}`;
    const cls = this.constructor.name || 'Thread';
    return `<${cls}(${this.name}, ${state}${this.#daemon ? ' daemon' : ''}${ident})>`;
  }

  /**
   * @internal A started thread crosses as its tid; the other side rebuilds a handle. One not yet
   * started has no tid to name: Python could start it from the other thread, weft cannot (its
   * target and fields stay here), so it is refused rather than arriving as a lifeless copy.
   */
  [kShared](): SharedState {
    if (this.#tid === null) {
      throw new TypeError(
        `Thread ${this.#name} cannot be sent to another thread before it is started: call start() first, then pass it (it arrives as a handle that can be joined)`,
      );
    }
    return {
      kind: 'threading.Thread',
      state: { tid: this.#tid, name: this.name, daemon: this.#daemon },
    };
  }

  /**
   * @internal A Thread object standing for a thread that already runs: the main thread, the
   * current worker, or a thread started elsewhere. `cls` is Thread or the user's subclass (whose
   * constructor is not run: its fields come from the parent).
   */
  static _adopt(
    cls: Function,
    tid: number,
    init: ThreadOptions & { name: string; daemon: boolean },
  ): Thread {
    // Thread's own constructor (not the subclass's) with `cls` as new.target: the options are
    // weft's own, checked already where the thread was started.
    const t = Reflect.construct(Thread, [init], cls) as Thread;
    t.#tid = tid;
    t.#started = true;
    return t;
  }

  /** @internal Waits for the non-daemon threads this one started (a worker ends after them). */
  static async _joinStarted(): Promise<void> {
    // The workers themselves: one that lives on for the child processes its thread started
    // keeps this worker too (a worker's end would end the workers it started).
    for (const t of [...startedHere.values()]) {
      if (t.daemon) continue;
      await t.join();
      await t.#exited;
    }
  }
}

let reapsAtExit = false;

/**
 * A worker thread that ends (a pool worker stopped, a Thread that calls process.exit()) ends the
 * workers it started with it, and their 'exit' events, which mark them finished, were this
 * thread's to hear: marks them finished as it goes, or the table says them alive for ever (a
 * process's exit would wait for them, threading.enumerate() lists them).
 */
function reapStartedAtExit(): void {
  if (reapsAtExit || isMainThread) return;
  reapsAtExit = true;
  // A worker that ends by its own machinery (a ThreadPoolExecutor's, stopped: thread-role.ts)
  // waits for the non-daemon threads started in it, as a Thread's does (thread-worker.ts).
  beforeThreadExit(() => Thread._joinStarted());
  process.on('exit', () => {
    for (const tid of startedHere.keys()) if (threadState(tid) !== THREAD_FINISHED) reapThread(tid);
  });
}

/**
 * Waits for `p`, at most `ms` (null or Infinity: no timer; any finite delay is waited in full,
 * long-timer.ts); keeps the loop alive meanwhile (a daemon's worker is unref'd).
 */
function raceTimeout(
  p: Promise<void>,
  ms: number | null,
  signal: AbortSignal | null,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    let timer: LongTimer | null = null;
    function settle(): void {
      clearInterval(keepAlive);
      clearLongTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    function done(): void {
      settle();
      resolve();
    }
    function onAbort(): void {
      settle();
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (ms !== null && ms <= 0) done();
    else if (ms !== null) timer = setLongTimeout(ms, done, undefined, undefined);
    p.then(done);
  });
}

/** The Thread object of the calling thread (correct inside workers too). */
export function currentThread(): Thread {
  if (current) return current;
  current = handleFor(selfTid);
  return current;
}

/** @internal The worker side sets the object `run()` is called on. */
export function _setCurrentThread(t: Thread): void {
  current = t;
}

/**
 * A Thread object for `tid`: the one started here, the current one, or a handle (named `known`
 * when the caller knows the name and flag, else as the thread table says).
 */
export function handleFor(
  tid: number,
  known?: { name: string; daemon: boolean },
  as?: { cls: Function; fields: Record<string, unknown> },
): Thread {
  if (current && current.ident === tid) return current;
  const mine = startedHere.get(tid);
  if (mine) return mine;
  let h = handles.get(tid);
  // A handle made as a plain Thread (by enumerate(), say) gives way to the richer one (a Timer's,
  // which can cancel) when that arrives.
  if (!h || (as !== undefined && !(h instanceof as.cls))) {
    const w = worldWords();
    h = Thread._adopt(
      as?.cls ?? Thread,
      tid,
      known ?? {
        name: threadName(tid),
        daemon: load(w, slotOf(tid) + T_DAEMON) === 1,
      },
    );
    if (as !== undefined) Object.assign(h, as.fields);
    handles.set(tid, h);
  }
  return h;
}

/** Forgets handles of threads that ended (enumerate calls it). */
export function pruneHandles(alive: ReadonlySet<number>): void {
  for (const tid of handles.keys()) if (!alive.has(tid)) handles.delete(tid);
}

registerSharedKind(
  'threading.Thread',
  (s) =>
    handleFor(s.tid as number, {
      name: s.name as string,
      daemon: s.daemon as boolean,
    }),
  import.meta.url,
);
