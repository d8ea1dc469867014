import { currentTaskSignal } from '../internal/context.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { ProcessError, valueError } from './errors.js';
import { Queue, type QueueOptions, reviveShared } from './queue.js';
import { checkSignal, checkTimeout, registerKind, type SharedInit } from './shared-object.js';

/**
 * Python's `multiprocessing.JoinableQueue`: a Queue that counts unfinished items; consumers call
 * `taskDone()` per item, and `join()` waits until every item put has been marked done.
 *
 * A consumer process that dies holding items it took without `taskDone` makes `join()` reject
 * with a ProcessError naming it (pid and name), instead of waiting for ever — until another
 * thread or process marks them done (it handed them on), as Python's count is the queue's.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** @internal Tells Queue's constructor to count unfinished items. */
  static _joinable = true;

  constructor(maxsize = 0, options: QueueOptions = {}, init?: SharedInit) {
    super(maxsize, options, init);
  }

  protected override _kind(): string {
    return 'mp:JoinableQueue';
  }

  /**
   * Marks one item done. The count is the queue's, as in Python: any thread or process may mark
   * done an item another one took (or one nobody has taken yet), as long as fewer items were
   * marked done than were put.
   *
   * Cost: for an item this thread took through this handle, nothing is waited for (the broker
   * hears it with the next batch of messages). Any other call is checked at the broker first: a
   * round trip that blocks this thread.
   * @throws RangeError (Python's ValueError), `ERR_WEFT_TASK_DONE`, when every item put has been
   *   marked done already.
   */
  taskDone(): void {
    if (this._taken > 0) {
      this._taken--;
      broker().postTaskDone(this._id, 1);
      return;
    }
    try {
      brokerSync().request('taskDone', this._id, [1]);
    } catch (e) {
      if ((e as Error)?.name === 'ValueError')
        throw valueError(
          'taskDone() called too many times: every item put in the JoinableQueue has been marked done',
          'ERR_WEFT_TASK_DONE',
        );
      throw e;
    }
  }

  /**
   * Waits until every item put has been marked done; with `timeout`, resolves false if not.
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects the wait with its reason and withdraws it from the broker.
   * @throws ProcessError when a consumer died with items not marked done.
   */
  async join(options: WaitOptions = {}): Promise<boolean> {
    const timeout = checkTimeout('JoinableQueue.join', options.timeout);
    const signal = checkSignal('JoinableQueue.join', options.signal) ?? currentTaskSignal();
    try {
      return (await broker().request('join', this._id, [timeout], signal)) !== false;
    } catch (e) {
      if (e !== signal?.reason && (e as Error)?.name === 'ProcessError')
        throw new ProcessError((e as Error).message, 'ERR_WEFT_CONSUMER_DIED');
      throw e;
    }
  }

  /**
   * Blocking twin of `join`: parks this thread until every item put has been marked done;
   * returns false if `timeout` ms pass first.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   * @throws ProcessError when a consumer died with items not marked done.
   */
  joinSync(options: { timeout?: number | null } = {}): boolean {
    const timeout = checkTimeout('JoinableQueue.joinSync', options.timeout);
    try {
      return brokerSync().request('join', this._id, [timeout]) !== false;
    } catch (e) {
      if ((e as Error)?.name === 'ProcessError')
        throw new ProcessError((e as Error).message, 'ERR_WEFT_CONSUMER_DIED');
      throw e;
    }
  }

  /** @internal This thread's open handle of the queue, or a new one (see queue.ts). */
  static override _revive(init: SharedInit): JoinableQueue {
    return reviveShared(init, JoinableQueue, () => new JoinableQueue(0, {}, init));
  }
}

registerKind('mp:JoinableQueue', (s) => JoinableQueue._revive(s), import.meta.url);
