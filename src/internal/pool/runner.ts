/**
 * The worker side of an executor (protocol.ts): runs batches of tasks one at a time, in order,
 * and sends their outcomes back in batches. Transport-agnostic: thread-role.ts (a worker
 * thread) and process-role.ts (a child process) give it a port.
 *
 * Implementation notes
 * - One task at a time, as a Python worker thread: an async task is awaited before the next
 *   starts, so `maxWorkers` bounds concurrency whatever the tasks are.
 * - Threads claim each task with a compare-and-swap on its state word before running it; a
 *   task the engine withdrew (cancelled, or stolen for an idle worker) is skipped silently.
 * - Outcomes are buffered and flushed at the end of a batch, before awaiting an async task, and
 *   before starting a task once FLUSH_MS have passed since the last flush — so a long task is
 *   never started with finished outcomes held back for long (if the worker is then ended by a
 *   forced cancellation, only outcomes of the last FLUSH_MS can be lost; the engine re-runs
 *   those tasks elsewhere). A worker that exits by itself (`process.exit()` in a task) flushes
 *   them from its 'exit' event, so only the calls it had not finished break.
 * - A child skips a call interrupted before it started (threads: the engine withdraws it), but
 *   reports it, before it starts another call (`lastFlush` set far back, so the check before the
 *   next call flushes it): the engine counts an interrupted call as running until its outcome
 *   comes, and a force cancel of it meanwhile ends the worker — with the next call in it, which
 *   would then run twice. Calls no one interrupts pay nothing for it.
 * - `taskSignal()` is created lazily (most tasks never ask) and aborted by the engine's
 *   `cancel` message, or — for a synchronous task that cannot see messages — by the CANCEL word
 *   it reads each time it is asked.
 */
import { cas, load } from '../atomics.js';
import { CancelledError } from '../errors.js';
import {
  type Carrier,
  decode,
  decodeOrDiscard,
  discard,
  encode,
  encodeError,
} from '../serialize.js';
import { resolveTaskRef, type TaskRef, untouchedThread, userCodeStarts } from '../task-ref.js';
import { packNumbers, ResultSink } from './pack.js';
import {
  CHUNK,
  FIRST_INIT_ERROR,
  FIRST_NONE,
  FIRST_READY,
  type FromRunner,
  outcomeAt,
  PENDING,
  RES_ERROR,
  RES_OK,
  RES_PACKED,
  RUNNING,
  type RunnerBoot,
  SLOTS,
  stateIndex,
  type ToRunner,
  W_CANCEL,
  type WireBatch,
} from './protocol.js';
import { setCurrentTaskContext } from './task-context.js';

/** Trade-off: how long finished outcomes may wait in the worker for company before being sent. */
const FLUSH_MS = 1;

/**
 * Outcomes nested deeper than this are kept, with the others of their message, for a 'sync'
 * (protocol.ts): far below what any thread's stack cannot read (about 1,200 levels at 512 KiB).
 * A message with none is not kept: if it is lost all the same (a failed allocation), the calls
 * it carried fail, as the engine's safety net has it, rather than hang.
 */
const KEEP_DEPTH = 64;

export interface RunnerPort {
  /** How outcomes are encoded for this transport (`process`: a child's channel, see Carrier). */
  carrier: Carrier;
  post(m: FromRunner): void;
  onMessage(fn: (m: ToRunner) => void): void;
  /**
   * Calls `fn` for each message from the engine that could not be read ('messageerror'), in its
   * place among the others (a transport that cannot lose one need not give it).
   */
  onUnreadable?(fn: (error: unknown) => void): void;
  /** Ends the worker (after the last post has been handed to the transport). */
  exit(): void;
}

interface Batch {
  slot: number;
  defs: Array<[number, TaskRef]> | null;
  tasks: WireBatch;
}

