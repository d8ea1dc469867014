/** Test helpers for what must be garbage-collected: a full collection, and waiting for one. */

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { until } from './until.js';

/** A full garbage collection (the flag is set at run time, so no `--expose-gc` is needed). */
export function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Collects until `ref`'s target is gone (the test must hold it nowhere else); `what` names it. */
export async function collected(ref: WeakRef<object>, what: string): Promise<void> {
  await until(() => {
    gc();
    return ref.deref() === undefined;
  }, `${what} to be collected`);
}
