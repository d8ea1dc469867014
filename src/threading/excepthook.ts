/**
 * Python's `threading.excepthook`: what happens to an exception that escapes a thread's `run()`.
 * By default the name of the thread and the stack are written to stderr (as CPython prints
 * "Exception in thread NAME:" and the traceback); `setExcepthook` installs another handler.
 * `join()` never throws the thread's exception.
 *
 * The hook runs in the thread that started the failing thread (the error crosses back to it with
 * its class name, message and remote stack), so install it where threads are started.
 */
import type { Thread } from './thread.js';

export interface ExceptHookArgs {
  /** Class name of the exception (`excValue.name`). */
  excType: string;
  excValue: unknown;
  /** The stack as it was inside the thread, or null. */
  excTraceback: string | null;
  thread: Thread | null;
}

export type ExceptHook = (args: ExceptHookArgs) => void;

/** Python's separator between a cause and the exception raised from it. */
const CAUSE_SEPARATOR =
  '\nThe above exception was the direct cause of the following exception:\n\n';
/** Bound on the cause chain printed (a cycle of causes would otherwise never end). */
const MAX_CAUSES = 32;

/**
 * The default hook (Python's `threading.__excepthook__`): the thread's name, then the error and
 * its chain of causes, innermost first, joined as Python joins `raise … from …`.
 */
export function __excepthook__(args: ExceptHookArgs): void {
  const name = args.thread?.name ?? 'unknown thread';
  process.stderr.write(`Exception in thread ${name}:\n${formatChain(args)}\n`);
}

/**
 * The stack of each error of the chain, outermost first. An error that crossed from a thread
 * keeps its stack over there in a `RemoteStack` cause, whose own cause is the original cause:
 * that pair is one link, printed with the remote stack.
 */
function formatChain(args: ExceptHookArgs): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let value: unknown = args.excValue;
  let traceback: string | null = args.excTraceback;
  while (parts.length < MAX_CAUSES && !seen.has(value)) {
    seen.add(value);
    if (!(value instanceof Error)) {
      parts.push(traceback ?? String(value));
      break;
    }
    let cause: unknown = value.cause;
    if (cause instanceof Error && cause.name === 'RemoteStack') {
      traceback ??= cause.stack ?? null;
      cause = cause.cause;
    }
    parts.push(traceback ?? value.stack ?? `${value.name}: ${value.message}`);
    if (cause === undefined) break;
    value = cause;
    traceback = null;
  }
  return parts.reverse().join(`\n${CAUSE_SEPARATOR}`);
}

let installed: ExceptHook = __excepthook__;

/** Calls the installed hook (what `threading.excepthook(args)` does in Python). */
export function excepthook(args: ExceptHookArgs): void {
  installed(args);
}

/** Installs `hook` (null: the default again) and returns the previous one. */
export function setExcepthook(hook: ExceptHook | null): ExceptHook {
  if (hook !== null && typeof hook !== 'function') {
    throw new TypeError(`setExcepthook expects a function or null: received ${typeof hook}`);
  }
  const previous = installed;
  installed = hook ?? __excepthook__;
  return previous;
}

export function getExcepthook(): ExceptHook {
  return installed;
}

/**
 * Runs the hook. An error thrown by the hook itself is written to stderr under Python's
 * `Exception in threading.excepthook:` (it is the hook's error, not the thread's: under the
 * thread's name it read as what the thread had thrown).
 */
export function reportThreadException(thread: Thread | null, error: unknown): void {
  const remote =
    error instanceof Error && error.cause instanceof Error && error.cause.name === 'RemoteStack'
      ? (error.cause.stack ?? null)
      : null;
  const args: ExceptHookArgs = {
    excType: error instanceof Error ? error.name : typeof error,
    excValue: error,
    excTraceback: remote,
    thread,
  };
  try {
    installed(args);
  } catch (hookError) {
    process.stderr.write(
      `Exception in threading.excepthook:\n${formatChain({ ...args, excValue: hookError, excTraceback: null })}\n`,
    );
  }
}
