import { currentTaskSignal } from '../internal/context.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { ProcessError, RuntimeError } from './errors.js';
import { type GetOptions, Queue, type QueueOptions, reviveShared } from './queue.js';
import { checkSignal, checkTimeout, registerKind, type SharedInit } from './shared-object.js';

/**
 * Python's `multiprocessing.JoinableQueue`: a Queue that counts unfinished items; consumers call
 * `taskDone()` per item, and `join()` waits until every item put has been marked done.
 *
 * A consumer process that dies holding items it took without `taskDone` makes `join()` reject
 * with a ProcessError naming it (pid and name), instead of waiting for ever.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** @internal Tells Queue's constructor to count unfinished items. */
  static _joinable = true;
  #taken = 0;

  constructor(maxsize = 0, options: QueueOptions = {}, init?: SharedInit) {
    super(maxsize, options, init);
  }

  protected override _kind(): string {
    return 'mp:JoinableQueue';
  }

  override async get(options?: Parameters<Queue<T>['get']>[0]): Promise<T> {
    const v = await super.get(options);
    this.#taken++;
    return v;
  }

  override getSync(options?: GetOptions): T {
    const v = super.getSync(options);
    this.#taken++;
    return v;
  }

  override getNowait(): T {
    const v = super.getNowait();
    this.#taken++;
    return v;
  }

  /**
   * Marks one item taken by this process as done.
   * @throws RuntimeError (Python's ValueError) when this process has no item left to mark.
   */
  taskDone(): void {
    if (this.#taken === 0) {
      throw new RuntimeError(
        'taskDone() called more times than there were items taken by this process',
        'ERR_WEFT_TASK_DONE',
      );
    }
    this.#taken--;
    broker().postTaskDone(this._id, 1);
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
