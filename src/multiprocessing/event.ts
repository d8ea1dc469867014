import { broker } from '../internal/process/broker-client.js';
import { checkTimeout, registerKind, type SharedInit, SharedObject } from './shared-object.js';

/** Python's `multiprocessing.Event` across processes. `isSet` asks the broker: a Promise. */
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
  async isSet(): Promise<boolean> {
    return (await broker().request('isSet', this._id, [])) as boolean;
  }
  /** Resolves true once set, false if `timeout` ms pass first. */
  async wait(options: { timeout?: number | null } = {}): Promise<boolean> {
    return (await broker().request('wait', this._id, [
      checkTimeout('Event.wait', options.timeout),
    ])) as boolean;
  }
  /** @internal */
  static _revive(init: SharedInit): Event {
    return new Event(init);
  }
}

registerKind('mp:Event', (s) => Event._revive(s), import.meta.url);
