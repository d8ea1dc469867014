/**
 * The TypeScript loader for a Node process or worker a test starts itself: the one this test runs
 * under. `npm test` runs the suite under scripts/ts-loader/register.mjs, which names itself in
 * WEFT_TS_LOADER; a test file run alone with `node --import tsx --test` falls back to tsx.
 */
const own = process.env.WEFT_TS_LOADER || undefined;

/** For `--import`: `[process.execPath, '--import', TS_IMPORT, file]`. */
export const TS_IMPORT: string = own ?? 'tsx';

/**
 * A module URL for a worker's eval'd script to import and then call `register` of, if it has one
 * (`const m = await import(url); m.register?.()`): tsx's API needs the call, weft's test loader
 * registers as it is imported.
 */
export const TS_WORKER_LOADER: string = own ?? import.meta.resolve('tsx/esm/api');