export async function runRunner(boot: RunnerBoot, port: RunnerPort): Promise<void> {
  untouchedThread();
  const states = boot.states ? new Int32Array(boot.states) : null;
  const fns = new Map<number, Function | { error: unknown }>();
  const batches: Batch[] = [];
  const interrupted = new Set<number>();
  let out: unknown[] = [];
  let lastFlush = performance.now();
  let pumping = false;
  let stopping = false;
  let current = 0;
  let controller: AbortController | null = null;
  /** Messages from the engine so far, read or not (the engine numbers what it posts alike). */
  let received = 0;
  /** The slot of the batch being run, -1 none. */
  let running = -1;
  /** What the runner posted first (protocol.ts, 'synced'). */
  let first = FIRST_NONE;
  /**
   * The outcome arrays posted for the last batch of each slot that hold an outcome nested deeper
   * than KEEP_DEPTH (`keep`), until the engine sends that slot another (protocol.ts, 'again').
   * References only: the values were cloned when posted; the cost is that they stay alive in the
   * worker until the slot's next batch.
   */
  const kept: unknown[][][] = Array.from({ length: SLOTS }, () => []);

  const signal = (): AbortSignal => {
    controller ??= new AbortController();
    if (!controller.signal.aborted && current !== 0) {
      if (interrupted.has(current) || (states !== null && load(states, W_CANCEL) === current)) {
        controller.abort(new CancelledError('The task was cancelled'));
      }
    }
    return controller.signal;
  };
  setCurrentTaskContext({ signal });

  const flush = (end: number): void => {
    if (out.length === 0 && end < 0) return;
    const r = out;
    out = [];
    lastFlush = performance.now();
    try {
      // Every outcome a number (the triples are then all numbers): one typed array (pack.ts).
      const packed = packNumbers(r);
      port.post({ t: 'res', r: packed ?? r, end });
      // All numbers cannot be unreadable: nothing to keep.
      if (packed === null) keep(end, r);
    } catch (err) {
      // One outcome that cannot be cloned must not take the others down with it.
      const safe: unknown[] = [];
      for (let k = 0; k < r.length; k += 3) {
        try {
          structuredClone(r[k + 2]);
          safe.push(r[k], r[k + 1], r[k + 2]);
        } catch (e) {
          safe.push(
            r[k],
            RES_ERROR,
            encodeError(
              new TypeError(
                `The task's result cannot be sent back from the worker: ${(e as Error).message}`,
                {
                  cause: err,
                },
              ),
            ),
          );
        }
      }
      port.post({ t: 'res', r: safe, end });
      keep(end, safe);
    }
  };
  const keep = (end: number, r: unknown[]): void => {
    // Only where a message can be lost (a thread's port; a child's channel never says so), and
    // only a message that can be (one outcome nested deeply): kept, every outcome of every batch
    // would stay alive until the slot's next batch — a map's batch of big results, at once.
    if (port.onUnreadable === undefined) return;
    const slot = end >= 0 ? end : running;
    if (slot < 0 || r.length === 0) return;
    for (let j = 2; j < r.length; j += 3) {
      if (nestedDeeperThan(r[j], KEEP_DEPTH)) {
        kept[slot]?.push(r);
        return;
      }
    }
  };

  // A task that ends its worker (`process.exit()` in a thread or a child) would take the
  // buffered outcomes of the calls that finished before it along: they are sent as the worker
  // exits, so those calls keep their results and only the unfinished ones break, as in CPython
  // (its workers send each result as it is made). The message goes out before the exit is seen
  // by the parent (a thread's port and a child's channel keep that order).
  process.on('exit', () => {
    try {
      flush(-1);
    } catch {
      // The channel is already closed: nothing can reach the parent any more.
    }
  });

  const record = (at: number, ok: boolean, v: unknown): void => {
    if (ok) {
      try {
        out.push(at, RES_OK, encode(v, port.carrier));
      } catch (e) {
        out.push(at, RES_ERROR, encodeError(e));
      }
    } else out.push(at, RES_ERROR, encodeError(v));
  };

  const define = async (defs: Array<[number, TaskRef]>): Promise<void> => {
    for (const [id, ref] of defs) {
      try {
        fns.set(id, await resolveTaskRef(ref, true));
      } catch (error) {
        fns.set(id, { error });
      }
    }
  };

  const runBatch = async (b: Batch): Promise<void> => {
    if (b.defs) await define(b.defs);
    // After the first batch's modules are imported (batches run one after another).
    userCodeStarts();
    const { ids, fns: fnOf, argc, argv } = b.tasks;
    // Arguments are revived task by task, when the task runs (a typed array needs nothing): a
    // task withdrawn or stolen after the batch came must not leave revived objects behind here —
    // a Pipe end revived in this thread would count as open until the worker ends.
    const plain = !ArrayBuffer.isView(argv);
    const giveUp = (first: number, end: number): void => {
      if (plain) discard(argv.slice(first, end));
    };
    let at = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number;
      const fnId = fnOf[k] as number;
      const n = argc[k] as number;
      const chunk = n === CHUNK;
      const first = at;
      at += chunk ? 2 : n;
      if (states !== null) {
        // Claim: the engine may have withdrawn the task (cancel, steal) a moment ago.
        if (cas(states, stateIndex(b.slot, k), PENDING, RUNNING) !== PENDING) {
          giveUp(first, at);
          continue;
        }
      } else if (interrupted.delete(id)) {
        // Interrupted before it started: skipped, but reported (the engine ignores the outcome of
        // an interrupted call; see the notes above).
        giveUp(first, at);
        record(outcomeAt(b.slot, k), false, new CancelledError('The task was cancelled'));
        lastFlush = Number.NEGATIVE_INFINITY;
        continue;
      }
      if (out.length > 0 && performance.now() - lastFlush >= FLUSH_MS) flush(-1);
      const pos = outcomeAt(b.slot, k);
      const fn = fns.get(fnId);
      if (fn === undefined || typeof fn !== 'function') {
        giveUp(first, at);
        record(pos, false, fn?.error ?? new Error(`weft pool: unknown function #${fnId}`));
        continue;
      }
      current = id;
      controller = null;
      try {
        if (chunk) {
          // Consecutive argument lists of `stride` values, in an array or a typed array.
          const stride = argv[first] as number;
          let list = argv[first + 1] as ArrayLike<unknown>;
          if (!ArrayBuffer.isView(list)) list = decodeOrDiscard(list) as unknown[];
          // Numbers go straight into a typed array (pack.ts); others into a dense array (a
          // holey one is serialized element by element with its index).
          const results = new ResultSink(Math.ceil(list.length / stride));
          for (let at = 0; at < list.length; at += stride) {
            let v = stride === 1 ? fn(list[at]) : fn(...argsAt(list, at, stride));
            if (typeof v !== 'number' && isThenable(v)) {
              flush(-1);
              v = await v;
            }
            results.put(v);
          }
          const r = results.take();
          if (ArrayBuffer.isView(r)) out.push(pos, RES_PACKED, r);
          else record(pos, true, r);
        } else {
          let r: unknown;
          if (at - first === 1) {
            const x = argv[first];
            r = fn(plain && typeof x === 'object' && x !== null ? decodeOrDiscard(x) : x);
          } else {
            const args = argv.slice(first, at);
            r = fn(...(plain ? (decodeOrDiscard(args) as unknown[]) : args));
          }
          if (isThenable(r)) {
            flush(-1);
            r = await r;
          }
          record(pos, true, r);
        }
      } catch (e) {
        record(pos, false, e);
      } finally {
        interrupted.delete(id);
        current = 0;
        controller = null;
      }
    }
    flush(b.slot);
  };

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    while (batches.length > 0) {
      const b = batches.shift() as Batch;
      running = b.slot;
      await runBatch(b);
      running = -1;
    }
    pumping = false;
    if (stopping) port.exit();
  };

  port.onMessage((m) => {
    received++;
    switch (m.t) {
      case 'batch':
        kept[m.slot] = [];
        batches.push({ slot: m.slot, defs: m.defs, tasks: m.tasks });
        void pump();
        return;
      case 'cancel':
        interrupted.add(m.id);
        if (m.id === current) signal();
        return;
      case 'stop':
        stopping = true;
        if (!pumping) port.exit();
        return;
      case 'sync': {
        // A message of ours was unreadable: what has finished goes first, then which batches
        // are still here, so that the engine can tell an end that never came from one to come.
        flush(-1);
        const live = batches.map((b) => b.slot);
        if (running >= 0) live.push(running);
        const again: number[] = [];
        for (const posts of kept)
          for (const r of posts) for (let j = 0; j < r.length; j += 3) again.push(r[j] as number);
        port.post({ t: 'synced', first, live, again });
        for (const posts of kept)
          for (const r of posts)
            for (let j = 0; j < r.length; j += 3) port.post({ t: 'again', r: r.slice(j, j + 3) });
        return;
      }
      default:
        m satisfies never;
    }
  });
  port.onUnreadable?.((error) => {
    received++;
    port.post({ t: 'lost', n: received, error: encodeError(error) });
  });

  if (boot.initializer) {
    try {
      const init = await resolveTaskRef(boot.initializer, true);
      userCodeStarts();
      const r = init(...((decode(boot.initargs) as unknown[]) ?? []));
      if (isThenable(r)) await r;
    } catch (error) {
      first = FIRST_INIT_ERROR;
      port.post({ t: 'initError', error: encodeError(error) });
      return;
    }
  }
  first = FIRST_READY;
  port.post({ t: 'ready' });
}

