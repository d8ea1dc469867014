/**
 * Task references: how a function (or a class, for the subclass style) of the parent is found
 * again inside a worker, which has its own copy of every module and shares no heap.
 *
 * - `task(import.meta, fn)` records the module URL and the position of the call among that
 *   module's `task` calls. A worker imports the module; evaluating it makes the same calls in the
 *   same order, so position k names the same function there, exported or not. The function's name
 *   is checked too, so a conditional `task` call that shifts positions fails loudly.
 * - An unmarked function travels as its source text and is rebuilt with `new Function`. That
 *   works for a self-contained function; one that uses its closure fails when it runs, with an
 *   error saying which name was missing and how to fix it.
 *
 * Thread targets, executor tasks and process targets all go through `toTaskRef`/`resolveTaskRef`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { describeError, RuntimeError, WeftError } from './errors.js';
import { registerErrorClass } from './serialize.js';
import { beforeImport, missingTsLoader } from './ts-loader.js';

export type TaskRef =
  | { kind: 'module'; url: string; index: number; name: string }
  | { kind: 'inline'; source: string; name: string };

const kRef = Symbol.for('weft.taskRef');
type Marked = { [kRef]?: TaskRef };

interface Modules {
  byUrl: Map<string, Function[]>;
}
const KEY = Symbol.for('weft.taskModules');
const holder = globalThis as unknown as { [KEY]?: Modules };
const modules: Modules = (holder[KEY] ??= { byUrl: new Map() });

/** The function or class cannot be found or rebuilt in a worker; `code` ERR_WEFT_TASK. */
export class TaskReferenceError extends WeftError {
  static override readonly kind: string = 'TaskReferenceError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_TASK', options);
  }
}

// By name too: the broker's errors, and names a user's class cannot take (error-registry.ts).
registerErrorClass(TaskReferenceError, { byName: true });

/**
 * Marks `fn` (a function or a class) so that a worker can find it; returns `fn` itself.
 * Call it at the top level of the module that defines `fn`:
 * `export const work = task(import.meta, (n: number) => n * 2);`
 */
export function task<F extends Function>(meta: ImportMeta | { url: string }, fn: F): F {
  if (typeof fn !== 'function') {
    throw new TypeError(
      `task(import.meta, fn): fn must be a function or a class: received ${typeof fn}`,
    );
  }
  const url = meta?.url;
  if (typeof url !== 'string') {
    throw new TypeError('task(import.meta, fn): the first argument must be import.meta');
  }
  let list = modules.byUrl.get(url);
  if (!list) modules.byUrl.set(url, (list = []));
  const existing = (fn as Marked)[kRef];
  if (existing && existing.kind === 'module' && existing.url === url) return fn;
  const ref: TaskRef = { kind: 'module', url, index: list.length, name: fn.name };
  list.push(fn);
  Object.defineProperty(fn, kRef, { value: ref, configurable: true });
  return fn;
}

export function isMarked(fn: Function): boolean {
  return (fn as Marked)[kRef] !== undefined;
}

