/**
 * The messages between an executor's engine (engine.ts, parent side) and its workers
 * (runner.ts, worker side: a worker thread or a child process). Neither side imports the other.
 * A thread's runner speaks on weft's port, never on parentPort (worker/protocol.ts); a child's
 * on its IPC channel, which its tasks share, each message marked (ProcessKey, below).
 *
 *   engine                                            runner (one per worker)
 *   ──────                                            ──────
 *   spawn(payload: RunnerBoot) ───────────────────▶  resolve initializer, run it
 *          ◀────────── { t: 'ready' } | { t: 'initError', error }
 *   { t: 'batch', slot, defs, tasks } ────────────▶  for each task: claim it (states word,
 *                                                    threads only), run it, buffer the outcome
 *          ◀────────── { t: 'res', r: [at, ok, value, …], end: slot | -1 }   (batched)
 *   { t: 'cancel', id } ──────────────────────────▶  abort that task's taskSignal()
 *   { t: 'stop' } ────────────────────────────────▶  finish outstanding batches, exit
 *
 * A message the other side cannot deserialize ('messageerror': nested deeper than the receiving
 * thread's stack can read, an allocation that fails) never arrives, and what waits for it would
 * wait for ever. Both sides count on the order of a port (each message, read or not, is
 * delivered in the order posted):
 *          ◀────────── { t: 'lost', n, error }     the runner's n-th message from the engine
 *                                                    could not be read (the engine knows what
 *                                                    its n-th message was: a batch fails or is
 *                                                    sent again task by task)
 *   { t: 'sync' } ────────────────────────────────▶  after a runner's message could not be read:
 *          ◀────────── { t: 'synced', first, live, again }   everything finished is flushed first;
 *          ◀────────── { t: 'again', r } × again.length      then each outcome the runner keeps
 *                                                    (those of the last batch of each slot) once
 *                                                    more, one a message: the one that cannot be
 *                                                    read fails alone. A batch not live any more
 *                                                    whose end has not come lost its end.
 * The runner keeps a slot's outcome messages that hold an outcome nested deep enough to be
 * unreadable (runner.ts, KEEP_DEPTH) until it reads that slot's next batch; the engine takes what
 * comes again only for the batch each slot held when it posted the 'sync' (engine.ts, sameBatch).
 *
 * Batching is the point: one message carries up to BATCH_CAP tasks one way and every outcome
 * the worker has buffered the other way, so 100,000 trivial tasks cost a few hundred messages,
 * not 200,000 (per-task postMessage is what caps piscina and tinypool near 25k tasks/s).
 *
 * Task states (threads only: a SharedArrayBuffer per worker, STATES_WORDS words)
 * | idx                     | name    | writer          | readers | meaning                            |
 * |  0                      | CANCEL  | engine          | runner  | id of the task to interrupt, 0 none |
 * |  HEADER + s×CAP + k     | STATE   | engine, runner  | both    | task k of batch slot s: PENDING,   |
 * |                         |         |  (cas)          |         |  RUNNING (claimed), TAKEN (withdrawn)|
 *
 * Invariants: the engine resets a slot's words to PENDING only while that slot has no batch in
 * flight (after the runner's `end` for it); from then on each word changes at most once, by a
 * compare-and-swap from PENDING, so "claimed by the runner" and "withdrawn by the engine"
 * (cancelled, or stolen for an idle worker) exclude each other without a lock.
 */
import type { EncodedError } from '../serialize.js';
import type { TaskRef } from '../task-ref.js';

/** Trade-off: tasks per batch message. Larger amortises messages further; smaller lets an
 * idle worker find work sooner (stealing reclaims the unclaimed tail anyway, threads only). */
export const BATCH_CAP = 1024;
/** Batches in flight per worker: two, so a worker never idles waiting for the next one. */
export const SLOTS = 2;
export const HEADER = 8;
export const W_CANCEL = 0;
export const STATES_WORDS = HEADER + SLOTS * BATCH_CAP;
export const PENDING = 0;
export const RUNNING = 1;
export const TAKEN = 2;

