/**
 * The parent-of-all of multiprocessing's shared objects: a handle (an id) on state that lives in
 * the broker (src/internal/process/broker.ts). A handle crosses to a child inside `args` (or a
 * queue item) as a descriptor and is revived there as a handle on the same id — connected, not
 * copied. Creation is idempotent and travels with every revival, so a handle works in any
 * process whatever reached the broker first.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { broker, ensureBroker } from '../internal/process/broker-client.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { beforeWorkerSpawn } from '../internal/worker/spawn.js';

let counter = 0;

// A program using multiprocessing decides its broker before its main thread starts a worker: a
// thread that used it first would otherwise have to wait for the main thread's event loop to
// start it (and a main thread parked in joinSync would never do so).
beforeWorkerSpawn(() => {
  if (isMainThread) ensureBroker();
});

/** An id for a new shared object, unique in the tree: `<pid>.<thread id>.<counter>`. */
export function newObjectId(): string {
  return `${process.pid}.${threadId}.${++counter}`;
}

export interface SharedInit {
  id: string;
  params: Record<string, unknown>;
}

export abstract class SharedObject {
  /** @internal */
  readonly _id: string;
  /** @internal */
  readonly _params: Record<string, unknown>;

  /**
   * `id`: a new object's id taken beforehand with `newObjectId()` (an Array names its shared
   * file after it before the broker hears of it); by default a fresh one.
   */
  protected constructor(
    kind: string,
    params: Record<string, unknown>,
    init?: SharedInit,
    id?: string,
  ) {
    this._id = init?.id ?? id ?? newObjectId();
    this._params = init?.params ?? params;
    // A Manager dict's, list's or namespace's params hold its values encoded (the proxies'
    // `stored`), and a revived handle's params are the creator's as they were: the descriptors
    // in them are the creator's data, escaped on the way (serialize.ts, ESCAPED), not revived.
    // So its 'create' — which the broker may see before the creator's — stores them as the
    // creator did.
    broker().post('create', this._id, [kind, this._params]);
  }

  /** @internal */
  protected abstract _kind(): string;

  [kShared](): SharedState {
    return { kind: this._kind(), state: { id: this._id, params: this._params } };
  }
}

/** Registers how a kind is revived in the process that receives it. */
export function registerKind(
  kind: string,
  revive: (init: SharedInit) => object,
  moduleUrl: string,
  discard?: (init: SharedInit) => void,
): void {
  registerSharedKind(
    kind,
    (s) => revive(s as unknown as SharedInit),
    moduleUrl,
    discard && ((s) => discard(s as unknown as SharedInit)),
  );
}

export function checkTimeout(what: string, timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(
      `${what}: timeout must be a number of milliseconds: received ${String(timeout)}`,
    );
  }
  // Infinity waits for ever, as null does: no timer (Node fires one past 2^31 − 1 ms at once).
  return timeout === Number.POSITIVE_INFINITY ? null : Math.max(0, timeout);
}

export function checkSignal(what: string, signal: unknown): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal))
    throw new TypeError(`${what}: signal must be an AbortSignal`);
  return signal;
}
