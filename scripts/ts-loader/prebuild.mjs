// Transforms every .ts file of the repository that the loader's cache lacks, all at once (esbuild's
// asynchronous API, one service): run-tests.mjs calls it before the first test file starts, so
// that no test process pays for a transform.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { buildMirror, MIRRORED } from './mirror.mjs';
import { CACHE_DIR, cachePath, options, ROOT, writeCached } from './transform.mjs';

/** A transform no file of the tree needs now, and older than this, is removed. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(p, out);
    } else if (/\.m?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

export async function prebuild() {
  const files = MIRRORED.flatMap((d) => walk(new URL(`${d}/`, ROOT).pathname, []));
  let made = 0;
  const wanted = new Set();
  const transforms = new Map();
  await Promise.all(
    files.map(async (path) => {
      const source = readFileSync(path, 'utf8');
      const file = cachePath(path, source);
      wanted.add(file);
      transforms.set(path, file);
      if (existsSync(file)) return;
      // A file esbuild cannot parse is left to fail where it is imported, with its own message.
      try {
        writeCached(file, (await transform(source, options(path))).code);
        made++;
      } catch {}
    }),
  );
  const pruned = prune(wanted);
  return { files: files.length, made, pruned, mirror: buildMirror(transforms) };
}

/**
 * Every edit leaves a transform behind: those of files the tree no longer has, older than
 * KEEP_MS, go (one still wanted by another checkout or Node version is made again if needed).
 */
function prune(wanted) {
  let pruned = 0;
  let names;
  try {
    names = readdirSync(CACHE_DIR);
  } catch {
    return 0;
  }
  const before = Date.now() - KEEP_MS;
  for (const name of names) {
    const file = join(CACHE_DIR, name);
    if (wanted.has(file)) continue;
    try {
      if (statSync(file).mtimeMs < before) {
        unlinkSync(file);
        pruned++;
      }
    } catch {}
  }
  return pruned;
}
