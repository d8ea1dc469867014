/**
 * Threads started once for a test file and sent one piece of work after another: a marked task
 * function and its arguments, run in the thread as its target would be. A worker thread costs
 * some 0.3 s of CPU to start (a module loader of its own, weft, the task module), and most tests
 * that need another thread need one only for a while: a test whose thread must start, end or
 * die in it (owner death, the excepthook, a thread's end releasing nothing) starts its own.
 *
 * This module is also the threads' target module: no top-level effects beyond `task`.
 */
import { resolveTaskRef, type TaskRef, toTaskRef } from '../../src/internal/task-ref.js';
import { Queue } from '../../src/queue/index.js';
import { Thread, task } from '../../src/threading/index.js';

interface Piece {
  ref: TaskRef;
  args: unknown[];
  /** 'ok', or the stack of what the piece threw. */
  done: Queue<string>;
}

/** The target: runs the pieces `pieces` brings, one after another, until it brings null. */
export const runPieces = task(import.meta, async (pieces: Queue<Piece | null>) => {
  for (;;) {
    const piece = await pieces.get();
    if (piece === null) return;
    let outcome = 'ok';
    try {
      const fn = await resolveTaskRef(piece.ref);
      await fn(...piece.args);
    } catch (err) {
      outcome = String((err as Error)?.stack ?? err);
    }
    piece.done.putSync(outcome);
  }
});

/** A thread that runs the pieces of work it is sent, in the order sent. */
export class PieceThread {
  readonly thread: Thread;
  readonly #pieces = new Queue<Piece | null>();

  constructor(name: string) {
    this.thread = new Thread({ target: runPieces, args: [this.#pieces], name });
  }

  start(): void {
    this.thread.start();
  }

  /**
   * Sends `fn(...args)` (`fn` marked with `task`) to the thread; `ended()` resolves once it has
   * returned (or its promise settled), and rejects with what it threw.
   */
  run<A extends unknown[]>(
    fn: (...args: A) => unknown,
    args: A,
  ): { ended(timeoutMs?: number): Promise<void> } {
    const done = new Queue<string>();
    this.#pieces.putSync({ ref: toTaskRef(fn, 'PieceThread.run'), args, done });
    const name = this.thread.name;
    return {
      async ended(timeoutMs = 60_000) {
        const outcome = await done.get({ timeout: timeoutMs });
        if (outcome !== 'ok')
          throw new Error(`the piece run by thread '${name}' threw: ${outcome}`);
      },
    };
  }

  /** Ends the thread once it has run what it was sent. */
  async close(): Promise<void> {
    this.#pieces.putSync(null);
    await this.thread.join();
  }
}

/** What `piece` gives: a Thread's calls for one piece of work. */
export interface PieceHandle {
  /** The running thread's ident. */
  readonly ident: number | null;
  start(): void;
  join(): Promise<void>;
}

/**
 * `fn(...args)` run by `t` as a Thread's target would be, behind a Thread's calls: `start()` sends
 * it, `join()` waits for its end (at most `timeoutMs`) and throws what it threw.
 */
export function piece<A extends unknown[]>(
  t: PieceThread,
  fn: (...args: A) => unknown,
  args: A,
  timeoutMs = 60_000,
): PieceHandle {
  let sent: { ended(ms?: number): Promise<void> } | null = null;
  return {
    get ident() {
      return t.thread.ident;
    },
    start() {
      sent = t.run(fn, args);
    },
    join() {
      if (sent === null) return Promise.reject(new Error('join() before start()'));
      return sent.ended(timeoutMs);
    },
  };
}

/**
 * Threads named `names`, for a test file: call `start` in its `before` hook (so that the leak
 * check counts them before every test) and `close` in its `after` hook.
 */
export function pieceThreads(names: readonly string[]): {
  threads: PieceThread[];
  start(): void;
  close(): Promise<void>;
} {
  const threads = names.map((n) => new PieceThread(n));
  return {
    threads,
    start: () => {
      for (const t of threads) t.start();
    },
    close: async () => {
      for (const t of threads) await t.close();
    },
  };
}
