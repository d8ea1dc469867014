/**
 * The exceptions threading's excepthook heard while `fn` ran (the hook in place before is put
 * back afterwards, whatever `fn` did).
 */
import { type ExceptHookArgs, setExcepthook } from '../../src/threading/index.js';

export async function hookedDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const prev = setExcepthook((args: ExceptHookArgs) => {
    seen.push(args.excValue);
  });
  try {
    await fn();
  } finally {
    setExcepthook(prev);
  }
  return seen;
}