export const stateIndex = (slot: number, k: number): number => HEADER + slot * BATCH_CAP + k;
/** Where an outcome belongs: task k of the batch in `slot` (the engine indexes its batch with
 * it — an array read where a map of 100,000 ids cost a third of the engine's time in profiles). */
export const outcomeAt = (slot: number, k: number): number => slot * BATCH_CAP + k;

export interface RunnerBoot {
  kind: 'thread' | 'process';
  name: string;
  /**
   * The process worker's daemon flag as Python has it (EngineOptions.workerDaemon), set in its
   * identity: currentProcess().daemon in every thread of it, and the default `daemon` of a
   * Process started there. Every process worker is booted a daemon all the same: it ends when
   * its parent ends.
   */
  daemon: boolean;
  initializer: TaskRef | null;
  initargs: readonly unknown[];
  states: SharedArrayBuffer | null;
  /**
   * A process worker's mark (ProcessKey), null for a thread's: it goes on each of the runner's
   * messages, and the engine takes no other.
   */
  key: number | null;
}

/**
 * A batch of n tasks, flat (typed arrays clone as one copy; nested arrays cost a clone each):
 * task k is `ids[k]`, function `fns[k]`, and its `argc[k]` arguments are the next ones of
 * `argv` — or, when `argc[k]` is CHUNK, the next two entries of `argv` are `stride` and the
 * chunk's values: its argument lists, `stride` values each, back to back, in one array (or, all
 * numbers, one typed array: pack.ts).
 */
export interface WireBatch {
  ids: Int32Array;
  fns: Int32Array;
  argc: Int32Array;
  /** An array, or a typed array when every value is a number (pack.ts). */
  argv: unknown[] | Int32Array | Float64Array;
}
export const CHUNK = -1;

export type ToRunner =
  | { t: 'batch'; slot: number; defs: Array<[number, TaskRef]> | null; tasks: WireBatch }
  | { t: 'cancel'; id: number }
  | { t: 'stop' }
  | { t: 'sync' };

export const RES_ERROR = 0;
export const RES_OK = 1;
export const RES_PACKED = 2;

export type FromRunner =
  | { t: 'ready' }
  | { t: 'initError'; error: EncodedError }
  /**
   * Flat triples [at, ok, value or encoded error]: `at` is outcomeAt(slot, k) of the task, ok
   * is RES_OK, RES_ERROR or RES_PACKED (a chunk's results, all numbers, as one typed array:
   * pack.ts); `end` is a finished slot or -1, sent after every outcome of that slot's batch.
   * When every outcome is a number the triples travel as one typed array (pack.ts).
   */
  | { t: 'res'; r: unknown[] | Int32Array | Float64Array; end: number }
  /** The runner's `n`-th message from the engine (1-based, counting every one) was unreadable. */
  | { t: 'lost'; n: number; error: EncodedError }
  /**
   * The answer to 'sync', after every outcome finished so far: `first` is what the runner had
   * posted first (FIRST_NONE, FIRST_READY, FIRST_INIT_ERROR), `live` the slots of the batches it
   * still holds (running or queued).
   */
  | { t: 'synced'; first: number; live: number[]; again: number[] }
  /** One kept outcome sent again after 'synced' (a triple as in 'res'; `again` lists their `at`). */
  | { t: 'again'; r: unknown[] };

/**
 * A child's channel to its parent is the task's too (`process.send`), and a task may send
 * anything there: null, a string, a value shaped like one of these messages. A thread's runner
 * has a port of weft's own (worker/protocol.ts); a child's marks each message with a number the
 * engine drew at random for that worker and sent in its boot, and the engine takes only a
 * message with its worker's mark: one property on messages that carry outcomes in batches, where
 * a channel of weft's own would be a second pipe per child. (A task that reads the mark off
 * the runner's messages on purpose can still forge one; none does by accident.) What else comes
 * on the channel is dropped.
 */
export interface ProcessKey {
  key: number;
}

/** Whether `m`, as it came from a child's channel, is its runner's (the worker's mark). */
export function fromRunner(m: unknown, key: number): m is FromRunner {
  return typeof m === 'object' && m !== null && (m as Partial<ProcessKey>).key === key;
}

export const FIRST_NONE = 0;
export const FIRST_READY = 1;
export const FIRST_INIT_ERROR = 2;