/**
 * Whether `v` nests containers deeper than `limit`, as the serializer walks it (depth first, a
 * container met again is a reference, not walked again). Iterative: `v` may be deeper than a
 * recursion could go.
 */
function nestedDeeperThan(v: unknown, limit: number): boolean {
  if (!isContainer(v)) return false;
  // Most outcomes are small: walked first without remembering what was met (a cycle then reads
  // as deep: kept, which costs nothing but memory), within a budget of containers.
  return walkDepth(v, limit, null, 256) ?? (walkDepth(v, limit, new Set(), Infinity) as boolean);
}

function isContainer(x: unknown): x is object {
  return x !== null && typeof x === 'object' && !ArrayBuffer.isView(x);
}

/**
 * `nestedDeeperThan`'s walk, remembering what it met in `seen`, or with `seen` null not, and
 * then giving up (null) after `budget` containers or at a Map, Set or ArrayBuffer.
 */
function walkDepth(
  v: object,
  limit: number,
  seen: Set<object> | null,
  budget: number,
): boolean | null {
  const stack: Array<[object, number]> = [[v, 1]];
  while (stack.length > 0) {
    const [o, d] = stack.pop() as [object, number];
    if (seen !== null) {
      if (seen.has(o)) continue;
      seen.add(o);
    }
    if (d > limit) return true;
    if (--budget < 0) return null;
    if (o instanceof Map) {
      if (seen === null) return null;
      for (const [k, x] of o) {
        push(stack, seen, k, d + 1);
        push(stack, seen, x, d + 1);
      }
    } else if (o instanceof Set) {
      if (seen === null) return null;
      for (const x of o) push(stack, seen, x, d + 1);
    } else if (o instanceof ArrayBuffer || o instanceof SharedArrayBuffer) {
      if (seen === null) return null;
    } else {
      for (const x of Object.values(o)) push(stack, seen, x, d + 1);
    }
  }
  return false;
}

function push(
  stack: Array<[object, number]>,
  seen: Set<object> | null,
  x: unknown,
  d: number,
): void {
  if (isContainer(x) && (seen === null || !seen.has(x))) stack.push([x, d]);
}

function argsAt(list: ArrayLike<unknown>, at: number, stride: number): unknown[] {
  const a = new Array<unknown>(stride);
  for (let j = 0; j < stride; j++) a[j] = list[at + j];
  return a;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as PromiseLike<unknown>).then === 'function'
  );
}
