/**
 * The executor engine under ThreadPoolExecutor, ProcessPoolExecutor and multiprocessing's Pool:
 * a queue of work items in the parent, workers started on demand, batches out and outcomes
 * back (protocol.ts), cancellation, stealing, crash handling.
 *
 *   submit ─▶ items (FIFO) ─dispatch─▶ worker 0: [slot 0 batch][slot 1 batch] ─┐
 *      ▲                     (batched)  worker 1: [slot 0 batch][slot 1 batch] ─┤ 'res' (batched)
 *      └─ Future ◀─ _complete ◀── the worker's batch [slot][k] ◀──────────────────┘
 *
 * Implementation notes
 * - Workers start on demand, before anything is sent (CPython's _adjust_process_count): a
 *   queued call that no idle or booting worker will take starts one, up to maxWorkers. They are
 *   reused. Idle workers are unref'd, so an executor nobody shut down does not keep the process
 *   alive; a busy one is ref'd. (A ThreadPoolExecutor nobody shut down is shut down at its
 *   thread's end all the same, as Python's exit does: src/internal/thread-executors.ts.)
 * - Dispatch: a short queue (≤ SPARSE calls per worker, a chunk counting as its calls) goes one
 *   call to each idle worker and no further, so a call never waits behind another in a worker
 *   while a worker idles or boots. A long queue goes in batches of an even share, up to
 *   BATCH_CAP tasks and BATCH_CALLS calls (a chunk of many calls goes alone), two batches in
 *   flight a worker (one while a worker boots, so that it finds its share left).
 * - Threads: a worker left with nothing to do steals the unclaimed tail of the other workers'
 *   batches (compare-and-swap PENDING → TAKEN on each state word, from the end, until one is
 *   already claimed). A pending future is cancelled the same way, so `cancel()` keeps Python's
 *   meaning — it succeeds exactly when no worker has started the call. Processes share no
 *   memory: a call sent to a child counts as running (CPython's process pool does the same for
 *   its call queue). With a short queue that is the one call the child runs now, so the calls
 *   behind it stay pending and cancellable; a long queue's batches count as running whole.
 * - Forced cancellation ends only the worker running that task; its other tasks go back to the
 *   front of the queue (the ones it finished within its last FLUSH_MS may run twice — see
 *   runner.ts) and a replacement starts on demand. An interrupt detaches the call from its
 *   worker (the future is cancelled), but a call deaf to its signal runs on: the worker keeps a
 *   record of it (`PoolWorker.interrupted`) until its outcome comes back, and a force cancel
 *   meanwhile ends the worker as above. Any other death of a worker — an exit, an
 *   uncaught error, an out-of-memory kill, a failed initializer — breaks the executor, as in
 *   CPython: every unfinished future fails with the Broken… error carrying the cause, and
 *   later submissions throw it.
 * - A message one side of a thread worker cannot read ('messageerror', protocol.ts) fails only
 *   the calls it carried, never leaves them pending: a batch the runner could not read is sent
 *   again call by call (the call at fault fails alone); outcomes the engine could not read come
 *   again one to a message from what the runner keeps (the one at fault fails alone), and an end
 *   that never came is told from the runner's answer to 'sync'. The worker stays in the pool.
 * - What can starve: nothing in the queue (FIFO); a worker stuck in a task that never ends
 *   holds its own batch's tail until another worker steals it (threads) — for processes, until
 *   that task ends.
 */
import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { serialize } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { cas, load, store } from '../atomics.js';
import { Deque } from '../deque.js';
import { describeError, RuntimeError, WeftError } from '../errors.js';
import { handleClosed, handleOpened } from '../live-handles.js';
import { ChildHandle } from '../process/spawn.js';
import { collectTransfers, dropTransfers } from '../process/transfers.js';
import { type Carrier, decode, decodeError, type EncodedError, encode } from '../serialize.js';
import { reapThread } from '../shm/world.js';
import {
  loadingTaskModule,
  refuseStartInTaskModule,
  type TaskRef,
  toTaskRef,
} from '../task-ref.js';
import type { WorkerMessage } from '../worker/protocol.js';
import { spawnWorkerWithPort } from '../worker/spawn.js';
import { packNumbers, unpack } from './pack.js';
import {
  BATCH_CAP,
  CHUNK,
  FIRST_INIT_ERROR,
  FIRST_READY,
  type FromRunner,
  fromRunner,
  outcomeAt,
  PENDING,
  RES_ERROR,
  RES_PACKED,
  type RunnerBoot,
  SLOTS,
  STATES_WORDS,
  stateIndex,
  TAKEN,
  type ToRunner,
  W_CANCEL,
  type WireBatch,
} from './protocol.js';

/** Trade-off: up to this many queued calls per worker, one call goes to each idle worker
 * (latency, fairness and Python's cancel() for long calls); above it, batches (throughput for
 * many short ones). */
const SPARSE = 4;

/**
 * Trade-off: the calls a batch may carry, a chunk counting as its calls — a batch stops before
 * the item that would pass it, unless that item is its first. Chunks of many calls (a map's
 * default chunksize) then travel one to a message: a worker starts on its first while the
 * second is on its way, and the rest wait here until a slot is free, where a batch of four
 * chunks made each worker read all four before starting (a 100,000-call map sent 200 KB a
 * message). More messages for chunks of a few calls each: one per BATCH_CALLS calls.
 */
const BATCH_CALLS = BATCH_CAP;

/**
 * Trade-off: how long a pool's child may take to end after Pool.terminate()'s SIGTERM before it
 * gets SIGKILL (one whose task handles or ignores SIGTERM would otherwise keep join() waiting).
 */
const TERM_GRACE_MS = 5000;

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const threadRole = new URL(`./thread-role${ext}`, import.meta.url).href;
const processRole = new URL(`./process-role${ext}`, import.meta.url).href;

/**
 * One queued call, as the engine sees it. The executor's Future is its item (pool-executor.ts):
 * one object a call, not a future and an item — 100,000 queued calls are 100,000 objects for
 * every minor GC to copy. The engine assigns `id` and `fnId` and owns the fields below them.
 */
export interface Item {
  id: number;
  fnId: number;
  /** Emptied once the call is done (pool-executor.ts). */
  readonly args: ArrayLike<unknown>;
  /** 0: one call `fn(...args)`; n > 0: a chunk, `fn` over consecutive lists of n of `args`. */
  readonly stride: number;
  /** A chunk's results, when all numbers, may complete the future as a typed array. */
  readonly packedOk: boolean;
  /** The worker it was sent to, while that worker owes its outcome. */
  w: PoolWorker | null;
  slot: number;
  k: number;
  withdrawn: boolean;
  _complete(ok: boolean, v: unknown): void;
  _cancel(message: string): void;
  done(): boolean;
}

