import { callSoon } from '../internal/scheduler.js';
import { Waiter } from '../internal/waiter.js';
import { GreenletExit, makeError } from './errors.js';
import { checkKill, deliverKill, type Greenlet, KillCall, type KillOptions } from './greenlet.js';
import { checkGreenlets, joinall } from './joinall.js';
import { switchInto } from './switch.js';
import { Timeout } from './timeout.js';

/**
 * Kills every greenlet (gevent's `killall`): raises `exception` (a new `GreenletExit` for each
 * by default) in each of them, in the order given — one turn of the ready queue for all, as
 * gevent's one hub callback, each greenlet running until it blocks or dies before the next gets
 * its error. With `block` (the default) the promise resolves once all are dead; with a
 * `timeout` too, it rejects with a `Timeout` when some are still alive after `timeout` ms, as
 * gevent's raises (they go on running). The timeout counts from the call, so it also bounds
 * the wait for the kill's turn on a loop busy past it (the kill is still delivered then). It
 * rejects for a bad argument (TypeError, RangeError) before killing any.
 *
 * **Cancellation:** as for `Greenlet.kill`, the blocking wait is a wait like any other.
 * @throws Timeout when the timeout passes first; TypeError, RangeError for bad arguments.
 */
export async function killall(
  greenlets: Iterable<Greenlet<any>>,
  options: KillOptions = {},
): Promise<void> {
  const list = checkGreenlets('killall', greenlets);
  const { block, timeout } = checkKill(options);
  const spec = options.exception;
  const started = performance.now();
  const need: Greenlet<any>[] = [];
  const errors: Error[] = [];
  for (const g of list) {
    // Each greenlet its own error when given a class (checked by checkKill: this cannot throw).
    const e = makeError('killall', spec ?? GreenletExit);
    if (!g._killBeforeRun(e)) {
      need.push(g);
      errors.push(e);
    }
  }
  if (need.length === 0) return;
  const killer = block ? new Waiter<void>(need[0] as Greenlet<any>) : null;
  callSoon(deliverKill, new KillCall(need, errors, killer));
  if (killer === null) return;
  // gevent's Timeout starts before the wait for the kill's turn: a hub busy past the deadline
  // with what was queued before the kill (weft: more than a turn's budget of callbacks) raises
  // it there. The kill still comes, as gevent's callback stays queued.
  if (timeout !== null) killer.setTimeout(timeout, (w) => killTurnLate(w, timeout));
  await killer.block();
  const alive = need.filter((g) => !g.dead);
  if (alive.length === 0) return;
  const left = timeout === null ? null : Math.max(0, timeout - (performance.now() - started));
  const dead = await joinall(alive, { timeout: left });
  if (dead.length < alive.length) throw new Timeout(timeout);
}

/**
 * killall's Timeout expired before the kill's turn came: as gevent's timer callback, it throws
 * into the killer at once (through a switch: the killer runs next), ahead of what is queued.
 */
function killTurnLate(killer: Waiter<void>, timeout: number): void {
  switchInto(raiseTimeout, killer, timeout, null, false, null);
}

function raiseTimeout(killer: Waiter<void>, timeout: number): boolean {
  killer.withdraw(false, new Timeout(timeout));
  return true;
}
