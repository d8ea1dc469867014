/**
 * Which TypeScript loader a weft worker thread or child process gets when it must load .ts
 * modules (weft's own sources, or a task module ending in .ts).
 *
 * By default tsx, the loader weft's users run TypeScript with: a child process gets
 * `--import tsx`; a worker thread imports `tsx/esm/api` and calls its `register()` (on Node 20 a
 * Worker inherits no hooks, and its entry would load before an `--import` took effect).
 *
 * `WEFT_TS_LOADER`, when set, names another one: a module URL or absolute path whose import
 * registers the loader (it must work both as `--import` and as `import()` in a fresh worker).
 * weft's own test runs set it to scripts/ts-loader/register.mjs, which costs a process or worker
 * far less CPU than tsx on Node 20 (see that file).
 *
 * A worker or child process started without the loader (nothing it knew of at its start was
 * TypeScript) still gets its description, and registers it the first time it must import a .ts
 * module: a pool's task submitted later, a Barrier's action. A thread that never meets one pays
 * nothing for it.
 */
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { describeError, WeftError } from './errors.js';
import { resolveFromWeft } from './from-weft.js';

export const ENV_TS_LOADER = 'WEFT_TS_LOADER';

/** How to give a new thread or process the loader. */
export interface TsLoader {
  /** The module a child process gets with `--import`. */
  readonly importFlag: string;
  /**
   * The code of a worker's boot script (an expression, a Promise) that registers the loader
   * before anything else is imported.
   */
  readonly workerRegistration: string;
  /** The same, as data a worker keeps in case it meets a .ts module later. */
  readonly worker: WorkerTsLoader;
}

/** How a worker registers the loader: import `url`, then call its `register()` if `register`. */
export interface WorkerTsLoader {
  readonly url: string;
  readonly register: boolean;
}

/** The file names the loader is needed for. */
export const TS_MODULE = /\.(c|m)?tsx?$/;

function registration(w: WorkerTsLoader): string {
  const load = `import(${JSON.stringify(w.url)})`;
  return w.register ? `${load}.then((m) => (m.register ?? m.default.register)())` : load;
}

let cached: TsLoader | null | undefined;
let cachedFrom: string | undefined;

function resolveInCwd(specifier: string): string {
  return pathToFileURL(createRequire(`${process.cwd()}/`).resolve(specifier)).href;
}

function custom(spec: string): TsLoader {
  const url = isAbsolute(spec) ? pathToFileURL(spec).href : spec;
  const worker = { url, register: false };
  return { importFlag: url, workerRegistration: registration(worker), worker };
}

function tsx(): TsLoader | null {
  let main: string;
  let api: string;
  try {
    main = resolveFromWeft('tsx');
    api = resolveFromWeft('tsx/esm/api');
  } catch {
    try {
      main = resolveInCwd('tsx');
      api = resolveInCwd('tsx/esm/api');
    } catch {
      return null;
    }
  }
  const worker = { url: api, register: true };
  return { importFlag: main, workerRegistration: registration(worker), worker };
}

/** The loader, or null when none can be found. */
export function findTsLoader(): TsLoader | null {
  const spec = process.env[ENV_TS_LOADER] || undefined;
  if (cached !== undefined && cachedFrom === spec) return cached;
  cachedFrom = spec;
  cached = spec ? custom(spec) : tsx();
  return cached;
}

/** The loader, or the error a caller throws when `what` must load TypeScript and none exists. */
export function requireTsLoader(what: 'worker' | 'child process'): TsLoader {
  const loader = findTsLoader();
  if (loader === null) {
    throw new WeftError(
      `A ${what} must load TypeScript modules, but tsx cannot be found: install it (npm i -D tsx) or run the compiled JavaScript`,
      'ERR_WEFT_NO_TS_LOADER',
    );
  }
  return loader;
}

/** This thread's loader: registered, still to register, or none to be had (null: not read yet). */
let own: { loader: WorkerTsLoader | null; on: Promise<void> | null } | null = null;

/**
 * A child process's loader, as its parent described it in the boot message (a child runs on its
 * own main thread, which has no workerData): `on` when the child was started with it.
 */
export function adoptTsLoader(loader: WorkerTsLoader | null, on: boolean): void {
  own = { loader, on: on ? Promise.resolve() : null };
}

/** Where this code runs, for messages. */
function here(): string {
  return isMainThread ? 'this process' : 'this worker thread';
}

/**
 * Node's errors for a .ts module it cannot load by itself: no type stripping (Node 20), or
 * TypeScript that stripping cannot remove (an enum), or a module under node_modules.
 */
const NO_TS_CODES = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
]);

/**
 * Why `url`, a .ts module, could not be imported here, when this thread has no loader to register
 * and `err` (what the import threw) is Node's refusal of TypeScript; null otherwise (a module that
 * Node loaded by stripping its types, or that a loader of the thread loaded, and that failed for
 * its own reason): what a task's "cannot load" error says, with what to do.
 */
export function missingTsLoader(url: string, err: unknown): string | null {
  if (!TS_MODULE.test(url) || ownLoader().loader !== null) return null;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string' || !NO_TS_CODES.has(code)) return null;
  return `${url} is TypeScript, and ${here()} has no TypeScript loader to register: none was found when it started (tsx cannot be found from weft or the working directory, and ${ENV_TS_LOADER} is not set). Install tsx (npm i -D tsx), set ${ENV_TS_LOADER} to a loader's module, or run the compiled JavaScript`;
}

/**
 * What a weft worker's parent passed in its workerData (worker/protocol.ts), read on first need
 * rather than as the worker boots, whose start is measured. A thread that is no weft worker (the
 * main thread, a Worker of the program's own) has nothing to register.
 */
function ownLoader(): { loader: WorkerTsLoader | null; on: Promise<void> | null } {
  if (own !== null) return own;
  const d = isMainThread ? undefined : (workerData as { tsLoader?: unknown; tsLoaderOn?: unknown });
  const l = d?.tsLoader as WorkerTsLoader | null | undefined;
  const known = typeof l === 'object' && l !== null && typeof l.url === 'string';
  own = {
    loader: known ? l : null,
    on: d?.tsLoaderOn === true ? Promise.resolve() : null,
  };
  return own;
}

/**
 * Waits until `url` can be imported as far as the loader goes: for a .ts module in a worker
 * started without the loader, registers it, once. Null when there is nothing to wait for, so that
 * a JavaScript module's import takes no extra turn.
 */
export function beforeImport(url: string): Promise<void> | null {
  if (!TS_MODULE.test(url)) return null;
  const o = ownLoader();
  if (o.loader === null) return null;
  const w = o.loader;
  if (o.on === null) {
    o.on = import(w.url).then(
      (m: { register?: () => void; default?: { register?: () => void } }) => {
        if (w.register) (m.register ?? m.default?.register)?.();
      },
    );
  }
  return o.on.catch((e: unknown) => {
    // The loader's own error in the message: across a thread or a process, a cause's cause is
    // easy to miss.
    throw new WeftError(
      `The TypeScript loader ${w.url} failed to register in ${here()} (${describeError(e)}), which needed it to import ${url}: fix or reinstall the loader (tsx, or the module ${ENV_TS_LOADER} names), or run the compiled JavaScript`,
      'ERR_WEFT_TS_LOADER',
      { cause: e },
    );
  });
}
