import { describeValue } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter } from '../internal/waiter.js';
import { Greenlet, SWITCHED } from './greenlet.js';
import { watchMainWait } from './loop-exit.js';

export interface JoinallOptions extends WaitOptions {
  /** Raise the error of the first greenlet that fails (in completion order), at once. */
  raiseError?: boolean;
  /** Return as soon as this many greenlets are dead (default: all of them). */
  count?: number;
}

/**
 * Waits for the greenlets to die (gevent's `joinall`), at most `timeout` ms; resolves to those
 * dead by then, the already-dead first (in the order given), then in the order they died.
 *
 * With `raiseError`, the first error raised by one of them is raised here as soon as it is
 * known; the others go on running.
 *
 * **Cancellation:** cancelling the waiting task (or aborting `signal`) ends the wait only: the
 * greenlets go on.
 * @throws the first greenlet's error with `raiseError`; LoopExit when called outside every
 * greenlet and task and nothing is left that could end the wait.
 */
export function joinall<G extends Greenlet<any>>(
  greenlets: Iterable<G>,
  options?: JoinallOptions,
): Promise<G[]> {
  return joinallAs('joinall', greenlets, options);
}

/**
 * @internal `joinall`, for a verb that waits as it does (`Group.kill`): a LoopExit names `what`,
 * the call the main program made.
 */
export function joinallAs<G extends Greenlet<any>>(
  what: string,
  greenlets: Iterable<G>,
  options?: JoinallOptions,
): Promise<G[]> {
  // A bad argument rejects, as every verb returning a promise does (docs/socket.md).
  let list: G[];
  let timeout: number | null;
  let signal: AbortSignal | null;
  let count: number;
  try {
    list = checkGreenlets('joinall', greenlets);
    ({ timeout, signal } = parseWait('joinall', options));
    count = checkCount('joinall', options?.count) ?? list.length;
  } catch (e) {
    return Promise.reject(e);
  }
  const raiseError = options?.raiseError ?? false;
  const target = Math.min(count, list.length);
  const done: G[] = [];
  const pending: G[] = [];
  // gevent's `iwait` takes the dead ones in the order given and stops at `count`: with more of
  // them dead than `count`, the first `count` are the answer (and only their errors count).
  for (const g of list) (g.dead && done.length < target ? done : pending).push(g);
  if (raiseError) {
    const failed = done.find((g) => !g.successful());
    if (failed) return Promise.reject(failed.exception);
  }
  if (done.length >= target) return Promise.resolve(done);
  if (signal?.aborted) return Promise.reject(signal.reason);

  const w = new Waiter<G[]>(null);
  // gevent's joinall switches to its caller from the dying greenlet's links: the caller
  // resumes before the links registered after this one run.
  const onDeath = (g: Greenlet<any>): typeof SWITCHED | undefined => {
    if (!w.pending) return undefined;
    done.push(g as G);
    if (raiseError && !g.successful()) w.fail(g.exception);
    else if (done.length >= target) w.wake(done);
    else return undefined;
    return SWITCHED;
  };
  for (const g of pending) g.link(onDeath);
  if (signal) w.setSignal(signal);
  if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, done));
  watchMainWait(
    w,
    () =>
      `the main program's ${what} waits for ${pending
        .filter((g) => !g.dead)
        .map((g) => g.describeState())
        .join('; ')}`,
  );
  return w.block().finally(() => {
    for (const g of pending) g.unlink(onDeath);
  });
}

/** A `count` option of `what` (joinall, wait, iwait): null when not given. */
export function checkCount(what: string, count: unknown): number | null {
  if (count === undefined || count === null) return null;
  if (typeof count !== 'number' || !Number.isInteger(count)) {
    throw new TypeError(`${what}: count must be an integer: received ${describeValue(count)}`);
  }
  if (count < 0) throw new RangeError(`${what}: count must be >= 0: received ${count}`);
  return count;
}

/** The greenlets of an iterable. @throws TypeError for anything else. */
export function checkGreenlets<G>(what: string, greenlets: Iterable<G>): G[] {
  if (greenlets === null || typeof (greenlets as any)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `${what} expects an iterable of greenlets: received ${describeValue(greenlets)}`,
    );
  }
  const list = [...greenlets];
  for (const g of list) {
    if (!(g instanceof Greenlet)) {
      throw new TypeError(`${what} expects greenlets: received ${describeValue(g)}`);
    }
  }
  return list;
}
