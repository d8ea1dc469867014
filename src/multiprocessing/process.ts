/**
 * `Process`: Python's multiprocessing.Process on a Node child process.
 *
 * Parent side: `start()` turns the target (or the subclass) into a task reference, encodes the
 * arguments (weft's multiprocessing primitives arrive connected), and forks a weft child
 * (src/internal/process/) whose role, process-child.ts, rebuilds the Process there and calls
 * `run()`. The child exits when `run()` settles: 0, or 1 after an uncaught error (its stack is
 * printed to stderr there, as Python prints the traceback); `exitcode` is minus the signal
 * number when a signal ended it.
 *
 * Liveness, as in Python: a non-daemon child keeps the parent alive until it ends (the parent is
 * "joined" at exit); a daemon child does not, is terminated when the parent exits, and — through
 * a watchdog in the child — ends by itself if the parent dies without exiting (SIGKILL). Both
 * hold whichever thread of the parent started the child (child-table.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import type { ArgList, Kwargs } from '../internal/call-args.js';
import { handleClosed, handleOpened } from '../internal/live-handles.js';
import { pollUntil } from '../internal/poll-until.js';
import { collectHandoffs, type Handoff, prepareHandoffs } from '../internal/process/fd-handoff.js';
import { ChildHandle } from '../internal/process/spawn.js';
import { collectTransfers, dropTransfers } from '../internal/process/transfers.js';
import type { RunTargetOptions, RunTargetPayload, TargetFn } from '../internal/run-target.js';
import { checkDaemon, checkName, checkRunOptions, type RunTarget } from '../internal/run-target.js';
import { encode, kShared, type SharedState } from '../internal/serialize.js';
import { refuseStartInTaskModule } from '../internal/task-ref.js';
import { afterThreadEnd } from '../internal/thread-exit.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { startTimer, stopTimer } from '../internal/waiter.js';
import {
  awaitEndSync,
  awaitOthersNonDaemon,
  CHILD_POLL_MS,
  forgetChild,
  type OtherChild,
  orphanChildren,
  otherStillRuns,
  othersListed,
  recordChild,
  terminateOthersDaemon,
} from './child-table.js';
import { OSError, RuntimeError, refuseToSend } from './errors.js';
import { childName, identity, nextChild } from './process-identity.js';

/**
 * `F`, `A` and `K` are the types of `target`, `args` and `kwargs`: given them (or inferred from
 * a call that takes these options), `target` must accept the others; the defaults leave them
 * unchecked.
 */
export interface ProcessOptions<
  F extends TargetFn = TargetFn,
  A extends ArgList = any[],
  K extends Kwargs = any,
> extends RunTargetOptions<F, A, K> {
  /** Default `Process-N`, or the subclass's name and N (`Worker-N`), as Python names it. */
  name?: string;
  /** Default: the daemon flag of the current process. */
  daemon?: boolean | null;
}

/** @internal What the child needs to rebuild the process. */
export interface ProcessPayload extends RunTargetPayload {
  name: string;
  /** The child's `_identity` (null when this process's own is not known). */
  ident: number[] | null;
  daemon: boolean;
  parentName: string;
}

