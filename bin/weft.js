#!/usr/bin/env node
// The `weft` command. In a checkout of the repository (src/ present, tsx installed as a
// devDependency) it runs the TypeScript sources through tsx's ESM loader, because the lessons and
// the benchmarks are .ts files and `weft/<module>` must resolve to src/ (tsconfig `paths`). In a
// published install only dist/ exists: it runs the compiled CLI, which says that the tour and
// the benchmarks need a checkout with tsx. WEFT_TS_LOADER, when set, names the loader to register
// instead of tsx (a module whose import registers it), as for weft's workers and child processes
// (src/internal/ts-loader.ts): weft's own test runs set it to scripts/ts-loader/register.mjs.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = new URL('../', import.meta.url);
const source = new URL('src/cli/main.ts', root);
const compiled = new URL('dist/cli/main.js', root);

async function loadTsx() {
  const other = process.env.WEFT_TS_LOADER;
  if (other) {
    await import(other.startsWith('/') ? pathToFileURL(other).href : other);
    return { register() {} };
  }
  try {
    return await import('tsx/esm/api');
  } catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

const tsx = existsSync(source) ? await loadTsx() : null;
let entry;
if (tsx) {
  tsx.register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  entry = source;
} else if (existsSync(compiled)) {
  entry = compiled;
} else {
  process.stderr.write(
    'weft: cannot start: neither the sources with tsx (a checkout after `npm ci`) nor a build ' +
      '(dist/, `npm run build`) are present.\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv, { typescript: tsx !== null });
