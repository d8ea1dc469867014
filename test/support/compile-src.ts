/**
 * weft's TypeScript sources compiled to JavaScript modules with esbuild (no bundling: one .js per
 * .ts, under `out`/src), for the tests of weft run as compiled JavaScript.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/**
 * Compiles the `.ts` files `files` (paths under `srcDir`, the repository's src/) into `out`/src.
 * The caller names its src/: a suite run may load this module from its JavaScript mirror
 * (scripts/ts-loader/mirror.mjs), whose src/ is not where the caller's files are.
 */
export function compileSrc(files: string[], out: string, srcDir: string): void {
  const built = spawnSync(
    join(root, 'node_modules', '.bin', 'esbuild'),
    [
      ...files,
      `--outdir=${join(out, 'src')}`,
      `--outbase=${srcDir}`,
      '--format=esm',
      '--platform=node',
      '--log-level=error',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(built.status, 0, built.stderr);
}