/**
 * A call cancelled by an interrupt that its worker has not ended yet, as the future holds it
 * (future.ts, `FutureLink.interrupt`): `force()` ends that worker as a force cancel of a running
 * call would; the engine sets it to null once the call has ended (or its worker has), so a kept
 * future holds nothing of the pool.
 */
export interface Escalation {
  force: (() => void) | null;
}

export interface EngineOptions {
  kind: 'thread' | 'process';
  maxWorkers: number;
  namePrefix: string;
  /** A process worker's name, when not `${namePrefix}_${index}` (multiprocessing's Pool). */
  workerName?: () => string;
  /**
   * A process worker's `_identity`, taken from this process's counter of children when it
   * starts (a ProcessPoolExecutor's, as Python's workers take the next numbers): its own
   * children are named from it (`Process-3:1`). A Pool's worker says it in its name instead.
   */
  workerIdent?: () => number[] | null;
  /**
   * A process worker's daemon flag (currentProcess().daemon in it, and the default `daemon` of a
   * Process started there): true for multiprocessing's Pool, as Python's pool workers; false
   * (the default) for a ProcessPoolExecutor's, as Python 3.11's.
   */
  workerDaemon?: boolean;
  /** Told of each child process started as a worker (multiprocessing's activeChildren). */
  onWorkerProcess?: (name: string, child: ChildProcess) => void;
  initializer: Function | null;
  initargs: readonly unknown[];
  /** Tasks a worker runs before it is replaced (0: no limit). */
  maxTasksPerWorker: number;
  /** Memory limits of each worker thread (threads only). */
  resourceLimits?: ResourceLimits;
  /** Builds the error that breaks the executor. */
  broken(message: string, cause: unknown): Error;
}

interface Channel {
  post(m: ToRunner): void;
  /** Throws what `post` would for a message carrying `v`. */
  probe(v: unknown): void;
  /**
   * Ends the worker now. `gentle`: a child process gets SIGTERM (Python's Pool.terminate()), and
   * SIGKILL only if it has not ended TERM_GRACE_MS later (a task that ignores SIGTERM); without
   * it, SIGKILL (a forced cancellation, a broken executor).
   */
  terminate(gentle?: boolean): void;
  ref(): void;
  unref(): void;
  pid: number | null;
}

export class PoolWorker {
  ready = false;
  stopping = false;
  stopSent = false;
  forced = false;
  exited = false;
  refd = true;
  readonly slots: (Item[] | null)[] = new Array(SLOTS).fill(null);
  readonly known = new Set<number>();
  assigned = 0;
  lastError: unknown = null;
  /**
   * Calls cancelled by `cancel({ interrupt: true })` while this worker had them, by their place
   * (outcomeAt), until the worker reports their outcome — a child reports a call it skips because
   * the interrupt came first too (runner.ts) — or exits. The item itself is detached at the
   * interrupt (its outcome no longer counts, and a forced end of the worker must not run it
   * again), so this is what remembers where it runs. One call a place: a slot takes a new batch
   * only after every outcome of the last one.
   */
  readonly interrupted = new Map<number, Escalation>();
  readonly exit: Promise<void>;
  resolveExit!: () => void;
  ch!: Channel;
  /**
   * Unreadable messages (threads only, see protocol.ts). `posted`: messages posted to the worker
   * so far (the runner numbers what it receives alike); `batchN[s]`/`batchDefs[s]`: the number of
   * the message that carried slot s's batch and the functions it defined; `stopN`: the stop's.
   */
  posted = 0;
  readonly batchN: number[] = new Array(SLOTS).fill(0);
  readonly batchDefs: (number[] | null)[] = new Array(SLOTS).fill(null);
  stopN = 0;
  /** The first message of the worker's that could not be read here, null none. */
  unreadable: unknown = null;
  /** Per 'sync' posted and not answered yet: its message number and the batches then. */
  readonly syncs: Array<{ n: number; batches: (Item[] | null)[] }> = [];
  /** The outcomes being sent again after a 'synced' (protocol.ts), while they come. */
  replay: {
    again: number[];
    i: number;
    live: number[];
    batches: (Item[] | null)[];
  } | null = null;
  constructor(
    readonly index: number,
    readonly name: string,
    readonly states: Int32Array | null,
  ) {
    this.exit = new Promise((r) => {
      this.resolveExit = r;
    });
  }
  busy(): boolean {
    for (const s of this.slots) if (s !== null) return true;
    return false;
  }
  freeSlot(): number {
    for (let s = 0; s < SLOTS; s++) if (this.slots[s] === null) return s;
    return -1;
  }
}

export class PoolEngine {
  readonly o: EngineOptions;
  #queue = new Deque<Item>();
  #workers: PoolWorker[] = [];
  #fnIds = new WeakMap<Function, { id: number; ref: TaskRef }>();
  #bySource = new Map<string, { id: number; ref: TaskRef }>();
  /** Task references by id − 1. */
  #refs: TaskRef[] = [];
  #nextId = 1;
  #nextWorker = 0;
  #flushQueued = false;
  #shutdown = false;
  #broken: Error | null = null;
  #initializer: TaskRef | null;
  #idleWaiters: Array<() => void> = [];
  /** Maps started before shutdown that still submit (hold()): the workers wait for them. */
  #holds = 0;
  /** A dispatch is under way; one asked for meanwhile (see `#dispatch`) sets `#again`. */
  #dispatching = false;
  #again = false;
  /** Calls sent again one to a batch: their batch was unreadable in its worker (#onLost). */
  #solo: WeakSet<Item> | null = null;

  constructor(o: EngineOptions) {
    this.o = o;
    this.#initializer = o.initializer
      ? toTaskRef(o.initializer, `${o.namePrefix} initializer`)
      : null;
  }

  get broken(): Error | null {
    return this.#broken;
  }
  get isShutdown(): boolean {
    return this.#shutdown;
  }
  /** Pids (processes) or thread names of the live workers. */
  workerIds(): Array<number | string> {
    return this.#workers.filter((w) => !w.exited).map((w) => w.ch.pid ?? w.name);
  }

