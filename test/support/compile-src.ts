/**
 * weft's TypeScript sources compiled to JavaScript modules with esbuild (no bundling: one .js per
 * .ts, under `out`/src), for the tests of weft run as compiled JavaScript.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** Compiles the `.ts` files `files` (paths under the repository's src/) into `out`/src. */
export function compileSrc(files: string[], out: string): void {
  const built = spawnSync(
    join(root, 'node_modules', '.bin', 'esbuild'),
    [
      ...files,
      `--outdir=${join(out, 'src')}`,
      `--outbase=${join(root, 'src')}`,
      '--format=esm',
      '--platform=node',
      '--log-level=error',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(built.status, 0, built.stderr);
}
