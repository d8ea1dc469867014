// What the TypeScript loader of weft's own test runs (register.mjs) makes of a .ts file, and where
// it keeps it. The cache is keyed by the file's name and content, the Node version (esbuild's
// target) and these options, so a cached result can never belong to another version of the file:
// no modification times to trust. The name, not the whole path: the source map names the file
// relative to itself, so the same file written afresh into another scratch directory (a doc
// example, a lesson of the CLI tests) is the same transform, and no process spawns esbuild for it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url);
export const CACHE_DIR = join(new URL('.cache/ts-loader/', ROOT).pathname);

// As tsx transforms (its target, names kept for classes and functions, source maps), with the
// emit-affecting options of tsconfig.json spelt out, since esbuild reads no tsconfig here.
export const options = (path) => ({
  loader: 'ts',
  format: 'esm',
  target: `node${process.versions.node}`,
  sourcemap: 'inline',
  sourcesContent: false,
  keepNames: true,
  sourcefile: basename(path),
  tsconfigRaw: {
    compilerOptions: {
      verbatimModuleSyntax: true,
      useDefineForClassFields: true,
      target: 'ES2022',
    },
  },
});

const VERSION = '2';

export function cachePath(path, source) {
  const h = createHash('sha1');
  h.update(`${VERSION}\0${process.versions.node}\0${basename(path)}\0`);
  h.update(source);
  return join(CACHE_DIR, `${h.digest('hex')}.js`);
}

export function readCached(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Writes by rename, so that a process reading the file at the same time sees all of it or none. */
export function writeCached(file, code) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
}
