import { currentTaskSignal } from '../internal/context.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import type { WaitOptions } from '../internal/wait-options.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Python's `multiprocessing.Event` across processes. `set` and `clear` are not waited for;
 * `isSet` asks the broker synchronously and sees this thread's earlier `set`/`clear`.
 */
export class Event extends SharedObject {
  constructor(init?: SharedInit) {
    super('event', {}, init);
  }
  protected _kind(): string {
    return 'mp:Event';
  }
  set(): void {
    broker().post('set', this._id, []);
  }
  clear(): void {
    broker().post('clear', this._id, []);
  }
  /** Whether the flag is set — a snapshot: another process may change it the next instant. */
  isSet(): boolean {
    return brokerSync().request('isSet', this._id, []) as boolean;
  }
  /**
   * Resolves true once set, false if `timeout` ms pass first.
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects the wait with its reason and withdraws it from the broker.
   */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const timeout = checkTimeout('Event.wait', options.timeout);
    const signal = checkSignal('Event.wait', options.signal) ?? currentTaskSignal();
    return (await broker().request('wait', this._id, [timeout], signal)) as boolean;
  }
  /**
   * Blocking twin of `wait`: parks this thread until the flag is set (true) or `timeout` ms
   * pass (false).
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   */
  waitSync(options: { timeout?: number | null } = {}): boolean {
    return brokerSync().request('wait', this._id, [
      checkTimeout('Event.waitSync', options.timeout),
    ]) as boolean;
  }
  /** @internal */
  static _revive(init: SharedInit): Event {
    return new Event(init);
  }
}

registerKind('mp:Event', (s) => Event._revive(s), import.meta.url);
