import { checkKill, type Greenlet, type KillOptions } from './greenlet.js';
import { checkGreenlets } from './joinall.js';

/**
 * Kills every greenlet (gevent's `killall`): raises `exception` (a new `GreenletExit` for each
 * by default) in each of them, in the order given. With `block` (the default) the promise
 * resolves once all are dead or `timeout` ms have passed; it rejects only for a bad argument
 * (TypeError, RangeError), before killing any.
 *
 * **Cancellation:** as for `Greenlet.kill`, the blocking wait is not a cancellation point.
 */
export function killall(
  greenlets: Iterable<Greenlet<any>>,
  options: KillOptions = {},
): Promise<void> {
  let list: Greenlet<any>[];
  try {
    list = checkGreenlets('killall', greenlets);
    checkKill(options);
  } catch (e) {
    return Promise.reject(e);
  }
  return Promise.all(list.map((g) => g.kill(options))).then(() => undefined);
}
