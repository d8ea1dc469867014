/**
 * `wait()`: Python's `multiprocessing.connection.wait`, which waits until one of several
 * objects is ready — here `Connection`s (a Pipe end, or a Listener/Client one), weft/socket
 * sockets and `Process`es. Python's takes descriptors (a Process's `sentinel`); weft's objects
 * have no descriptor to select on, so each kind is asked in its own way and the first answer
 * ends the wait:
 *
 *   Connection (Pipe or Listener/Client)   its poll(): a message to recv, or the other end closed
 *   weft/socket Socket                     recv (or accept) would not wait
 *   Process (started)                      it has ended (Python's `p.sentinel` is ready)
 */
import { setMaxListeners } from 'node:events';
import { currentTaskSignal } from '../internal/context.js';
import { describeValue } from '../internal/errors.js';
import { clearLongTimeout, type LongTimer, setLongTimeout } from '../internal/long-timer.js';
import { Socket } from '../socket/socket.js';
import { Connection } from './connection.js';
import { Process } from './process.js';
import { checkSignal, checkTimeout } from './shared-object.js';

/** What `wait` takes. */
export type Waitable = Connection | Socket | Process;

export interface WaitOptions {
  /** Milliseconds to wait at most; null or absent: for ever; 0: only look. */
  timeout?: number | null;
  signal?: AbortSignal;
}

/** Whether `o` is ready now. */
async function readyNow(o: Waitable): Promise<boolean> {
  if (o instanceof Connection) return o.poll(0);
  if (o instanceof Socket) return o._readable();
  return o.exitcode !== null;
}

/** Resolves when `o` may be ready, or when `signal` aborts (then: never mind). */
function until(o: Waitable, signal: AbortSignal): Promise<unknown> {
  if (o instanceof Connection) return o.poll(null, { signal });
  if (o instanceof Socket) {
    return new Promise<void>((resolve) => {
      const stop = o._watch(() => {
        if (o._readable()) finish();
      });
      const finish = (): void => {
        stop();
        signal.removeEventListener('abort', finish);
        resolve();
      };
      signal.addEventListener('abort', finish, { once: true });
      if (o._readable()) finish();
    });
  }
  return o.join({ signal });
}

function check(objects: unknown): Waitable[] {
  if (objects === null || typeof objects !== 'object' || !(Symbol.iterator in objects))
    throw new TypeError(
      `wait: objects must be an array (or iterable) of Connections, sockets or Processes: received ${describeValue(objects)}`,
    );
  const list = [...(objects as Iterable<unknown>)];
  for (const o of list) {
    if (!(o instanceof Connection || o instanceof Socket || o instanceof Process))
      throw new TypeError(
        `wait: ${describeValue(o)} cannot be waited for: pass Connections (Pipe or Listener/Client ends), weft/socket sockets or started Processes`,
      );
    if (o instanceof Process && o.pid === null)
      throw new TypeError('wait: a Process must be started before it can be waited for');
  }
  return list as Waitable[];
}

/**
 * Resolves to those of `objects` that are ready (in the order given), once one is or when
 * `timeout` ms have passed (then an empty array). A Connection is ready when `recv()` would not
 * wait (a message is there, or the other end closed); a socket when `recv()` or `accept()`
 * would not wait; a Process when it has ended.
 *
 * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
 * rejects with its reason.
 * @throws TypeError for something that cannot be waited for (a Process not started); OSError
 * for a closed Connection, as Python's.
 */
export async function wait(
  objects: Iterable<Waitable>,
  options: WaitOptions = {},
): Promise<Waitable[]> {
  const list = check(objects);
  const t = checkTimeout('wait', options?.timeout);
  const signal = checkSignal('wait', options?.signal) ?? currentTaskSignal();
  if (signal?.aborted) throw signal.reason;
  const look = async (): Promise<Waitable[]> => {
    const ready = await Promise.all(list.map(readyNow));
    return list.filter((_, i) => ready[i]);
  };
  const first = await look();
  // Aborted during the look (its polls do not watch the signal): a listener added now would
  // never fire, and a wait without a timeout would never end.
  if (signal?.aborted) throw signal.reason;
  if (first.length > 0 || t === 0 || list.length === 0) {
    if (list.length === 0 && t !== 0) await sleepOrAbort(t, signal);
    return first;
  }
  const stop = new AbortController();
  // One listener per Process or socket waited for (their join/watch), any number of them: not
  // a leak, the signal ends with this call.
  setMaxListeners(0, stop.signal);
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: LongTimer | null = null;
  try {
    const waits = list.map((o) => until(o, stop.signal).catch(() => {}));
    // Long timers here and in sleepOrAbort: Node fires a plain one past 2^31 − 1 ms after 1 ms,
    // so a wait of 3e9 ms ended at once (with a TimeoutOverflowWarning).
    if (t !== null)
      waits.push(new Promise((r) => (timer = setLongTimeout(t, r as () => void, null, null))));
    waits.push(new Promise((r) => stop.signal.addEventListener('abort', r, { once: true })));
    await Promise.race(waits);
  } finally {
    clearLongTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (!stop.signal.aborted) stop.abort();
  }
  if (signal?.aborted) throw signal.reason;
  return look();
}

/** wait([]) with a timeout: Python's sleeps it out (for ever without one). */
function sleepOrAbort(t: number | null, signal: AbortSignal | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = t === null ? null : setLongTimeout(t, done, null, null);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearLongTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
