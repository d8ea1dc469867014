// The TypeScript loader of weft's own test runs: `node --import ./scripts/ts-loader/register.mjs`.
//
// tsx does the same work for the suite, but every Node process and worker thread it starts costs
// some 0.35 s of CPU more than a plain one on Node 20 (its hooks thread loads tsx's whole bundle),
// and the suite starts hundreds: each test file, each child process and pool worker of a test.
// This loader does only what the repository needs (.ts files that import neighbours as .js, and
// tsconfig.json's `weft/*` paths) and reads transforms that run-tests.mjs made beforehand
// (prebuild.mjs). weft's workers and child processes load it in their turn through
// WEFT_TS_LOADER (src/internal/ts-loader.ts). Users keep tsx: nothing here is published.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
// Stack traces name .ts lines through each transform's inline source map, but only where they are
// read: Node 20 decodes a module's map as the module loads (pinned, a process that loads
// weft/multiprocessing took 290 ms of CPU with the maps and 273 ms without), and the children and
// workers of the test files are many. So run-tests.mjs gives those this module as
// `register.mjs?maps=0`, and a test file's own process, whose failed assertions are what one
// reads, keeps the maps.
if (new URL(import.meta.url).searchParams.get('maps') !== '0') process.setSourceMapsEnabled(true);
process.env.WEFT_TS_LOADER ??= import.meta.url;
