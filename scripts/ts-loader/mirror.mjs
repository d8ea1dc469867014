// The JavaScript mirror of the checkout that the suite's children and workers run (WEFT_TS_MIRROR).
//
// Why: on Node 20 a process or worker thread that registers module hooks starts a hooks thread,
// and each of its imports then makes a round trip to it: some 155 ms of CPU more than plain
// JavaScript for a child that loads weft/multiprocessing, and a suite run starts some 1,500
// children and workers. So every .ts file of src/, test/, examples/ and bench/ is also written, as
// its transform, to a .js file of a mirror tree; the loader's resolve hook sends every import of
// such a file there; and a child whose modules are all .js starts without any loader (weft gives
// one only to a child that must import TypeScript: src/internal/ts-loader.ts).
//
// The tree: `.cache/js/<key>/`, where <key> names the transforms it holds, so a run never sees
// another checkout state's files, and two runs of the same tree share one. In the mirrored
// directories each .ts has its .js beside a link to the .ts itself, and every other file is a link
// to its original; every other entry of the root is a link, but package.json, whose exports name
// the mirror's src/ (`weft/asyncio` from a mirrored file is these sources, as the loader has it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { options, ROOT, readCached } from './transform.mjs';

/** The directories whose .ts files prebuild.mjs transforms and the mirror holds as .js. */
export const MIRRORED = ['src', 'test', 'examples', 'bench'];

/** The mirror's name for a .ts (or .mts) path or URL: its .js (.mjs). */
export function jsName(ts) {
  return ts.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs');
}
const MIRRORS = join(new URL('.cache/js/', ROOT).pathname);
const BUNDLER = new URL('scripts/bundle-dist.mjs', ROOT).pathname;
/** Whether the mirror's src/ is bundled (bundleSrc). */
const BUNDLED = process.env.WEFT_TEST_BUNDLE !== '0';
/**
 * A mirror not used for this long goes (12 MB each, one per state of the tree a run has seen): a
 * run's own mirror is in use for minutes, not hours.
 */
const KEEP_MS = 3600 * 1000;

/** `transforms`: source path → its cached transform's file. Returns the mirror's directory. */
export function buildMirror(transforms) {
  const root = new URL('.', ROOT).pathname;
  // The key covers what a mirror copies (the transforms, package.json) and what it links to (every
  // name of the root and of the mirrored directories): a file added since is a new mirror.
  const h = createHash('sha1');
  for (const [path, file] of [...transforms].sort()) h.update(`${relative(root, path)}\0${file}\0`);
  h.update(readFileSync(join(root, 'package.json')));
  // A bundled mirror and a plain one of the same tree are two mirrors; so is one bundled by
  // another version of the bundling script or of esbuild (the lockfile).
  if (BUNDLED) {
    h.update('bundled\0');
    h.update(readFileSync(BUNDLER));
    h.update(readFileSync(join(root, 'package-lock.json')));
  }
  for (const entry of readdirSync(root).sort()) {
    h.update(`${entry}\0`);
    if (MIRRORED.includes(entry) && statSync(join(root, entry)).isDirectory())
      for (const name of names(join(root, entry))) h.update(`${name}\0`);
  }
  const key = h.digest('hex').slice(0, 16);
  const dir = join(MIRRORS, key);
  if (existsSync(join(dir, '.complete'))) {
    const now = new Date();
    utimesSync(dir, now, now);
    prune(key);
    return dir;
  }
  // Built aside, then renamed: a run sees a whole mirror or none.
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const entry of readdirSync(root)) {
    if (entry === '.git' || entry === '.cache') continue;
    const from = join(root, entry);
    if (MIRRORED.includes(entry) && statSync(from).isDirectory())
      mirrorDir(from, join(tmp, entry), transforms);
    else if (entry === 'package.json') writeFileSync(join(tmp, entry), mirroredPackage(from));
    else symlinkSync(from, join(tmp, entry));
  }
  if (BUNDLED) bundleSrc(tmp, transforms);
  writeFileSync(join(tmp, '.complete'), '');
  try {
    renameSync(tmp, dir);
  } catch {
    // Another run made the same mirror first.
    rmSync(tmp, { recursive: true, force: true });
  }
  prune(key);
  return dir;
}

/**
 * The mirror's src/ put into bundles as `npm run build` puts dist/ (scripts/bundle-dist.mjs), and
 * why: a child process or worker that loads weft/multiprocessing from one .js per module spent
 * some 55 ms of CPU more resolving, reading and compiling them than from the bundles (a child
 * started by a test, 205 against 150 ms), and the suite starts well over a thousand. The
 * tests then also run weft laid out as its users get it. test/ and examples/ stay one file per
 * module; their imports of src/ reach the facades, which keep every module's path and instance.
 *
 * Bundled from transforms without keepNames, as dist/ is from tsc's output: the bundle names
 * classes and functions once, with the one `__name` helper that bundle-dist.mjs mends; the
 * per-module helpers of keepNames transforms would come out renamed (`__name2`), which breaks code
 * run from a function's source (the sync client thread of broker-sync.ts).
 *
 * A tree the bundling fails on (a module esbuild cannot parse, a layer rule broken: the build
 * fails the same way) gets its src/ one file per module again, and a line saying so.
 * WEFT_TEST_BUNDLE=0 asks for that mirror from the start.
 */
function bundleSrc(tmp, transforms) {
  const root = new URL('.', ROOT).pathname;
  const srcDir = join(root, 'src');
  // Required here, not imported above: the loader's hooks import this module for its names.
  const { transformSync } = createRequire(import.meta.url)('esbuild');
  for (const [path] of transforms) {
    if (!path.startsWith(`${srcDir}/`)) continue;
    const out = jsName(join(tmp, relative(root, path)));
    try {
      const code = transformSync(readFileSync(path, 'utf8'), {
        ...options(path),
        keepNames: false,
      });
      writeFileSync(out, code.code);
    } catch {
      // Left to fail where it is imported (prebuild.mjs made no transform of it either).
    }
  }
  const r = spawnSync(process.execPath, [BUNDLER, tmp, '--dir', 'src'], { encoding: 'utf8' });
  if (r.status === 0) return;
  process.stderr.write(
    `ts-loader: the mirror's src/ could not be bundled, so the tests load it one file per module (slower):\n${r.stderr || r.stdout}\n`,
  );
  rmSync(join(tmp, 'src'), { recursive: true, force: true });
  mirrorDir(srcDir, join(tmp, 'src'), transforms);
}

function names(dir) {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

function mirrorDir(from, to, transforms) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules') symlinkSync(src, dst);
      else mirrorDir(src, dst, transforms);
      continue;
    }
    symlinkSync(src, dst);
    const file = transforms.get(src);
    if (file === undefined) continue;
    const code = readCached(file);
    if (code !== undefined) writeFileSync(jsName(dst), code);
  }
}

function mirroredPackage(path) {
  const pkg = JSON.parse(readFileSync(path, 'utf8'));
  for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
    const name = sub === '.' ? 'index' : `${sub.slice(2)}/index`;
    if (target && typeof target === 'object')
      pkg.exports[sub] = { ...target, default: `./src/${name}.js` };
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function prune(keep) {
  const before = Date.now() - KEEP_MS;
  for (const name of readdirSync(MIRRORS)) {
    if (name === keep) continue;
    const p = join(MIRRORS, name);
    try {
      if (statSync(p).mtimeMs < before) rmSync(p, { recursive: true, force: true });
    } catch {}
  }
}
