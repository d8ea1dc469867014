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
 */
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WeftError } from './errors.js';

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
}

let cached: TsLoader | null | undefined;
let cachedFrom: string | undefined;

function resolveInCwd(specifier: string): string {
  return pathToFileURL(createRequire(`${process.cwd()}/`).resolve(specifier)).href;
}

function custom(spec: string): TsLoader {
  const url = isAbsolute(spec) ? pathToFileURL(spec).href : spec;
  return {
    importFlag: url,
    workerRegistration: `import(${JSON.stringify(url)})`,
  };
}

function tsx(): TsLoader | null {
  let main: string;
  let api: string;
  try {
    main = import.meta.resolve('tsx');
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    try {
      main = resolveInCwd('tsx');
      api = resolveInCwd('tsx/esm/api');
    } catch {
      return null;
    }
  }
  return {
    importFlag: main,
    workerRegistration: `import(${JSON.stringify(api)}).then((m) => (m.register ?? m.default.register)())`,
  };
}

/** The loader, or null when none can be found. */
function findTsLoader(): TsLoader | null {
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