/** How `fn` will be found in a worker. `what` names the caller's role in error messages. */
export function toTaskRef(fn: Function, what: string): TaskRef {
  const marked = (fn as Marked)[kRef];
  if (marked) return marked;
  const source = Function.prototype.toString.call(fn);
  if (/^class[\s{]/.test(source)) {
    throw new TaskReferenceError(
      `${what}: class ${fn.name || '(anonymous)'} cannot be found in a worker. Mark it where it is defined: task(import.meta, ${fn.name || 'TheClass'})`,
    );
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TaskReferenceError(
      `${what}: ${fn.name || 'the function'} is a built-in or bound function and cannot be sent to a worker; wrap it in a function of your own marked with task(import.meta, fn)`,
    );
  }
  return { kind: 'inline', source, name: fn.name };
}

/**
 * How a message names a function that travels as its source: its name, or, for an anonymous one
 * (an arrow given inline, the common case), the start of its source, which is what the user
 * will recognise: "Function `(x) => x * k` uses `k`…".
 */
function describeInline(name: string, source: string): string {
  if (name !== '') return name;
  const line = (source.trim().split('\n', 1)[0] ?? '').trim();
  return `\`${line.length > 60 ? `${line.slice(0, 57)}...` : line}\``;
}

/**
 * The task module whose import the running code belongs to: its top-level code, and what that
 * code awaits or starts asynchronously while it runs. A list kept per thread said "a module is
 * loading" to all the thread's code instead, and so refused a start that other code of the
 * thread made meanwhile (a thread's target going on while a Barrier's action module loaded). The
 * storage is made at the first import that needs it (not a worker's first: `untouched`) and
 * disabled while none is in flight: on Node 20 an enabled AsyncLocalStorage makes every `await`
 * of the thread cost more, and running one at all leaves promises dearer for good.
 */
let loadingStore: AsyncLocalStorage<string> | null = null;
let importsInFlight = 0;

/**
 * Whether no code of the user's has run in this thread yet but the top-level code of the task
 * modules it imports: a worker or child before its target, initializer or first call
 * (`untouchedThread`, then `userCodeStarts`). An import made then needs no AsyncLocalStorage:
 * whatever runs while it is in flight is that module's code, or code it started. And running
 * one costs the thread for good: on Node 20 and 22 it installs promise hooks, and V8 then keeps
 * some of its promise fast paths off in the thread, hooks removed or not (context.ts,
 * `storageOnHooks`). Most workers and children import one module, their target's, and so never
 * run one.
 */
let untouched = false;
/** The module imported while the thread was untouched, while that import is in flight. */
let untouchedUrl: string | null = null;

/** A worker or child process starting: nothing of the user's has run in this thread yet. */
export function untouchedThread(): void {
  untouched = true;
}

/** The user's code is about to run here (a target, an initializer, a call). */
export function userCodeStarts(): void {
  untouched = false;
}

/** @internal For tests: whether this thread has made the AsyncLocalStorage of its imports. */
export function _madeLoadingStore(): boolean {
  return loadingStore !== null;
}

/** @internal For tests: the import storage's value where this is called (none once disabled). */
export function _loadingStoreValue(): string | undefined {
  return loadingStore?.getStore();
}

/** Modules this thread has imported to find a task: importing one again evaluates nothing. */
const imported = new Set<string>();

/**
 * The task module a worker is evaluating to find a task, when the caller is that module's
 * top-level code; else null. A module's top-level code runs again in every worker that needs one
 * of its tasks (as Python's `spawn` re-imports `__main__`); code that starts threads there would
 * start them again in each worker, without end. Starters call this to refuse.
 */
export function loadingTaskModule(): string | null {
  return importsInFlight === 0 ? null : (loadingStore?.getStore() ?? untouchedUrl);
}

/** Imports `url`, its evaluation (and whatever it starts meanwhile) marked as loading `url`. */
async function importTaskModule(url: string, first: boolean): Promise<void> {
  if (imported.has(url)) {
    await import(url);
    return;
  }
  if (first && untouched && importsInFlight === 0) {
    // The thread's first import, nothing else of the user's running, and the user's code waits
    // for its end: no storage needed (see `untouched`). After it, that code may run at any time.
    untouchedUrl = url;
    importsInFlight++;
    try {
      await importWithLoader(url);
      imported.add(url);
    } finally {
      // A background import made meanwhile (a revived Barrier's action) ran the storage, and
      // if it ended first, left this one the last to end: it disables the storage then.
      if (--importsInFlight === 0) loadingStore?.disable();
      untouchedUrl = null;
      untouched = false;
    }
    return;
  }
  const store = (loadingStore ??= new AsyncLocalStorage<string>());
  importsInFlight++;
  try {
    await store.run(url, () => importWithLoader(url));
    imported.add(url);
  } finally {
    if (--importsInFlight === 0) store.disable();
  }
}

async function importWithLoader(url: string): Promise<void> {
  // Every module a worker loads to find a task comes through here: the one place a worker
  // started without the TypeScript loader registers it, when that module needs it.
  const ready = beforeImport(url);
  if (ready !== null) await ready;
  await import(url);
}

/**
 * Refuses to start `what` (a thread, a process, a pool's workers) from the top-level code of a
 * task module being loaded in a worker or child: that code runs again in every worker and child
 * the start would make, so the starts would never end. Python refuses the same in a `spawn`
 * child ("An attempt has been made to start a new process before the current process has
 * finished its bootstrapping phase").
 */
export function refuseStartInTaskModule(what: string): void {
  const url = loadingTaskModule();
  if (url === null) return;
  // Each guard covers one kind of copy: a thread pool's workers are not main threads, while a
  // child process runs on its own main thread. Named first, the one that covers this copy.
  const threads = '`if (isMainThread)` (node:worker_threads) for threads';
  const processes =
    "`if (currentProcess().name === 'MainProcess')` (weft/multiprocessing) for child processes";
  const guard = isMainThread ? `${processes}, and ${threads}` : `${threads}, and ${processes}`;
  throw new RuntimeError(
    `${what} came from the top-level code of ${url} while a worker loaded that module to find a task in it. A task module is evaluated again in every worker and child process, so each would start more without end: start them from a function, or guard top-level code with ${guard}.`,
    'ERR_WEFT_START_IN_TASK_MODULE',
  );
}

/**
 * `resolveTaskRef` without waiting, where nothing needs loading: an inline function, or a marked
 * one whose module this thread has evaluated already. Null otherwise (the caller then resolves it
 * asynchronously). A Barrier revived in a thread uses it, so that a last party arriving with
 * `waitSync` at once can run the action itself, as Python's last thread does.
 */
export function resolveTaskRefSync(ref: TaskRef): Function | null {
  if (ref.kind === 'inline') {
    try {
      return rebuildInline(ref);
    } catch {
      return null;
    }
  }
  const url =
    ref.url.startsWith('file:') || ref.url.includes(':') ? ref.url : pathToFileURL(ref.url).href;
  const fn = modules.byUrl.get(url)?.[ref.index];
  return fn !== undefined && fn.name === ref.name ? fn : null;
}

/**
 * The worker-side half: the function (or class) a reference names. `first`: a worker's or
 * child's target, initializer or calls, whose import the code that runs them waits for before it
 * runs any of the user's (`untouched`); not an import made in the background, such as a revived
 * Barrier's action, which may go on while the target runs.
 */
export async function resolveTaskRef(ref: TaskRef, first = false): Promise<Function> {
  if (ref.kind === 'inline') return rebuildInline(ref);
  const url =
    ref.url.startsWith('file:') || ref.url.includes(':') ? ref.url : pathToFileURL(ref.url).href;
  try {
    await importTaskModule(url, first);
  } catch (err) {
    // What went wrong in the message itself: a loader that failed, no loader to register, or the
    // module's own error (its cause crosses back to the caller under the worker's stack).
    const why =
      (err as { code?: unknown })?.code === 'ERR_WEFT_TS_LOADER'
        ? (err as Error).message
        : (missingTsLoader(url, err) ?? describeError(err));
    throw new TaskReferenceError(
      `Cannot load the module of task ${ref.name || '(anonymous)'} in ${isMainThread ? 'this process' : 'a worker'}: ${url}: ${why}`,
      { cause: err },
    );
  }
  const fn = modules.byUrl.get(url)?.[ref.index];
  if (!fn || fn.name !== ref.name) {
    throw new TaskReferenceError(
      `Task ${ref.name || '(anonymous)'} was not found in ${url} inside the worker (task() call #${ref.index} there is ${fn ? fn.name || '(anonymous)' : 'missing'}). Call task(import.meta, fn) unconditionally at the top level of the module.`,
    );
  }
  return fn;
}

function rebuildInline(ref: Extract<TaskRef, { kind: 'inline' }>): Function {
  let src = ref.source.trim();
  // Method shorthand (`run() {}` / `async run() {}`) is not an expression on its own.
  const m = /^(async\s+)?(\*\s*)?([A-Za-z_$][\w$]*)\s*\(/.exec(src);
  // …but `async (x) => …` is an arrow whose first word happens to match (futures engineer's fix).
  const asyncArrow =
    m?.[1] === undefined && m?.[3] === 'async' && /^async\s*\([^)]*\)\s*=>/.test(src);
  if (m && m[3] !== 'function' && !asyncArrow) {
    const head = (m[1] ?? '').length + (m[2] ?? '').length;
    src = `${m[1] ?? ''}function${m[2] ? '*' : ''} ${src.slice(head)}`;
  }
  let fn: Function;
  try {
    // `__name` is the helper esbuild (tsx) inserts to keep function names.
    fn = new Function('__name', `"use strict"; return (${src});`)((f: Function) => f);
  } catch (err) {
    throw new TaskReferenceError(
      `Cannot rebuild inline function ${describeInline(ref.name, ref.source)} in the worker from its source; define it at the top level of a module and mark it: task(import.meta, ${ref.name || 'fn'})`,
      { cause: err },
    );
  }
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    try {
      const r = fn.apply(this, args);
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        // Adopted first: a thenable of the user's need not take `then(undefined, onRejected)`
        // (`{ then(resolve) { resolve(5) } }` threw "resolve is not a function").
        return Promise.resolve(r).then(undefined, (e: unknown) => {
          throw explainClosure(e, ref);
        });
      }
      return r;
    } catch (e) {
      throw explainClosure(e, ref);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped;
}

/**
 * A ReferenceError of the rebuilt function `ref` as the TaskReferenceError that says why; the
 * function's label is made here, on the error path only.
 */
function explainClosure(e: unknown, ref: Extract<TaskRef, { kind: 'inline' }>): unknown {
  if (!(e instanceof ReferenceError)) return e;
  const missing = /^(\S+) is not defined/.exec(e.message)?.[1];
  if (!missing) return e;
  // `__callDispose`, `__using`, `__publicField`, `__awaiter`, …: what esbuild (tsx) and tsc put at
  // the top of a module for syntax they lower (`using`, decorators, class fields, async on old
  // targets). The copy of the function's source calls them and the worker has none; passing one
  // through args is no advice to give.
  if (/^__[A-Za-z]/.test(missing))
    return new TaskReferenceError(
      `Function ${describeInline(ref.name, ref.source)} calls \`${missing}\`, which does not exist in the worker: it is most likely a helper your TypeScript compiler put at the top of the module for syntax it lowers (\`using\`, decorators, class fields), and an inline function runs as a copy of its own source only. Define the function at the top level of a module and mark it with task(import.meta, ${ref.name || 'fn'}).`,
      { cause: e },
    );
  return new TaskReferenceError(
    `Function ${describeInline(ref.name, ref.source)} uses \`${missing}\` from its closure, which does not exist in the worker: an inline function runs as a copy of its source. Pass \`${missing}\` through args (or kwargs), or define the function at the top level of a module and mark it with task(import.meta, ${ref.name || 'fn'}).`,
    { cause: e },
  );
}