const roleUrl = new URL(
  `./process-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
).href;

/** Set while _adopt and _handle build a Process that is no new child: it takes no identity. */
let building = false;
const noop = (): void => {};

/** `make()`, building a Process that is no new child: it takes no number, no identity. */
function unnumbered(make: () => Process): Process {
  building = true;
  try {
    return make();
  } finally {
    building = false;
  }
}
const active = new Set<Process>();
/** Pool workers still running (their pool's engine ends them, here or when this process exits). */
const poolWorkers = new Set<Process>();
/**
 * The Process objects this thread made for children other threads started (`_foreign`), by
 * pid: activeChildren() gives the same object while the child runs, as Python's gives its one
 * (a later child given the same pid gets its own: `sameChild`).
 */
const foreign = new Map<number, Process>();

// Python's exit, the process's and not a thread's (a worker thread's 'exit' is its own end): it
// joins every non-daemon child, whichever thread started it, and terminates the daemon ones
// (SIGTERM), then waits for them, a bounded while (child-table.ts). In a child process the exit
// is run()'s end, which keeps Python's order: daemon children first (exit-hooks.ts). Here, in the
// root's main thread, the only sign of the end is the event loop running dry, which cannot tell a
// finished program from one waiting on an outside event (a signal): so this thread's non-daemon
// children hold the loop through their handles, the other threads' are waited for when it runs
// dry, and only at 'exit', when the end is certain, are the daemon ones terminated (docs:
// weft's order, after the non-daemon children).
if (isMainThread) {
  let waiting = false;
  process.on('beforeExit', () => {
    if (waiting) return;
    const others = awaitOthersNonDaemon();
    if (others === null) return;
    waiting = true;
    void others.then(() => {
      waiting = false;
    });
  });
  process.once('exit', () => {
    Process._exitTerminate();
    awaitEndSync([...terminatedAtExit]);
  });
}

/** The pids the exit has sent SIGTERM: each daemon child gets one, as Python terminates it once. */
const terminatedAtExit = new Set<number>();

const SIGNALS = constants.signals as Record<string, number>;

/**
 * In a worker thread, the non-daemon children it started and that still run. Python's child
 * belongs to the process, which joins it at exit, whichever thread started it: the thread's worker
 * (it holds the child's channel and hears its exit) outlives the thread's end until they end.
 */
const threadChildren = new Map<Process, Promise<void>>();
/** A worker thread leaves the children it still has to the child table when it exits. */
let orphansOnExit = false;
let waitsAtThreadEnd = false;
function keepWorkerFor(p: Process, exited: Promise<void>): void {
  if (isMainThread) return;
  threadChildren.set(p, exited);
  void exited.then(() => threadChildren.delete(p));
  if (waitsAtThreadEnd) return;
  waitsAtThreadEnd = true;
  afterThreadEnd(() =>
    threadChildren.size === 0
      ? null
      : (async () => {
          for (const [, exited] of threadChildren) await exited;
        })(),
  );
}

/**
 * @internal Python's `start()` asserts `not current_process()._config.get('daemon')`
 * ("daemonic processes are not allowed to have children"), whichever thread of the process
 * starts: a daemon is terminated without waiting for its children, which would be left orphans.
 * So are refused, here as there, a `Process.start()`, a `Pool`'s construction and a call submitted
 * to a `ProcessPoolExecutor` in a daemon process — a Pool's worker, or a Process started with
 * `daemon` true — in any of its threads. A ProcessPoolExecutor's worker is no daemon (Python
 * 3.11's is not): it may. `what` says what was refused (`Cannot start Process Process-1:1`).
 * Pool and ProcessPoolExecutor call it as `Process._refuseInDaemon`.
 * @throws RuntimeError (`ERR_WEFT_DAEMON_CHILDREN`) in a daemon process.
 */
function refuseInDaemon(what: string): void {
  const me = identity();
  if (!me.daemon) return;
  throw new RuntimeError(
    `${what}: daemonic processes are not allowed to have children (Python's AssertionError), and this process, ${me.name}, is a daemon (a Pool's worker, or a Process started with daemon true), which ends without waiting for its children. Start the children from a process that is not a daemon (this one's parent, say, from the results it returns). A Pool's workers are always daemons: to run calls that start children, use a ProcessPoolExecutor instead of the Pool (its workers are not daemons); a Process is one when started with daemon true: start it with daemon: false.`,
    'ERR_WEFT_DAEMON_CHILDREN',
  );
}

/**
 * A process running `run()` in a child (its own heap, modules and event loop). Two styles:
 *
 * ```ts
 * const p = new Process({ target: work, args: [1], kwargs: { verbose: true } });
 * p.start();
 * await p.join();
 *
 * class Worker extends Process { override run() { … } }
 * task(import.meta, Worker);     // lets the child find the subclass
 * ```
 *
 * The target must be a marked function (`task(import.meta, fn)`) or a self-contained one. A
 * module variable changed in the child is not changed in the parent: share state through
 * `Queue`, `Value`, `Manager()`… passed in `args`.
 */
export class Process<
  F extends TargetFn = TargetFn,
  const A extends ArgList = [],
  K extends Kwargs = undefined,
> {
  #name: string;
  #ident: number[] | null;
  #daemon: boolean;
  #target: RunTarget;
  #child: ChildHandle | null = null;
  /** A Pool's worker (the pool's engine owns it): signalled, never ref'd or unref'd, here. */
  #worker: ChildProcess | null = null;
  #pid: number | null = null;
  #exitcode: number | null = null;
  #exited: Promise<void> | null = null;
  #started = false;
  #closed = false;
  #self = false;
  /** join() calls waiting now: the child (unref'd when a daemon) is ref'd while any waits. */
  #joiners = 0;
  /** The handle `parentProcess()` gives: not our child, so its end is seen through our ppid. */
  #parent = false;
  /**
   * A child another thread of this process started (`_foreign`): this thread has no handle on
   * it, only the child table (child-table.ts), which tells whether it runs, not its exit code.
   */
  #foreign = false;
  /** Which child a `#foreign` object stands for (child-table.ts: `otherStillRuns`). */
  #other: OtherChild | null = null;
  /** A `#foreign` object saw its child end: it stays ended, whatever later takes its pid. */
  #otherEnded = false;

  /**
   * `target` must accept `args` and then `kwargs` (a compile error otherwise, where Python
   * raises TypeError in the child); `F`, `A` and `K` serve only that check.
   */
  constructor(options: ProcessOptions<F, A, K> = {}) {
    const { target, name, daemon } = checkRunOptions('Process', options);
    this.#target = target;
    // As Python's: every new Process takes the next identity, named or not (the counter is
    // shared with a Pool's workers), and its default name is made from it and the class's name
    // (`Worker-1` for `class Worker extends Process`; `Process-1` for an anonymous class).
    const next = building ? null : nextChild();
    this.#ident = next?.ident ?? null;
    const kind = (typeof new.target?.name === 'string' && new.target.name) || 'Process';
    this.#name = name ?? (next ? childName(kind, next) : kind);
    // Python's default is current_process().daemon: false in a ProcessPoolExecutor's worker (its
    // identity says so: src/internal/pool/process-role.ts), true in a Pool's.
    this.#daemon = daemon ?? identity().daemon;
  }

  get name(): string {
    return this.#name;
  }
  set name(v: string) {
    checkName('Process', v);
    this.#name = v;
  }

  /**
   * Python's `_identity`: `[]` for MainProcess, `[2]` for the second child started at the root
   * (a Process or a Pool worker), `[2, 1]` for that child's first. A copy.
   */
  get _identity(): number[] {
    return [...(this.#ident ?? [])];
  }

  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(v: boolean) {
    checkDaemon('Process', v, this.#started);
    this.#daemon = v;
  }

  /** The child's process id, null before `start()`. @throws RuntimeError once closed. */
  get pid(): number | null {
    this.#checkClosed();
    return this.#pid;
  }
  /** Python's `ident` is the pid. @throws RuntimeError once closed. */
  get ident(): number | null {
    this.#checkClosed();
    return this.#pid;
  }

  /**
   * null while running (or before start); 0, the exit code, or minus the signal number.
   * @throws RuntimeError once closed.
   */
  get exitcode(): number | null {
    this.#checkClosed();
    return this.#exitcode;
  }

  /** Python's ValueError "process object is closed": a closed Process answers nothing more. */
  #checkClosed(): void {
    if (this.#closed) throw new RuntimeError('Process object is closed', 'ERR_WEFT_PROCESS_CLOSED');
  }

  /**
   * Starts the child; `run()` will execute there. Synchronous, like Python's.
   * @throws RuntimeError when started twice or closed, or in a daemon process (Python's
   *   AssertionError: `ERR_WEFT_DAEMON_CHILDREN`); TaskReferenceError when the target or
   *   subclass cannot be found from a child; TypeError when an argument cannot be sent; OSError
   *   when a socket, Pipe end or SimpleQueue in the args is closed (a socket: or not connected),
   *   or when the child cannot be forked.
   */
  start(): void {
    if (this.#closed) throw new RuntimeError('Process object is closed', 'ERR_WEFT_PROCESS_CLOSED');
    if (this.#started || this.#self)
      throw new RuntimeError('Processes can only be started once', 'ERR_WEFT_PROCESS_STARTED');
    refuseStartInTaskModule('Process.start()');
    refuseInDaemon(`Cannot start Process ${this.#name}`);
    const { payload: sent, modules } = this.#target.send(
      'Process',
      this,
      this.run !== Process.prototype.run,
    );
    const payload: ProcessPayload = {
      name: this.#name,
      ident: this.#ident,
      daemon: this.#daemon,
      parentName: identity().name,
      ...sent,
    };
    let encoded: unknown;
    let handoffs: Handoff[];
    // Pipe handles in the args: counted until the child holds them (transfers.ts).
    const transfers: string[] = [];
    try {
      [encoded, handoffs] = collectHandoffs(() =>
        collectTransfers(transfers, () => encode(payload, 'process')),
      );
      structuredClone(encoded);
    } catch (err) {
      dropTransfers(transfers);
      // A closed Pipe end or SimpleQueue: Python's start() raises its OSError ("handle is closed").
      if (err instanceof OSError) throw err;
      throw new TypeError(
        `Process ${this.#name}: its args, kwargs or fields cannot be sent to a child process (${(err as Error).message}); send plain data, sockets and weft/multiprocessing objects`,
        { cause: err },
      );
    }
    // Sockets in the args: their descriptors go to the child at fork (fd-handoff.ts); the
    // bytes the parent already read travel in `encoded`, filled in by prepare().
    const fds = prepareHandoffs(handoffs);
    let child: ChildHandle;
    try {
      child = new ChildHandle({
        role: roleUrl,
        payload: encoded,
        modules,
        name: this.#name,
        daemon: this.#daemon,
        fds,
      });
    } catch (err) {
      for (const h of handoffs) h.abort();
      dropTransfers(transfers);
      throw err;
    }
    // Node reports a child it could not start (ENOENT, EAGAIN under a process limit) and, later,
    // a signal it could not send as 'error' events: unheard, one ended this whole process. The
    // end of a child that did start is read from 'exit' alone.
    child.process.on('error', () => {});
    if (child.process.pid === undefined) {
      // Not forked: Python's start() raises OSError; Node tells why only on the next tick.
      for (const h of handoffs) h.abort();
      dropTransfers(transfers);
      throw new OSError(
        `Process ${this.#name}: the child process could not be started (${process.execPath} could not be spawned: no such file, or the process limit is reached); the Process can be started again`,
        '',
        'ERR_WEFT_PROCESS_SPAWN',
      );
    }
    for (const h of handoffs) h.commit();
    this.#started = true;
    this.#child = child;
    this.#pid = child.process.pid ?? null;
    active.add(this);
    handleOpened('process');
    // Seen by the thread that ends the process, whichever thread this is (child-table.ts).
    const pid = child.process.pid;
    const slot = recordChild(pid, this.#daemon, this.#name, this.#ident?.at(-1) ?? 0);
    if (!isMainThread && !orphansOnExit) {
      orphansOnExit = true;
      process.once('exit', orphanChildren);
    }
    // The IPC channel must not keep the parent alive on its own: the process handle does that
    // (for non-daemon children), as Python joins them at exit.
    (child.process.channel as { unref?: () => void } | undefined)?.unref?.();
    if (this.#daemon) child.process.unref();
    this.#exited = new Promise((resolve) => {
      child.process.once('exit', (code, signal) => {
        this.#exitcode = signal ? -(SIGNALS[signal] ?? 1) : (code ?? 1);
        dropTransfers(transfers);
        forgetChild(slot, pid);
        active.delete(this);
        handleClosed('process');
        resolve();
      });
    });
    if (!this.#daemon) keepWorkerFor(this, this.#exited);
  }

  /**
   * What the process does; runs in the child. The default calls the target with `args` and then
   * `kwargs` (when it has keys) as one trailing object. Override it in a subclass.
   */
  run(): unknown {
    return this.#target.call();
  }

  /** Whether the child has started and not yet ended. @throws RuntimeError once closed. */
  isAlive(): boolean {
    if (this.#self) return true;
    this.#checkClosed();
    // An orphan is adopted by another process (init, a subreaper): while ours is the same
    // parent, it runs. It answered true for ever, where Python's parent_process() turns false.
    if (this.#parent) return process.ppid === this.#pid;
    if (this.#foreign) return this.#otherRuns();
    return this.#started && this.#exitcode === null;
  }

  /**
   * Waits until the child ends or `timeout` ms pass (then check `exitcode`/`isAlive()`). Never
   * rejects because the child failed.
   *
   * **Cancellation:** an aborted `signal` rejects with its reason; the child runs on.
   * @throws RuntimeError before start, once closed, or when joining the current process;
   *   TypeError for options that are not an object, a `timeout` that is not a number, a `signal`
   *   that is not an AbortSignal.
   */
  async join(options?: WaitOptions | null): Promise<void> {
    if (this.#self) throw new RuntimeError('Cannot join the current process', 'ERR_WEFT_JOIN_SELF');
    this.#checkClosed();
    if (!this.#started || (this.#exited === null && !this.#parent && !this.#foreign)) {
      throw new RuntimeError(
        'Cannot join a process that was not started',
        'ERR_WEFT_PROCESS_NOT_STARTED',
      );
    }
    // Python's join(timeout=None): null or no options waits for ever; a negative timeout has run
    // out already. Options that are not an object, or a signal that is not an AbortSignal, are a
    // TypeError (`join(null)` read `null.timeout`, and `join(5)` waited for ever).
    const { timeout, signal } = parseWait('Process.join', options ?? undefined);
    if (signal?.aborted) throw signal.reason;
    if (this.#parent) return this.#joinParent(timeout, signal);
    if (this.#foreign) return this.#joinForeign(timeout, signal);
    if (this.#exitcode !== null) return;
    // A joiner keeps the parent alive while it waits, even for a daemon child (unref'd) — until
    // the last joiner leaves: the first to leave (a timeout) unref'd it under another join()
    // still waiting, and the parent exited with that join unsettled (the daemon killed).
    const child = this.#child?.process;
    // A Pool's worker is ref'd and unref'd by its pool's engine alone: a timer holds the loop
    // instead (an idle worker is unref'd, and a join after kill() ended the program, exit 13).
    const hold = this.#worker !== null ? setInterval(noop, 2 ** 30) : null;
    if (this.#joiners++ === 0) child?.ref();
    try {
      await this.#joinWait(timeout, signal);
    } finally {
      if (hold !== null) clearInterval(hold);
      if (--this.#joiners === 0 && this.#daemon && this.#exitcode === null) child?.unref();
    }
  }

  /**
   * Python's `parent_process().join()`: waits until the parent ends (this process is then
   * re-parented), polling as the daemon watchdog does, since a parent sends no exit event.
   */
  #joinParent(timeout: number | null, signal: AbortSignal | null): Promise<void> {
    const pid = this.#pid;
    return pollUntil(() => process.ppid !== pid, 50, timeout, signal);
  }

  /** Whether the other thread's child this object stands for still runs (latched once not). */
  #otherRuns(): boolean {
    if (this.#otherEnded) return false;
    if (otherStillRuns(this.#other as OtherChild)) return true;
    this.#otherEnded = true;
    return false;
  }

  /**
   * join() of another thread's child: this thread hears nothing of its end, so it polls the
   * child table (child-table.ts), every CHILD_POLL_MS; the poll holds the loop meanwhile.
   */
  #joinForeign(timeout: number | null, signal: AbortSignal | null): Promise<void> {
    return pollUntil(() => !this.#otherRuns(), CHILD_POLL_MS, timeout, signal);
  }

  #joinWait(timeout: number | null, signal: AbortSignal | null): Promise<void> {
    if (timeout === null && signal === null) return this.#exited as Promise<void>;
    return new Promise<void>((resolve, reject) => {
      // Infinity arms nothing; a delay past Node's 2^31 − 1 ms waits in chunks.
      const timer = timeout === null ? null : startTimer(timeout, done, undefined);
      function done(): void {
        stopTimer(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort(): void {
        stopTimer(timer);
        reject(signal?.reason);
      }
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#exited?.then(done);
    });
  }

  /**
   * Sends SIGTERM (`exitcode` becomes −15); nothing once the process has ended.
   * @throws RuntimeError before start, or once closed.
   */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /**
   * Sends SIGKILL (`exitcode` becomes −9); nothing once the process has ended.
   * @throws RuntimeError before start, or once closed.
   */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(sig: NodeJS.Signals): void {
    if (this.#self) {
      process.kill(process.pid, sig);
      return;
    }
    this.#checkClosed();
    // Python's terminate() and kill() on a process never started raise (AttributeError, from
    // its missing Popen): misuse, said as join() before start() says it. Once it has ended, a
    // signal is nothing, as there.
    if (!this.#started) {
      throw new RuntimeError(
        `Cannot ${sig === 'SIGKILL' ? 'kill' : 'terminate'} a process that was not started: ${this.#name}`,
        'ERR_WEFT_PROCESS_NOT_STARTED',
      );
    }
    if (this.#foreign) {
      // Only while the table still holds it: once it has ended, its pid may be another's.
      if (this.#otherRuns()) process.kill(this.#pid as number, sig);
      return;
    }
    if (this.#exitcode !== null) return;
    if (this.#child) this.#child.process.kill(sig);
    else this.#worker?.kill(sig);
  }

  /**
   * Releases the resources of a finished process; most methods throw afterwards.
   * @throws RuntimeError while the process is still running.
   */
  close(): void {
    if (this.#closed) return;
    const running = this.#foreign ? this.#otherRuns() : this.#exitcode === null;
    if (this.#started && running) {
      throw new RuntimeError(
        `Cannot close a process while it is still running: ${this.#name}`,
        'ERR_WEFT_PROCESS_ALIVE',
      );
    }
    this.#closed = true;
    this.#child = null;
  }

  toString(): string {
    const state = this.#self
      ? 'started'
      : !this.#started
        ? 'initial'
        : this.#foreign
          ? this.#otherRuns()
            ? 'started'
            : 'stopped'
          : this.#exitcode === null
            ? 'started'
            : `stopped exitcode=${this.#exitcode}`;
    return `<Process name='${this.#name}' pid=${this.#pid ?? 'None'} ${state}${this.#daemon ? ' daemon' : ''}>`;
  }

  /** @internal Refused in a Process's args, a queue item, a task's arguments (see refuseToSend). */
  [kShared](): SharedState {
    refuseToSend(`Process ${this.#name}`, 'pass its pid or name instead');
  }

  /** @internal The Process object for the running process itself (MainProcess, or the child's own). */
  static _adopt(
    cls: Function,
    init: { name: string; daemon: boolean; pid: number } & ProcessOptions,
  ): Process {
    // Process's own constructor (not the subclass's) with `cls` as new.target: the options are
    // weft's own, checked already where the process was started.
    const p = unnumbered(() => Reflect.construct(Process, [init], cls) as Process);
    p.#ident = identity().ident ?? null;
    p.#self = true;
    p.#started = true;
    p.#pid = init.pid;
    return p;
  }

  /** @internal `refuseInDaemon`, for Pool and ProcessPoolExecutor. */
  static _refuseInDaemon(what: string): void {
    refuseInDaemon(what);
  }

  /** @internal A handle for another process known only by pid and name (the parent). */
  static _handle(name: string, pid: number): Process {
    const p = unnumbered(() => new Process({ name, daemon: false }));
    p.#ident = identity().ident?.slice(0, -1) ?? null;
    p.#pid = pid;
    p.#started = true;
    p.#parent = true;
    return p;
  }

  /**
   * @internal The Process object of a Pool's worker, as Python's Pool keeps one for each: listed
   * by activeChildren() while it runs, with its name, identity, pid and exitcode. The pool starts
   * and ends it; `terminate()` and `kill()` signal it (the pool then breaks, as a worker that
   * dies under it breaks it). `daemon` is what it says, as Python's: true for a Pool's worker,
   * false for a ProcessPoolExecutor's; either way the pool ends it, and the exit neither
   * terminates nor waits for it (`_started` and `_exitTerminate` leave pool workers out).
   */
  static _poolWorker(
    name: string,
    ident: number[] | null,
    child: ChildProcess,
    daemon = true,
  ): Process {
    const p = unnumbered(() => new Process({ name, daemon }));
    p.#ident = ident;
    p.#started = true;
    p.#pid = child.pid ?? null;
    p.#worker = child;
    p.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        p.#exitcode = signal ? -(SIGNALS[signal] ?? 1) : (code ?? 1);
        poolWorkers.delete(p);
        resolve();
      });
    });
    // One never forked is the engine's to report: there is nothing to list.
    if (child.pid !== undefined) poolWorkers.add(p);
    return p;
  }

  /** @internal A Pool's worker being terminated: no longer listed by activeChildren(). */
  static _unlistWorker(p: Process): void {
    poolWorkers.delete(p);
  }

  /**
   * @internal The children of this process that run (activeChildren()): those this thread
   * started, its pools' workers, and those other threads started (`_foreign`), as Python lists
   * every child of the process, whichever thread started it.
   */
  static _active(): Process[] {
    return [...active, ...poolWorkers, ...Process._othersChildren()];
  }

  /** @internal Process objects for the children other threads started that run now. */
  static _othersChildren(): Process[] {
    const listed = othersListed();
    const now = new Set(listed.map((c) => c.pid));
    for (const pid of foreign.keys()) if (!now.has(pid)) foreign.delete(pid);
    return listed.map((c) => {
      let p = foreign.get(c.pid);
      if (p === undefined || !p.#sameChild(c)) {
        p = Process._foreign(c);
        foreign.set(c.pid, p);
      }
      return p;
    });
  }

  /**
   * @internal The Process object of a child another thread of this process started, made from
   * the child table: its name at start, pid, daemon flag and `_identity` (this process's plus
   * its number). `isAlive()`, `join()`, `terminate()`, `kill()` and `close()` work through the
   * table and the pid; `exitcode` stays null (only the starting thread hears it), and it cannot
   * be started.
   */
  static _foreign(c: OtherChild): Process {
    const p = unnumbered(() => new Process({ name: c.name, daemon: c.daemon }));
    const own = identity().ident;
    p.#ident = own !== undefined && c.ident > 0 ? [...own, c.ident] : null;
    p.#pid = c.pid;
    p.#started = true;
    p.#foreign = true;
    p.#other = c;
    return p;
  }

  /** Whether this `#foreign` object stands for child `c`, not another given the same pid. */
  #sameChild(c: OtherChild): boolean {
    const o = this.#other;
    return o !== null && o.slot === c.slot && o.owner === c.owner && o.start === c.start;
  }

  /**
   * @internal The Processes this thread started and that still run: Pool and ProcessPoolExecutor
   * workers left out, which their pool ends (Python's exit joins them once their pool has).
   */
  static _started(): Process[] {
    return [...active];
  }

  /**
   * @internal The exit's first step, as Python's: SIGTERM to every daemon child still running,
   * this thread's and other threads' (child-table.ts), once each.
   */
  static _exitTerminate(): void {
    for (const p of active) {
      if (!p.#daemon || p.#exitcode !== null || p.#pid === null) continue;
      if (terminatedAtExit.has(p.#pid)) continue;
      terminatedAtExit.add(p.#pid);
      p.terminate();
    }
    terminateOthersDaemon(terminatedAtExit);
  }
}

/** The number of CPUs usable by this process. */
export function cpuCount(): number {
  return availableParallelism();
}
