// The module hooks of register.mjs (they run on Node's hooks thread).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsName, MIRRORED } from './mirror.mjs';
import { cachePath, options, ROOT, readCached, writeCached } from './transform.mjs';

const src = new URL('src/', ROOT).href;
let esbuild;

// The JavaScript mirror of this checkout (mirror.mjs), when run-tests.mjs made one: a .ts file of
// a mirrored directory is imported as its mirror's .js, so that the modules of a process are the
// mirror's whether it loaded them through these hooks or, as a child started without a loader, by
// itself (one copy of each module per process).
const MIRROR = process.env.WEFT_TS_MIRROR
  ? new URL(`${process.env.WEFT_TS_MIRROR}/`, 'file:///').href
  : null;
const MIRRORED_HREFS = MIRRORED.map((d) => new URL(`${d}/`, ROOT).href);
const rootHref = ROOT.href;

function mirrored(tsHref) {
  if (
    MIRROR === null ||
    !/\.m?ts$/.test(tsHref) ||
    !MIRRORED_HREFS.some((d) => tsHref.startsWith(d))
  )
    return null;
  const js = `${MIRROR}${jsName(tsHref.slice(rootHref.length))}`;
  return existsSync(new URL(js)) ? js : null;
}

// NodeNext style: a .ts file imports its neighbours as .js, which TypeScript resolves to the .ts
// file when there is one (a query or hash stays on the URL). One stat per import, the .ts's.
function asTs(url) {
  if (!url.pathname.endsWith('.js')) return null;
  const ts = new URL(url);
  ts.pathname = `${url.pathname.slice(0, -3)}.ts`;
  return existsSync(ts) ? ts.href : null;
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  // As tsx: for every importer outside node_modules, this repository's files or a lesson's.
  if (parent?.startsWith('file:') && !parent.includes('/node_modules/')) {
    // A mirror's module imports its neighbours as Node would without hooks. A mirrored .ts file
    // imported by a path written in code (`./x.ts`, `${root}src/x.ts`) is its mirror's .js too,
    // so that a process never holds two copies of a module (one with a query, `x.ts?copy=1`, is
    // such a copy on purpose, and stays the .ts). A file: URL stays what it names: that is how
    // weft's threads and children import a task's module, which may be a program's own .ts entry
    // (loaded as itself, never from the mirror).
    if (
      MIRROR !== null &&
      (parent.startsWith(MIRROR) || (/\.m?ts$/.test(specifier) && !specifier.startsWith('file:')))
    ) {
      const r = await next(specifier, context);
      const m = specifier.startsWith('file:') ? null : mirrored(r.url);
      return m === null ? r : { url: m, format: 'module', shortCircuit: true };
    }
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      const ts = asTs(new URL(specifier, parent));
      if (ts) return { url: mirrored(ts) ?? ts, format: 'module', shortCircuit: true };
    } else if (specifier === 'weft' || specifier.startsWith('weft/')) {
      // tsconfig.json's paths: weft is this checkout's sources, not dist/ (one copy of weft).
      const sub = specifier === 'weft' ? 'index.ts' : `${specifier.slice(5)}/index.ts`;
      const url = new URL(sub, src);
      if (existsSync(url))
        return { url: mirrored(url.href) ?? url.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  // A query (`errors.ts?copy=1`, for a second instance of a module) is no part of the file.
  if (url.startsWith('file:') && /\.m?ts$/.test(new URL(url).pathname)) {
    const path = fileURLToPath(url);
    const source = readFileSync(path, 'utf8');
    const file = cachePath(path, source);
    let code = readCached(file);
    if (code === undefined) {
      esbuild ??= await import('esbuild');
      try {
        code = esbuild.transformSync(source, options(path)).code;
      } catch (err) {
        // esbuild names the file by its name alone (options()): say where it is.
        throw new SyntaxError(`${path}: ${err.message}`);
      }
      writeCached(file, code);
    }
    return { format: 'module', source: code, shortCircuit: true };
  }
  return next(url, context);
}
