/**
 * gevent's switch from a hub callback into a greenlet, in one place: every switch weft/gevent
 * makes (a notifier pass waking the next waiter, a greenlet's links, a kill, a Timeout's expiry)
 * opens and closes it here, so that no path can leave a switch open — which would hold every
 * later resume of the program behind a head placement that never comes.
 *
 * The scheduler's side (what a switch does to the ready queue) is in ../internal/scheduler.ts
 * (`beginSwitch`, `endSwitch`, `dropSwitch`, `switchTo`).
 */
import type { Task } from '../asyncio/task.js';
import {
  beginSwitch,
  dropSwitch,
  endSwitch,
  reportException,
  switchTo,
} from '../internal/scheduler.js';
import type { Waiter } from '../internal/waiter.js';
import { wokenLinkWait } from './event.js';

/** What goes on once the woken greenlets have blocked: a pass's next step. */
type Then = (a: any, b: any) => void;

/**
 * Hands the loop to what `wake(owner, arg)` wakes: the resumes it queues run next, ahead of
 * everything ready, and `then(owner)` right behind them, once their steps have ended (it runs
 * as a resume when `thenRunsNoUserCode`, as a plain callback otherwise). Returns how many
 * resumes went to the head: 0 when nothing was woken there (`then` is not queued: the caller
 * goes on at once).
 *
 * `wake` returning false switched to nobody (a link callback that woke someone on its own
 * account): what it queued takes its turn at the end of the queue, as outside a switch, and the
 * result is 0. A `wake` that throws closes the switch the same way, then `recover(owner)` runs
 * (the owner's pass is queued again, say) and the error goes on.
 */
export function switchInto<O, A>(
  wake: (owner: O, arg: A) => boolean,
  owner: O,
  arg: A,
  then: Then | null,
  thenRunsNoUserCode: boolean,
  recover: ((owner: O) => void) | null,
): number {
  const mark = beginSwitch();
  let switched: boolean;
  try {
    switched = wake(owner, arg);
  } catch (e) {
    dropSwitch(mark);
    recover?.(owner);
    throw e;
  }
  if (!switched) {
    dropSwitch(mark);
    return 0;
  }
  return endSwitch(mark, then, owner, undefined, thenRunsNoUserCode);
}

/**
 * Throws `errors[i]` into the task of each of `targets` (greenlets, or `{ task }`) in turn,
 * inside one switch whose target is each task while its error is requested (`switchTo`): the
 * targets' own resumes go to the head, in order, each running until it blocks or dies before
 * the next; what a cancel wakes besides — the other awaiters of a future it awaited, a task it
 * gathered — keeps the order a plain cancel gives it. Then wakes `after` (a blocking killer) to
 * run behind them. gevent's `_kill`, `_killall3` and a Timeout's timer callback: one hub callback
 * throwing into greenlets. A null task (a greenlet not started) is passed over. An error while
 * throwing is reported as `what` and the others still get theirs, and `after` its wake-up (it
 * would wait for ever).
 */
export function throwInto(
  targets: readonly { readonly task: Task<any> | null }[],
  errors: readonly Error[],
  after: Waiter<void> | null,
  what: string,
): void {
  const prev = switchTo(null);
  const mark = beginSwitch();
  try {
    for (let i = 0; i < targets.length; i++) {
      const task = (targets[i] as { readonly task: Task<any> | null }).task;
      if (task === null) continue;
      switchTo(task);
      try {
        const woken = wokenLinkWait(task);
        if (task._requestCancel(errors[i] as Error)) woken?.resumeAgain();
      } catch (e) {
        reportException(what, e);
      }
    }
    switchTo(null);
    after?.wake(undefined);
  } finally {
    switchTo(prev);
    endSwitch(mark, null);
  }
}