  /**
   * Queues the call `item` describes with `fn`: `fn(...args)` (`stride` 0), or a chunk of calls —
   * `fn` over consecutive argument lists of `stride` values of `args` (see protocol.ts),
   * completing with the array of their results or, with `packedOk` and all of them numbers,
   * with a typed array of them (pack.ts).
   */
  submit(fn: Function, item: Item): void {
    // The message is built only when refusing: submit is the pools' hot path.
    if (loadingTaskModule() !== null)
      refuseStartInTaskModule(`A call submitted to ${this.o.namePrefix}`);
    let f = this.#fnIds.get(fn);
    if (f === undefined) {
      const ref = toTaskRef(fn, `${this.o.namePrefix}: ${fn.name || '(anonymous)'}`);
      // An inline function created afresh for each call (a lambda in a loop) is one function.
      f = ref.kind === 'inline' ? this.#bySource.get(ref.source) : undefined;
      if (f === undefined) {
        f = { id: this.#refs.length + 1, ref };
        this.#refs.push(ref);
        if (ref.kind === 'inline') this.#bySource.set(ref.source, f);
      }
      this.#fnIds.set(fn, f);
    }
    item.id = this.#nextId++;
    item.fnId = f.id;
    this.#queue.push(item);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#dispatch();
    });
  }

  // ── cancellation (the futures' link) ──────────────────────────────────────────────────────

  started(item: Item): boolean {
    const w = item.w;
    if (w === null) return false;
    if (w.states === null) return true;
    return load(w.states, stateIndex(item.slot, item.k)) !== PENDING;
  }

  withdraw(item: Item): boolean {
    const w = item.w;
    if (w === null) {
      item.withdrawn = true;
      return true;
    }
    if (w.states === null) return false;
    if (cas(w.states, stateIndex(item.slot, item.k), PENDING, TAKEN) !== PENDING) return false;
    item.w = null;
    return true;
  }

  /**
   * Signals the worker running `item` (`force`: ends it). An interrupted call runs on until it
   * heeds its signal or ends: the returned handle ends its worker if a force cancel comes first
   * (null when there is nothing left to end).
   */
  interrupt(item: Item, force: boolean): Escalation | null {
    const w = item.w;
    if (w === null || w.exited) return null;
    item.w = null;
    if (force) {
      this.#force(w);
      return null;
    }
    // The word is for a synchronous task polling taskSignal(); the message for an async one.
    if (w.states !== null) store(w.states, W_CANCEL, item.id);
    if (w.ready) w.ch.post({ t: 'cancel', id: item.id });
    if (w.forced) return null;
    const at = outcomeAt(item.slot, item.k);
    const handle: Escalation = { force: null };
    handle.force = () => {
      handle.force = null;
      w.interrupted.delete(at);
      this.#force(w);
    };
    w.interrupted.set(at, handle);
    return handle;
  }

  /** Ends `w` for a forced cancellation: its other calls go back to the queue (#onExit). */
  #force(w: PoolWorker): void {
    if (w.exited || w.forced) return;
    w.forced = true;
    w.ch.terminate();
  }

  /** Forgets the interrupted calls of `w` whose outcomes (triples [at, ok, value]) `r` brings. */
  #endInterrupted(w: PoolWorker, r: ArrayLike<unknown>): void {
    for (let j = 0; j < r.length && w.interrupted.size > 0; j += 3) {
      const at = r[j] as number;
      const handle = w.interrupted.get(at);
      if (handle === undefined) continue;
      handle.force = null;
      w.interrupted.delete(at);
    }
  }

  // ── dispatch ──────────────────────────────────────────────────────────────────────────────

  /**
   * Dispatches, once at a time. A future completed during a dispatch (a call whose arguments
   * cannot be cloned) runs its done-callbacks there, and one that calls `shutdown()` or
   * `cancel()` asks for a dispatch again: run inside the first, it saw a worker as idle with its
   * batch not yet recorded (and told it to stop), or filled a slot the first then overwrote. It
   * is run after the first instead.
   */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#again = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#again = false;
        this.#dispatchOnce();
      } while (this.#again);
    } finally {
      this.#dispatching = false;
    }
  }

  #dispatchOnce(): void {
    // A broken engine sends nothing, but a worker's exit still ends here: whenIdle's waiters
    // (Pool.join after terminate) must learn of the last one.
    if (this.#broken !== null) {
      this.#checkIdle();
      return;
    }
    // Workers first (CPython's _adjust_process_count): a call that finds no idle worker starts
    // one, so a burst is shared with the workers it needs rather than sent to the one idle now.
    this.#grow();
    if (this.#broken !== null) return;
    if (this.#liveQueued() > 0) this.#send();
    if (this.#liveQueued() === 0 && this.#workers.length > 0 && this.o.kind === 'thread') {
      this.#steal();
    }
    this.#retire();
    this.#checkIdle();
  }

  /**
   * Sends queued calls (see the notes at the top). A short queue stops at idle workers: a call
   * sent to a child process cannot be withdrawn, so the rest stay queued, pending and cancellable.
   * While a worker boots, a long queue's batches go to idle workers only: a child process cannot
   * steal back the share the booting one should have had.
   */
  #send(): void {
    for (;;) {
      const queued = this.#liveQueued();
      if (queued === 0) return;
      let sharers = 0;
      let booting = 0;
      const ready: PoolWorker[] = [];
      for (const w of this.#workers) {
        if (w.stopping || w.exited || w.forced || !this.#canTakeLater(w)) continue;
        sharers++;
        if (!w.ready) booting++;
        else if (w.freeSlot() >= 0) ready.push(w);
      }
      const sparse = this.#fewCalls(SPARSE * Math.max(1, sharers));
      const eligible = sparse || booting > 0 ? ready.filter((w) => !w.busy()) : ready;
      if (eligible.length === 0) return;
      const per = sparse ? 1 : Math.ceil(queued / sharers);
      let progressed = false;
      for (const w of eligible) {
        if (this.#queue.length === 0) break;
        let n = Math.min(BATCH_CAP, per);
        if (this.o.maxTasksPerWorker > 0) n = Math.min(n, this.o.maxTasksPerWorker - w.assigned);
        if (n <= 0) continue;
        if (this.#sendBatch(w, w.freeSlot(), n)) progressed = true;
      }
      if (!progressed) return;
    }
  }

  /** Whether the queue holds at most `limit` calls (a chunk counts as its calls). */
  #fewCalls(limit: number): boolean {
    if (this.#queue.length > limit) return false;
    let calls = 0;
    for (const it of this.#queue) {
      if (it.withdrawn) continue;
      calls += it.stride > 0 ? Math.max(1, Math.ceil(it.args.length / it.stride)) : 1;
      if (calls > limit) return false;
    }
    return true;
  }

  #canTake(w: PoolWorker): boolean {
    if (!w.ready || w.stopping || w.exited || w.forced) return false;
    if (this.o.maxTasksPerWorker > 0 && w.assigned >= this.o.maxTasksPerWorker) return false;
    return w.freeSlot() >= 0;
  }

  #liveQueued(): number {
    // Drop withdrawn items at the head so the count is honest for the common case.
    while (this.#queue.length > 0 && (this.#queue.peek() as Item).withdrawn) this.#queue.shift();
    return this.#queue.length;
  }

  #sendBatch(w: PoolWorker, slot: number, n: number): boolean {
    const items: Item[] = [];
    const solo = this.#solo;
    let calls = 0;
    while (items.length < n && this.#queue.length > 0) {
      const head = this.#queue.peek() as Item;
      const c = head.stride > 0 ? Math.ceil(head.args.length / head.stride) : 1;
      if (items.length > 0 && calls + c > BATCH_CALLS) break;
      const it = this.#queue.shift() as Item;
      if (it.withdrawn || it.done()) continue;
      calls += c;
      if (solo?.has(it)) {
        // Of a batch the worker could not read: alone, so that only the call at fault fails.
        if (items.length > 0) {
          this.#queue.unshift(it);
          break;
        }
        solo.delete(it);
        items.push(it);
        break;
      }
      items.push(it);
    }
    if (items.length === 0) return false;
    let defs: Array<[number, TaskRef]> | null = null;
    for (const it of items) {
      if (!w.known.has(it.fnId)) {
        (defs ??= []).push([it.fnId, this.#refs[it.fnId - 1] as TaskRef]);
        w.known.add(it.fnId);
      }
    }
    let good = items;
    // Calls that cannot be sent fail once the batch is recorded: their done-callbacks may
    // shut the executor down, which must see the calls that went as sent.
    const refused: Array<[Item, Error]> = [];
    for (;;) {
      const n = good.length;
      const argv: unknown[] = [];
      const tasks: WireBatch = {
        ids: new Int32Array(n),
        fns: new Int32Array(n),
        argc: new Int32Array(n),
        argv,
      };
      for (let k = 0; k < n; k++) {
        const it = good[k] as Item;
        tasks.ids[k] = it.id;
        tasks.fns[k] = it.fnId;
        if (it.stride > 0) {
          tasks.argc[k] = CHUNK;
          argv.push(it.stride, packNumbers(it.args) ?? it.args);
        } else {
          const a = it.args;
          tasks.argc[k] = a.length;
          for (let j = 0; j < a.length; j++) argv.push(a[j]);
        }
        if (w.states !== null) store(w.states, stateIndex(slot, k), PENDING);
      }
      // Pipe handles in the arguments (transfers.ts): an attempt that is not sent drops its own.
      const tokens: string[] = [];
      try {
        // Inside the try: encode refuses some objects (a socket: NotCloneableError).
        // All numbers (`x + 1` over a range): one typed array, not an array cloned item by item.
        tasks.argv =
          packNumbers(argv) ??
          collectTransfers(tokens, () => encodeEach(good, argv, this.#carrier()));
        w.ch.post({ t: 'batch', slot, defs, tasks });
        w.batchN[slot] = w.posted;
        w.batchDefs[slot] = defs === null ? null : defs.map(([id]) => id);
        break;
      } catch (err) {
        dropTransfers(tokens);
        // Some arguments cannot be cloned: fail those futures, send the others.
        const ok: Item[] = [];
        for (const it of good) {
          const probe: string[] = [];
          try {
            // Through the channel's own serializer: a child process refuses what a thread takes
            // (a SharedArrayBuffer, so any threading object).
            w.ch.probe(collectTransfers(probe, () => encode(it.args, this.#carrier())));
            ok.push(it);
          } catch (e) {
            refused.push([
              it,
              e instanceof WeftError
                ? e
                : new TypeError(
                    `${this.o.namePrefix}: ${this.#refusedArg(w, it)} of task #${it.id} cannot be sent to a worker (${(e as Error).message}); send plain data, typed arrays, Maps/Sets or Errors${this.o.kind === 'process' && /SharedArrayBuffer/.test(String((e as Error)?.message)) ? THREADING_TO_PROCESS : ''}`,
                    { cause: e },
                  ),
            ]);
          } finally {
            dropTransfers(probe);
          }
        }
        if (ok.length === good.length) {
          // Not one call's arguments: the batch itself could not go. Its calls fail (thrown
          // from here, the error would end the process: this runs in a microtask).
          for (const it of good) {
            refused.push([
              it,
              new TypeError(
                `${this.o.namePrefix}: task #${it.id} could not be sent to a worker (${(err as Error)?.message})`,
                { cause: err },
              ),
            ]);
          }
          good = [];
        } else good = ok;
        if (good.length === 0) {
          // Nothing went: the worker has not learnt the functions this batch would have defined.
          for (const [id] of defs ?? []) w.known.delete(id);
          failAll(refused);
          return true;
        }
      }
    }
    for (let k = 0; k < good.length; k++) {
      const it = good[k] as Item;
      it.w = w;
      it.slot = slot;
      it.k = k;
    }
    w.slots[slot] = good;
    w.assigned += good.length;
    if (!w.refd) {
      w.refd = true;
      w.ch.ref();
    }
    failAll(refused);
    return true;
  }

  /**
   * Which argument of `it` the channel refuses, for the error ('argument 1' is the first, as
   * Python counts arguments in its messages): V8's message names the value, not its place, and a
   * call's arguments may be many. Each is probed alone, on this failure path only; 'the
   * arguments' when none fails alone (a chunk of a map, or only the whole that fails).
   */
  #refusedArg(w: PoolWorker, it: Item): string {
    if (it.stride === 0) {
      for (let i = 0; i < it.args.length; i++) {
        const probe: string[] = [];
        try {
          w.ch.probe(collectTransfers(probe, () => encode([it.args[i]], this.#carrier())));
        } catch {
          return `argument ${i + 1}`;
        } finally {
          dropTransfers(probe);
        }
      }
    }
    return 'the arguments';
  }

  #steal(): void {
    const idle = this.#workers.filter(
      (w) => w.ready && !w.stopping && !w.busy() && this.#canTake(w),
    );
    if (idle.length === 0) return;
    const stolen: Item[] = [];
    for (const v of this.#workers) {
      if (v.states === null || !v.busy()) continue;
      for (let s = 0; s < SLOTS; s++) {
        const batch = v.slots[s];
        if (!batch) continue;
        const taken: Item[] = [];
        // Half of the unclaimed tail (a snapshot; the CAS below is what counts), so two workers
        // do not hand the same tasks back and forth.
        let tail = 0;
        while (
          tail < batch.length &&
          load(v.states, stateIndex(s, batch.length - 1 - tail)) === PENDING
        )
          tail++;
        const limit = batch.length - Math.ceil(tail / 2);
        for (let k = batch.length - 1; k >= limit; k--) {
          // From the end: the runner claims from the front, so the first refusal ends the tail.
          if (cas(v.states, stateIndex(s, k), PENDING, TAKEN) !== PENDING) break;
          const it = batch[k] as Item;
          if (it.w !== v) continue;
          it.w = null;
          taken.push(it);
        }
        for (let j = taken.length - 1; j >= 0; j--) stolen.push(taken[j] as Item);
      }
    }
    if (stolen.length === 0) return;
    for (let j = stolen.length - 1; j >= 0; j--) this.#queue.unshift(stolen[j] as Item);
    this.#dispatch();
  }

  /** Starts a worker for each queued call that no idle or booting worker will take, up to
   * maxWorkers (CPython's _adjust_thread_count and _adjust_process_count). */
  #grow(): void {
    const queued = this.#liveQueued();
    if (queued === 0) return;
    let live = 0;
    let free = 0;
    for (const w of this.#workers) {
      if (w.stopping || w.exited || w.forced) continue;
      live++;
      if (!w.busy() && this.#canTakeLater(w)) free++;
    }
    let want = Math.min(this.o.maxWorkers - live, queued - free);
    while (want-- > 0 && this.#broken === null) this.#spawn();
  }

  #canTakeLater(w: PoolWorker): boolean {
    return !(this.o.maxTasksPerWorker > 0 && w.assigned >= this.o.maxTasksPerWorker);
  }

  /** Stops workers that are done: the executor is shutting down, or they ran their quota. */
  #retire(): void {
    for (const w of this.#workers) {
      if (w.stopSent || w.exited || w.busy()) continue;
      const quota = this.o.maxTasksPerWorker > 0 && w.assigned >= this.o.maxTasksPerWorker;
      if (quota || (this.#shutdown && this.#queue.length === 0 && this.#holds === 0)) {
        w.stopping = true;
        this.#holdLoop(w);
        if (w.ready) {
          w.stopSent = true;
          w.ch.post({ t: 'stop' });
          w.stopN = w.posted;
        }
      } else if (w.refd && w.ready) {
        w.refd = false;
        w.ch.unref();
      }
    }
  }

  /**
   * Ref's a worker that is being ended until it has exited, so that `shutdown({ wait })` and
   * `whenIdle()` are not cut short by an empty event loop (an idle worker is unref'd; a top-level
   * `await ex.shutdown()` would end the process with exit code 13 while it waits).
   */
  #holdLoop(w: PoolWorker): void {
    if (w.refd) return;
    w.refd = true;
    w.ch.ref();
  }

  /** The calls sent to `w` that it has not finished (nor given up: withdrawn, interrupted, stolen),
   * in submission order. The batches are the only record: a map by id cost a third of the
   * engine's time at 100,000 queued tasks. */
  #sentTo(w: PoolWorker): Item[] {
    const mine: Item[] = [];
    for (let s = 0; s < SLOTS; s++) {
      const n = w.slots[s]?.length ?? 0;
      for (let k = 0; k < n; k++) {
        const it = owedAt(w, s, k);
        if (it !== undefined) mine.push(it);
      }
    }
    return mine.sort((a, b) => a.id - b.id);
  }

  #allSent(): Item[] {
    return this.#workers.flatMap((w) => this.#sentTo(w));
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    if (this.#holds > 0 && this.#broken === null) return;
    if (this.#workers.some((w) => !w.exited)) return;
    for (const r of this.#idleWaiters.splice(0)) r();
  }

  // ── workers ───────────────────────────────────────────────────────────────────────────────

  /** How task arguments are encoded: a child process's channel refuses more than a thread's. */
  #carrier(): Carrier {
    return this.o.kind === 'process' ? 'process' : 'message';
  }

  #spawn(): void {
    const index = this.#nextWorker++;
    const name = this.o.workerName?.() ?? `${this.o.namePrefix}_${index}`;
    const states =
      this.o.kind === 'thread' ? new Int32Array(new SharedArrayBuffer(STATES_WORDS * 4)) : null;
    const w = new PoolWorker(index, name, states);
    const boot: RunnerBoot = {
      kind: this.o.kind,
      name,
      daemon: this.o.workerDaemon ?? false,
      initializer: this.#initializer,
      initargs: this.o.initargs,
      states: states ? (states.buffer as SharedArrayBuffer) : null,
      // 1 to 2^48: never 0 nor a small number a task would send by chance (protocol.ts).
      key: this.o.kind === 'process' ? randomInt(1, 2 ** 48) : null,
    };
    const modules = this.#refs.flatMap((r) => (r.kind === 'module' ? [r.url] : []));
    if (this.#initializer?.kind === 'module') modules.push(this.#initializer.url);
    try {
      w.ch =
        this.o.kind === 'thread'
          ? this.#threadChannel(w, boot, modules)
          : this.#processChannel(w, boot, modules);
    } catch (err) {
      this.#break(`Could not start a worker for ${this.o.namePrefix}`, err);
      return;
    }
    handleOpened(this.o.kind === 'thread' ? 'pool-thread' : 'pool-process');
    this.#workers.push(w);
  }

  #threadChannel(w: PoolWorker, boot: RunnerBoot, modules: string[]): Channel {
    // The runner speaks on weft's port, both ways (worker/protocol.ts): what a task posts on
    // parentPort never reaches #onMessage, and what the worker posted before it exited is read
    // to the end before the 'exit' below, an unreadable message among it or not.
    const { worker, port } = spawnWorkerWithPort<FromRunner | WorkerMessage>({
      role: threadRole,
      payload: encode(boot, 'message'),
      modules,
      name: w.name,
      ...(this.o.resourceLimits ? { resourceLimits: this.o.resourceLimits } : {}),
      onMessage: (m) => {
        if ('t' in m) {
          this.#onMessage(w, m);
          return;
        }
        // The bootstrap could not read its start data, and exits; the exit breaks the pool
        // with this cause.
        if (m.type !== 'startUnreadable') return;
        w.lastError = new RuntimeError(
          `${w.name} could not read its start data (the initializer's arguments, initargs: ${m.why}): nested too deeply for its stack, or too large for its memory limits. Pass flatter initargs, or raise resourceLimits.stackSizeMb`,
          'ERR_WEFT_UNREADABLE_MESSAGE',
        );
      },
      onUnreadable: (e) => this.#onUnreadable(w, e),
    });
    worker.on('error', (e) => {
      w.lastError = e;
    });
    const tid = worker.threadId + 1;
    worker.on('exit', (code) => {
      // An executor worker does not recover what its tasks left held, and one ended by a forced
      // cancellation or out of memory could not: its locks are handed back here, marked, before
      // anyone learns that the worker is gone (see reapThread).
      reapThread(tid);
      this.#onExit(w, code === 0 ? null : `exit code ${code}`);
    });
    return {
      post: (m) => {
        port.postMessage(m);
        // Counted once queued (a message that cannot be cloned throws above and is not).
        w.posted++;
      },
      probe: (v) => void structuredClone(v),
      terminate: () => void worker.terminate(),
      ref: () => worker.ref(),
      unref: () => worker.unref(),
      pid: null,
    };
  }

  #processChannel(w: PoolWorker, boot: RunnerBoot, modules: string[]): Channel {
    const child = new ChildHandle({
      role: processRole,
      payload: encode(boot, 'process'),
      modules,
      name: w.name,
      daemon: true,
      ident: this.o.workerIdent?.() ?? null,
    });
    const p = child.process;
    this.o.onWorkerProcess?.(w.name, p);
    const key = boot.key as number;
    // The channel is the task's too: only the runner's messages carry its mark (protocol.ts);
    // what the task sends with process.send is dropped.
    p.on('message', (m: unknown) => {
      if (fromRunner(m, key)) this.#onMessage(w, m);
    });
    p.on('error', (e) => {
      w.lastError = e;
    });
    p.on('exit', (code, signal) =>
      this.#onExit(w, code === 0 ? null : signal ? `killed by ${signal}` : `exit code ${code}`),
    );
    return {
      post: (m) => child.send(m),
      probe: (v) => void serialize(v),
      terminate: (gentle) => {
        if (!gentle || !p.kill('SIGTERM')) {
          p.kill('SIGKILL');
          return;
        }
        const last = setTimeout(() => {
          if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        }, TERM_GRACE_MS);
        last.unref();
        p.once('exit', () => clearTimeout(last));
      },
      ref: () => child.ref(),
      unref: () => child.unref(),
      pid: p.pid ?? null,
    };
  }

  #onMessage(w: PoolWorker, m: FromRunner): void {
    switch (m.t) {
      case 'ready':
        w.ready = true;
        this.#dispatch();
        return;
      case 'initError': {
        const cause = decodeError(m.error as EncodedError);
        this.#break(
          `A ${this.o.kind === 'thread' ? 'thread' : 'process'} initializer failed, the pool is not usable anymore`,
          cause,
        );
        return;
      }
      case 'res': {
        const r = ArrayBuffer.isView(m.r) ? m.r : (decode(m.r) as unknown[]);
        // First: a done-callback run below may force-cancel an interrupted call this reports ended.
        if (w.interrupted.size > 0) this.#endInterrupted(w, r);
        for (let k = 0; k < r.length; k += 3) {
          const at = r[k] as number;
          const it = owedAt(w, Math.floor(at / BATCH_CAP), at % BATCH_CAP);
          if (it !== undefined) settle(it, r[k + 1], r[k + 2]);
        }
        if (m.end >= 0) {
          // Every outcome of a batch is posted before its end: a call still owed here had its
          // outcome in a message that could not be read. While a 'sync' is under way the
          // outcomes come again (the slot stays taken, so the runner keeps them: #endReplay
          // frees it); else, a safety net, they fail.
          if (w.unreadable !== null && this.#owes(w, m.end)) {
            if (w.syncs.length > 0 || w.replay !== null) {
              this.#dispatch();
              return;
            }
            this.#failOwed(w, m.end);
          }
          w.slots[m.end] = null;
        }
        if (m.end >= 0 || r.length > 0) this.#dispatch();
        return;
      }
      case 'lost':
        this.#onLost(w, m.n, decodeError(m.error as EncodedError));
        return;
      case 'synced':
        this.#onSynced(w, m.first, m.live, m.again);
        return;
      case 'again': {
        const replay = w.replay;
        if (replay === null) return;
        replay.i++;
        const at = m.r[0] as number;
        const same = sameBatch(w, replay.batches, at);
        if (same && w.interrupted.size > 0) this.#endInterrupted(w, m.r);
        const it = same ? owedAt(w, Math.floor(at / BATCH_CAP), at % BATCH_CAP) : undefined;
        // Decoded as 'res' decodes its outcomes (an exception is an encoded error until then);
        // only when owed: an outcome read before is not revived a second time.
        if (it !== undefined)
          settle(it, m.r[1], ArrayBuffer.isView(m.r[2]) ? m.r[2] : decode(m.r[2]));
        if (replay.i >= replay.again.length) this.#endReplay(w);
        return;
      }
      default:
        m satisfies never;
    }
  }

  // ── unreadable messages (protocol.ts) ─────────────────────────────────────────────────────

  /**
   * A message from `w` could not be read here: which one cannot be told (it is gone). Asks the
   * runner where it stands; the outcomes it carried are failed as their batches end (#onMessage)
   * or, if it carried an end, at the answer (#onSynced).
   */
  #onUnreadable(w: PoolWorker, error: unknown): void {
    if (w.exited || w.forced) return;
    w.unreadable ??= error;
    const replay = w.replay;
    if (replay !== null) {
      // An outcome sent again alone: this one is the call at fault.
      const at = replay.again[replay.i++] as number;
      if (sameBatch(w, replay.batches, at)) {
        if (w.interrupted.size > 0) this.#endInterrupted(w, [at]);
        const it = owedAt(w, Math.floor(at / BATCH_CAP), at % BATCH_CAP);
        if (it !== undefined) this.#failUnreadable(w, it, error);
      }
      if (replay.i >= replay.again.length) this.#endReplay(w);
      return;
    }
    this.#postSync(w, [...w.slots]);
  }

  #postSync(w: PoolWorker, batches: (Item[] | null)[]): void {
    w.ch.post({ t: 'sync' });
    w.syncs.push({ n: w.posted, batches });
  }

  #onSynced(w: PoolWorker, first: number, live: number[], again: number[]): void {
    const sync = w.syncs.shift();
    if (sync === undefined) return;
    if (!w.ready && first === FIRST_INIT_ERROR) {
      this.#break(
        'A thread initializer failed, the pool is not usable anymore',
        new RuntimeError(
          `The initializer of ${w.name} failed, and its error could not be read here (${describeError(w.unreadable)}): raise an error that carries flatter data`,
          'ERR_WEFT_UNREADABLE_MESSAGE',
          { cause: w.unreadable },
        ),
      );
      return;
    }
    if (!w.ready && first === FIRST_READY) w.ready = true;
    w.replay = { again, i: 0, live, batches: sync.batches };
    if (again.length === 0) this.#endReplay(w);
  }

  /** Every kept outcome has come again (or failed): what is still owed is lost for good. */
  #endReplay(w: PoolWorker): void {
    const replay = w.replay;
    if (replay === null) return;
    w.replay = null;
    // A batch sent before the 'sync' that the runner no longer held had ended; if it is still
    // here, its end was in a message that could not be read.
    for (let s = 0; s < SLOTS; s++) {
      const batch = replay.batches[s];
      if (batch === null || batch === undefined || w.slots[s] !== batch) continue;
      if (replay.live.includes(s)) continue;
      this.#failOwed(w, s);
      w.slots[s] = null;
    }
    this.#dispatch();
  }

  #owes(w: PoolWorker, slot: number): boolean {
    const n = w.slots[slot]?.length ?? 0;
    for (let k = 0; k < n; k++) if (owedAt(w, slot, k) !== undefined) return true;
    return false;
  }

  /** Fails the calls `w` still owes in `slot`: their outcomes could not be read here. */
  #failOwed(w: PoolWorker, slot: number): void {
    const n = w.slots[slot]?.length ?? 0;
    for (let k = 0; k < n; k++) {
      const it = owedAt(w, slot, k);
      if (it !== undefined) this.#failUnreadable(w, it, w.unreadable);
    }
  }

  #failUnreadable(w: PoolWorker, it: Item, error: unknown): void {
    it.w = null;
    it._complete(
      false,
      new RuntimeError(
        `${this.#describeTask(it)}: its outcome (result or exception) could not be read back from ${w.name} (${describeError(error)}). A value nested too deeply for the receiving thread's stack (thousands of levels) cannot cross threads: return a flatter one`,
        'ERR_WEFT_UNREADABLE_MESSAGE',
        { cause: error },
      ),
    );
  }

  /** The runner of `w` could not read the `n`-th message posted to it. */
  #onLost(w: PoolWorker, n: number, error: unknown): void {
    if (w.exited || w.forced) return;
    const slot = w.batchN.findIndex((b, s) => b === n && w.slots[s] !== null);
    if (slot >= 0) {
      const batch = w.slots[slot] as Item[];
      const mine: Item[] = [];
      for (let k = 0; k < batch.length; k++) {
        const it = owedAt(w, slot, k);
        if (it !== undefined) mine.push(it);
      }
      w.slots[slot] = null;
      w.assigned -= batch.length;
      // The runner never saw the batch: the functions it defined are not known there.
      for (const id of w.batchDefs[slot] ?? []) w.known.delete(id);
      // The message carried every call the batch was sent with: only a batch of one call tells
      // which was at fault (its fellows may have been cancelled or stolen since).
      if (mine.length === 1 && batch.length === 1) {
        const it = mine[0] as Item;
        it.w = null;
        it._complete(
          false,
          new RuntimeError(
            `${this.#describeTask(it)}: its arguments could not be read by ${w.name} (${describeError(error)}). Arguments nested too deeply for the worker's stack (thousands of levels, fewer with a small resourceLimits.stackSizeMb) cannot cross threads: pass flatter data, or raise stackSizeMb`,
            'ERR_WEFT_UNREADABLE_MESSAGE',
            { cause: error },
          ),
        );
      } else {
        // Which call's arguments were at fault cannot be told: each goes again in a batch of
        // its own, where only that one fails (its state words stay PENDING: nothing claimed them).
        this.#solo ??= new WeakSet();
        for (let j = mine.length - 1; j >= 0; j--) {
          const it = mine[j] as Item;
          it.w = null;
          this.#solo.add(it);
          this.#queue.unshift(it);
        }
      }
      this.#dispatch();
      return;
    }
    if (n === w.stopN && w.stopSent) {
      // Sent again by the next dispatch.
      w.stopSent = false;
      this.#dispatch();
      return;
    }
    const sync = w.syncs.find((x) => x.n === n);
    if (sync !== undefined) {
      w.syncs.splice(w.syncs.indexOf(sync), 1);
      this.#postSync(w, sync.batches);
      return;
    }
    // A 'cancel': its call is cancelled already (the future detached from the worker); only
    // the call's taskSignal() misses the abort, and a force cancel still ends the worker.
  }

  /** `ThreadPoolExecutor-0: task #3 (fn)`, for errors about one call. */
  #describeTask(it: Item): string {
    const name = this.#refs[it.fnId - 1]?.name;
    return `${this.o.namePrefix}: task #${it.id}${name ? ` (${name})` : ''}`;
  }

  #onExit(w: PoolWorker, why: string | null): void {
    if (w.exited) return;
    w.exited = true;
    for (const handle of w.interrupted.values()) handle.force = null;
    w.interrupted.clear();
    handleClosed(this.o.kind === 'thread' ? 'pool-thread' : 'pool-process');
    this.#workers = this.#workers.filter((x) => x !== w);
    const mine = this.#sentTo(w);
    if (w.forced || (w.stopSent && mine.length === 0)) {
      // A forced cancellation: the worker's other tasks run elsewhere.
      for (let j = mine.length - 1; j >= 0; j--) {
        const it = mine[j] as Item;
        it.w = null;
        this.#queue.unshift(it);
      }
      w.resolveExit();
      this.#dispatch();
      return;
    }
    w.resolveExit();
    if (this.#broken === null && (why !== null || mine.length > 0 || !w.stopSent)) {
      const cause =
        w.lastError ?? new Error(`${w.name} ended unexpectedly (${why ?? 'exit code 0'})`);
      this.#break(
        `A ${this.o.kind === 'thread' ? 'worker thread' : 'child process'} of the pool (${w.name}) terminated abruptly while the future was running or pending`,
        cause,
        mine,
      );
    }
    this.#checkIdle();
  }

  /** `dead`: the calls of a worker that has just left #workers. */
  #break(message: string, cause: unknown, dead: Item[] = []): void {
    if (this.#broken !== null) return;
    const err = this.o.broken(message, cause);
    this.#broken = err;
    const items = [...dead, ...this.#allSent()];
    while (this.#queue.length > 0) items.push(this.#queue.shift() as Item);
    for (const it of items) {
      it.w = null;
      if (!it.withdrawn) it._complete(false, this.o.broken(message, cause));
    }
    for (const w of this.#workers) {
      w.stopping = true;
      this.#holdLoop(w);
      w.ch.terminate();
    }
    this.#checkIdle();
  }

  /** Marks the engine shut down; cancels queued (unclaimed) work with `cancelFutures`. */
  shutdown(cancelFutures: boolean): void {
    this.#shutdown = true;
    if (cancelFutures) {
      while (this.#queue.length > 0) {
        const it = this.#queue.shift() as Item;
        if (!it.withdrawn) it._cancel('The executor was shut down');
      }
      for (const it of this.#allSent()) {
        if (it.w?.states && this.withdraw(it)) it._cancel('The executor was shut down');
      }
    }
    this.#dispatch();
  }

  /**
   * Resolves once every worker has exited and nothing holds them (after shutdown, or after the
   * engine broke).
   */
  whenIdle(): Promise<void> {
    const held = this.#holds > 0 && this.#broken === null;
    if (!held && !this.#workers.some((w) => !w.exited)) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Keeps a shut-down engine's workers, and whenIdle() waiting, until the returned function is
   * called (once is enough; later calls do nothing): a map started before shutdown goes on
   * submitting its iterable as its calls finish, and without this each lull would end the
   * workers and the next call start new ones.
   */
  hold(): () => void {
    this.#holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holds--;
      if (this.#holds === 0) this.#dispatch();
    };
  }

  /**
   * Ends every worker now (Pool.terminate: SIGTERM to a child process, as Python's, so its
   * `exitcode` is −15); unfinished futures fail with `error`.
   */
  terminate(error: Error): void {
    this.#shutdown = true;
    const items = this.#allSent();
    while (this.#queue.length > 0) items.push(this.#queue.shift() as Item);
    for (const it of items) {
      // Detached, so that the workers' exits below do not queue them again.
      it.w = null;
      if (!it.withdrawn) it._complete(false, error);
    }
    for (const w of this.#workers) {
      w.stopping = true;
      w.forced = true;
      this.#holdLoop(w);
      w.ch.terminate(true);
    }
    this.#checkIdle();
  }
}

/** Settles `it` with an outcome as the runner posted it (`ok`: RES_OK, RES_ERROR or RES_PACKED). */
function settle(it: Item, ok: unknown, v: unknown): void {
  it.w = null;
  it._complete(
    ok !== RES_ERROR,
    ok === RES_PACKED && !it.packedOk ? unpack(v as Int32Array | Float64Array) : v,
  );
}

/** Fails the calls `#sendBatch` could not send, each with its error (done-callbacks run here). */
function failAll(refused: Array<[Item, Error]>): void {
  for (const [it, e] of refused) it._complete(false, e);
}

/**
 * The call task k of `w`'s batch in `slot` is, if `w` still owes its outcome there: not withdrawn,
 * interrupted or failed by a broken executor (`it.w` is then another worker or null), and not
 * moved (a call stolen from a batch may be sent to the same worker again, and sit in both of its
 * batches: only its current place counts).
 */
function owedAt(w: PoolWorker, slot: number, k: number): Item | undefined {
  const it = w.slots[slot]?.[k];
  return it !== undefined && it.w === w && it.slot === slot && it.k === k ? it : undefined;
}

/**
 * Whether an outcome sent again after a 'sync' (`at`, outcomeAt) is of the batch its slot holds:
 * of the one it held when the 'sync' was posted (`batches`), and still does. The runner keeps a
 * slot's outcomes until it reads that slot's next batch, and a batch the engine posted after the
 * 'sync' (the slot freed meanwhile) reaches it after the 'sync': what it sends again for that
 * slot is then the last batch's, whose places the new batch reuses.
 */
function sameBatch(w: PoolWorker, batches: (Item[] | null)[], at: number): boolean {
  const slot = Math.floor(at / BATCH_CAP);
  const batch = batches[slot];
  return batch !== null && batch !== undefined && w.slots[slot] === batch;
}

/**
 * Throws a TypeError naming `what` when `initargs` cannot reach a worker of `kind`: at the
 * executor's construction, as Python fails at pickling them, rather than at the first worker's
 * start (a child's boot message is sent from an event handler, where it would crash this
 * process).
 */
export function checkInitargs(
  what: string,
  kind: 'thread' | 'process',
  initargs: readonly unknown[],
): void {
  const tokens: string[] = [];
  try {
    const v = collectTransfers(tokens, () =>
      encode(initargs, kind === 'process' ? 'process' : 'message'),
    );
    if (kind === 'process') serialize(v);
    else structuredClone(v);
  } catch (e) {
    if (e instanceof WeftError) throw e;
    throw new TypeError(
      `${what}: initargs cannot be sent to a worker (${(e as Error)?.message}); send plain data, typed arrays, Maps/Sets or Errors${kind === 'process' && /SharedArrayBuffer/.test(String((e as Error)?.message)) ? THREADING_TO_PROCESS : ''}`,
      { cause: e },
    );
  } finally {
    // A probe: the pipe handles it serialised will not be revived from it.
    dropTransfers(tokens);
  }
}

const THREADING_TO_PROCESS =
  " — a SharedArrayBuffer, and so weft/threading's objects, live in this process's memory: give a process pool weft/multiprocessing's Lock, Event, Value, Array, … instead";

/**
 * The batch's flat arguments, encoded call by call: a Pipe end given to two calls is two handles
 * (two tokens), as each call revives its own — one encode for the batch would make it one.
 */
function encodeEach(items: Item[], argv: unknown[], carrier: Carrier): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  for (const it of items) {
    const n = it.stride > 0 ? 2 : it.args.length;
    const part = encode(argv.slice(at, at + n), carrier) as unknown[];
    for (let j = 0; j < n; j++) out.push(part[j]);
    at += n;
  }
  return out;
}
