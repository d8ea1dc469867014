// Transforms every .ts file of the repository that the loader's cache lacks, all at once (esbuild's
// asynchronous API, one service): run-tests.mjs calls it before the first test file starts, so
// that no test process pays for a transform.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { cachePath, options, ROOT, writeCached } from './transform.mjs';

const DIRS = ['src', 'test', 'examples', 'bench'];

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
  const files = DIRS.flatMap((d) => walk(new URL(`${d}/`, ROOT).pathname, []));
  let made = 0;
  await Promise.all(
    files.map(async (path) => {
      const source = readFileSync(path, 'utf8');
      const file = cachePath(path, source);
      if (existsSync(file)) return;
      // A file esbuild cannot parse is left to fail where it is imported, with its own message.
      try {
        writeCached(file, (await transform(source, options(path))).code);
        made++;
      } catch {}
    }),
  );
  return { files: files.length, made };
}
