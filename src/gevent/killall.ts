import { checkKill, type Greenlet, type KillOptions } from './greenlet.js';
import { checkGreenlets } from './joinall.js';
import { Timeout } from './timeout.js';

/**
 * Kills every greenlet (gevent's `killall`): raises `exception` (a new `GreenletExit` for each
 * by default) in each of them, in the order given. With `block` (the default) the promise
 * resolves once all are dead; with a `timeout` too, it rejects with a `Timeout` when some are
 * still alive after `timeout` ms, as gevent's raises (they go on running). It rejects for a bad
 * argument (TypeError, RangeError) before killing any.
 *
 * **Cancellation:** as for `Greenlet.kill`, the blocking wait is not a cancellation point.
 * @throws Timeout when the timeout passes first; TypeError, RangeError for bad arguments.
 */
export async function killall(
  greenlets: Iterable<Greenlet<any>>,
  options: KillOptions = {},
): Promise<void> {
  const list = checkGreenlets('killall', greenlets);
  const { block, timeout } = checkKill(options);
  // Each kill waits (and stops waiting) on its own; a greenlet still alive then is the timeout.
  await Promise.all(list.map((g) => g.kill(options)));
  if (block && list.some((g) => !g.dead)) throw new Timeout(timeout);
}
