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
process.setSourceMapsEnabled(true);
process.env.WEFT_TS_LOADER ??= import.meta.url;
