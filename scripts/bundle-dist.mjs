// Runs after `tsc -p tsconfig.build.json` in `npm run build` (`node scripts/bundle-dist.mjs
// [package directory] [--dir src]`, the repository's dist/ by default; the test runs bundle their
// JavaScript mirror's src/ with it too): puts dist/'s ES modules together into a few
// files, so that a process or thread that loads weft opens, resolves and compiles tens of files
// instead of a hundred (most of a child process's start was Node loading weft's files one by one:
// docs/multiprocessing.md).
//
// Every dist file keeps its path and its exports: it becomes a facade, one line re-exporting its
// names from the bundle that holds its code, so that every URL of it (an import, a worker's or a
// child's module list, import.meta.url handed to a registry) reaches one instance of the module.
// Each module's code keeps its own import.meta.url (the facade's URL, computed from the bundle's).
// A bundle imports what it needs of another bundle from that bundle, not through facades.
//
// Which modules share a bundle: those reached from the same set of entry points. An entry point is
// a file that may be loaded by URL rather than through a static import: the package's exports, a
// file nobody imports (a worker's or a child's bootstrap and roles, the CLI), the target of an
// `import()` (kept lazy), a file that hands its own URL on (task(import.meta, …)); the modules that
// register shared kinds count as one entry per package (see `registries`). Loading an entry then
// evaluates the modules it did before, all of a bundle or none of it: a thread that imports
// weft/threading does not evaluate weft/multiprocessing's code, nor a child process threading's
// primitives. The exception is the layers (see `layers`): weft's own plumbing, each layer one
// bundle whichever entries reach its modules. Two bundles never import each other both ways (if
// each reached the other, their modules would have the same entries and be one bundle; a layer
// imports only layers). Within a bundle, modules run in the order Node ran them (depth first
// from the entries, in import order).
//
// Left as tsc wrote them: .cjs files and modules with `export *` (their names are not known until
// the module they re-export is loaded). A module that is a group of its own keeps its file and its
// code, its imports of bundled modules pointed at their bundles.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

// The package to bundle: this repository, or the directory named (a copy that a test built).
// `--dir src` bundles <package>/src/ instead of dist/: the JavaScript mirror that the test runs
// load (scripts/ts-loader/mirror.mjs), whose package.json exports name src/.
const args = process.argv.slice(2);
const dirAt = args.indexOf('--dir');
const dirName = dirAt === -1 ? 'dist' : args.splice(dirAt, 2)[1];
if (dirName === undefined || dirName === '' || dirName.includes('/')) {
  throw new Error('bundle-dist: --dir takes the name of a directory of the package (dist, src)');
}
const root = path.resolve(args[0] ?? fileURLToPath(new URL('../', import.meta.url)));
const dist = path.join(root, dirName);
const outDir = path.join(dist, '_bundle');
const MARK = '// weft: facade of';
const rel = (f) => path.relative(root, f).split(path.sep).join('/');

// esbuild's `keepNames` renames each function and class with `__name`, a defineProperty of
// its `name`. On a class V8 takes that for a reconfiguration: the class object leaves fast mode
// for good (dictionary properties), and every `instanceof` of it, or load of a static member, is
// then a slow lookup (an `instanceof Task` went from ~1.5 ns to ~17 ns in the dist build; the
// tests, which run src/, never see it). Two mends, in the helper every bundle defines:
// - a name that is right already (`var Lock = class { … }` is named Lock by the language) is
//   left alone: nothing is redefined;
// - a name that must change (`var Task = class _Task`, which esbuild writes for a class that
//   names itself inside) is set, then the class is made fast again by using it as a prototype in
//   a lookup, as V8 does to every object that becomes a prototype (built-package.test.ts checks
//   every export with %HasFastProperties, so a V8 that stops doing so fails the tests).
// The helper stays one line, so that the bundle's source map keeps its lines.
const NAME_HELPER =
  'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
const FAST_NAME_HELPER =
  'var __name = (target, value) => { if (target.name !== value) { __defProp(target, "name", { value, configurable: true }); const lookup = Object.create(target); for (let i = 0; i < 2; i++) lookup.__weftNoSuchName; } return target; };';

function keepClassesFast(file) {
  const code = readFileSync(file, 'utf8');
  if (!code.includes('__name(')) return;
  if (!code.includes(NAME_HELPER)) {
    throw new Error(
      `${rel(file)}: esbuild's __name helper is not the one scripts/bundle-dist.mjs mends (a new esbuild?): update NAME_HELPER, or every class keepNames renames stays slow`,
    );
  }
  writeFileSync(file, code.replace(NAME_HELPER, FAST_NAME_HELPER));
}

function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p !== outDir) out.push(...jsFiles(p));
    } else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

// A file of dist/ whose source is gone from src/ (a module deleted or renamed since an earlier
// build: tsc does not remove its output) goes, with its declarations and maps. Left, it would be
// bundled (an entry nobody imports), fail the build if it imports a module that is gone too, or,
// a facade of the earlier bundling, stop every later build as "bundled before". A package
// directory without src/ (a copy that a test built from this repository's) is not checked.
const srcDir = path.join(root, 'src');
if (dirName === 'dist' && existsSync(srcDir)) {
  const stale = [];
  for (const f of jsFiles(dist)) {
    const stem = path.join(srcDir, path.relative(dist, f)).slice(0, -'.js'.length);
    if (['.ts', '.tsx', '.js', '.jsx'].some((e) => existsSync(stem + e))) continue;
    const out = f.slice(0, -'.js'.length);
    for (const x of ['.js', '.js.map', '.d.ts', '.d.ts.map']) rmSync(out + x, { force: true });
    stale.push(rel(f));
  }
  if (stale.length > 0) {
    process.stdout.write(`bundle-dist: removed ${stale.join(', ')} (no source in src/)\n`);
  }
}

const files = jsFiles(dist).sort();
const source = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
for (const [f, s] of source) {
  if (s.startsWith(MARK)) {
    throw new Error(
      `${path.relative(root, f)} is already a facade: dist/ was bundled before. Run tsc -p tsconfig.build.json (npm run build) first`,
    );
  }
}
rmSync(outDir, { recursive: true, force: true });

// One pass of esbuild over every file: the import graph and each module's export names.
const scan = await esbuild.build({
  absWorkingDir: root,
  entryPoints: files,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  packages: 'external',
  outdir: path.join(root, '.bundle-scan'),
  write: false,
  metafile: true,
  logLevel: 'silent',
});
const abs = (r) => path.join(root, r);
const staticImports = new Map();
const dynamicTargets = new Set();
for (const f of files) {
  const input = scan.metafile.inputs[rel(f)];
  const deps = [];
  for (const imp of input?.imports ?? []) {
    if (imp.external || !imp.path.endsWith('.js')) continue;
    if (imp.kind === 'dynamic-import') dynamicTargets.add(abs(imp.path));
    else if (imp.kind === 'import-statement') deps.push(abs(imp.path));
  }
  staticImports.set(f, deps);
}
const exportsOf = new Map();
for (const out of Object.values(scan.metafile.outputs)) {
  if (out.entryPoint !== undefined) exportsOf.set(abs(out.entryPoint), out.exports);
}

/**
 * Whether `f` hands its own URL to someone who may import it later (a shared kind's registry:
 * a worker or a child imports that module before it decodes anything). Reading its own URL to
 * find a neighbour or an addon does not count. Read without comments (esbuild drops them).
 */
function givesOwnUrl(f) {
  const code = esbuild
    .transformSync(source.get(f), { loader: 'js' })
    // Nor does a message that shows `task(import.meta, fn)`.
    .code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""')
    .replace(/createRequire\(import\.meta\.url\)/g, '')
    .replace(/import\.meta\.url\.endsWith\(/g, '')
    .replace(/new URL\([^;]*?import\.meta\.url\)/g, '');
  return /\bimport\.meta\b/.test(code);
}

// Entry points: whatever may be loaded by URL rather than through a static import.
const imported = new Set([...staticImports.values()].flat());
const entries = files.filter(
  (f) =>
    !imported.has(f) ||
    dynamicTargets.has(f) ||
    /^export \*/m.test(source.get(f)) ||
    givesOwnUrl(f),
);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const target of Object.values(pkg.exports)) {
  const t = typeof target === 'object' && target !== null ? target.default : target;
  if (typeof t === 'string' && t.endsWith('.js')) entries.push(abs(t));
}

/**
 * The modules that register shared kinds are loaded together, never one alone: a package's index
 * registers all of its kinds, and a worker imports every module its parent registered, a child
 * process those of `processModules()` (src/internal/serialize.ts). Each package's such modules
 * count as one entry (one per package for those a child loads, one for those only a thread
 * does), so that they and what only they reach share bundles instead of one per combination.
 * Learnt from the built package itself, imported here once, as a program would.
 */
const registries = new Map();
{
  await import(pathToFileURL(path.join(dist, 'index.js')).href);
  const serialize = await import(pathToFileURL(path.join(dist, 'internal/serialize.js')).href);
  const preloaded = new Set(serialize.processModules());
  for (const url of serialize.sharedModules()) {
    const f = fileURLToPath(url);
    const dir = path.dirname(path.relative(dist, f));
    registries.set(
      f,
      `kinds of ${dir} (${preloaded.has(url) ? 'child processes' : 'threads only'})`,
    );
  }
}
const entryKey = (f) => registries.get(f) ?? rel(f);

// The entries that reach each file, and Node's evaluation order (post-order, depth first).
const reachedBy = new Map(files.map((f) => [f, new Set()]));
const order = [];
const placed = new Set();
function visit(f) {
  if (placed.has(f)) return;
  placed.add(f);
  for (const d of staticImports.get(f) ?? []) visit(d);
  order.push(f);
}
for (const e of new Set(entries)) {
  const seen = new Set();
  const stack = [e];
  while (stack.length > 0) {
    const f = stack.pop();
    if (seen.has(f) || !reachedBy.has(f)) continue;
    seen.add(f);
    reachedBy.get(f).add(entryKey(e));
    stack.push(...staticImports.get(f));
  }
  visit(e);
}
for (const f of files) visit(f);

/**
 * Layers: weft's own plumbing that nearly every entry reaches, each module by a slightly different
 * set of entries, which made each a file of its own (a thread's start loaded some twenty such
 * files). Each layer is one bundle whichever entries reach its modules, so an entry may now
 * evaluate a module of a layer that it did not import. That is why a layer holds only modules whose
 * top level defines and does nothing else a program could tell: no shared kind, nothing that keeps
 * a thread alive; state shared by every copy of weft in the thread (sab-registry.js's unref'd
 * channel too) is under a registered symbol on globalThis, and the rest (scheduler.js's queues,
 * v8-format.js's buffers, serialize.js's host classes) is the module's own, unseen until used.
 * And at most one that does more, its `anchor`, which every entry that evaluates the layer
 * reaches too (one that reaches a module of it, or of a later layer whose bundle imports it:
 * checked below): whoever evaluates the layer evaluated the anchor before. Not in a layer:
 * shm/wait.js (an exit listener in a worker), the registries of shared kinds. A layer imports
 * only itself, the layers before it and modules that import nothing of dist/ (checked below), so
 * that no two bundles import each other; such a module stays a group of its own, so that whoever
 * evaluates it evaluates nothing else (from-weft.js: import.meta.resolve, which a bundled module
 * does not have, for ts-loader.js).
 */
const layers = [
  {
    modules: [
      'internal/errors.js',
      'internal/error-registry.js',
      'internal/wait-options.js',
      'internal/hooks.js',
      'internal/thread-exit.js',
      'internal/thread-executors.js',
      'internal/long-timer.js',
      'internal/live-handles.js',
      'internal/releaser.js',
      'threading/errors.js',
      'threading/typecodes.js',
    ],
  },
  {
    // Makes this thread's shared world, or adopts its parent's.
    anchor: 'internal/shm/world.js',
    modules: [
      'internal/atomics.js',
      'internal/shm/world.js',
      'internal/shm/sab-registry.js',
      'internal/v8-format.js',
      'internal/serialize.js',
      'internal/bundled.js',
      'internal/worker/protocol.js',
      'internal/ts-loader.js',
      'internal/task-ref.js',
      'internal/run-target.js',
      'internal/worker/spawn.js',
    ],
  },
  {
    // Loads the context addon.
    anchor: 'internal/context.js',
    modules: ['internal/context.js', 'internal/scheduler.js', 'internal/dry-loop.js'],
  },
];
const layerOf = new Map();
layers.forEach(({ modules }, li) => {
  for (const m of modules) {
    const f = path.join(dist, m);
    if (!source.has(f)) throw new Error(`bundle-dist: dist/${m}, in layer ${li}, is not in dist/`);
    layerOf.set(f, li);
  }
});
const alone = new Set();
for (const [f, li] of layerOf) {
  if (registries.has(f) || /^export \*/m.test(source.get(f))) {
    throw new Error(
      `bundle-dist: ${rel(f)} cannot be in a layer: it registers shared kinds or re-exports with export *`,
    );
  }
  for (const d of staticImports.get(f)) {
    // A module that imports none of dist/ may stay out, a group of its own (see `alone`).
    if (!layerOf.has(d) && staticImports.get(d).length === 0 && !registries.has(d)) {
      alone.add(d);
      continue;
    }
    if (!(layerOf.get(d) <= li)) {
      throw new Error(
        `bundle-dist: ${rel(f)}, in layer ${li}, imports ${rel(d)}, which is in no layer up to it: add it to one, or take ${rel(f)} out`,
      );
    }
  }
  const anchor = layers[li].anchor;
  const reachAnchor = anchor === undefined ? null : reachedBy.get(path.join(dist, anchor));
  const stray = reachAnchor && [...reachedBy.get(f)].find((e) => !reachAnchor.has(e));
  if (stray) {
    throw new Error(
      `bundle-dist: ${rel(f)}, in layer ${li}, is reached from ${stray}, which does not reach dist/${anchor}: as one bundle, it would evaluate that anchor where it did not before`,
    );
  }
}
// A layer's bundle imports every earlier layer that one of its modules imports, so whoever
// evaluates the layer evaluates those whole too, the modules of them it never reached included:
// the entries that evaluate a layer are those that reach one of its modules and those that
// evaluate a later layer importing it. Each of them must reach the layer's anchor.
const evaluatedBy = layers.map(() => new Map());
const importedLayers = layers.map(() => new Set());
for (const [f, li] of layerOf) {
  for (const e of reachedBy.get(f)) evaluatedBy[li].set(e, null);
  for (const d of staticImports.get(f)) {
    const lk = layerOf.get(d);
    if (lk !== undefined && lk !== li) importedLayers[li].add(lk);
  }
}
for (let li = layers.length - 1; li >= 0; li--) {
  for (const lk of importedLayers[li]) {
    for (const [e, via] of evaluatedBy[li]) {
      if (!evaluatedBy[lk].has(e)) evaluatedBy[lk].set(e, via ?? li);
    }
  }
}
layers.forEach(({ anchor }, li) => {
  if (anchor === undefined) return;
  const reachAnchor = reachedBy.get(path.join(dist, anchor));
  for (const [e, via] of evaluatedBy[li]) {
    if (via === null || reachAnchor.has(e)) continue;
    throw new Error(
      `bundle-dist: ${e} reaches layer ${via}, whose bundle imports layer ${li}, but does not reach dist/${anchor}: it would evaluate that anchor where it did not before`,
    );
  }
});

const groups = new Map();
for (const f of order) {
  const key = layerOf.has(f)
    ? `layer ${layerOf.get(f)}`
    : alone.has(f)
      ? `alone: ${rel(f)}`
      : [...reachedBy.get(f)].sort().join(' | ');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(f);
}
const bundled = [...groups.values()].filter(
  (g) => g.length > 1 && !g.some((f) => /^export \*/m.test(source.get(f))),
);
const groupOf = new Map();
const slot = new Map();
bundled.forEach((g, gi) => {
  g.forEach((f, mi) => {
    groupOf.set(f, gi);
    slot.set(f, `m${mi}$`);
  });
});
const bundleName = (gi) => `b${gi}.js`;
/** `f` as a relative specifier from a bundle. */
function fromBundles(f) {
  const r = path.relative(outDir, f).split(path.sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}
const renamed = (f, name) => `${slot.get(f)}${name}`;
const reexports = (f) =>
  exportsOf
    .get(f)
    .map((n) => `${renamed(f, n)} as ${n}`)
    .join(', ');

for (const [gi, members] of bundled.entries()) {
  const entry = members
    .map((f) =>
      exportsOf.get(f).length === 0
        ? `import ${JSON.stringify(f)};`
        : `export { ${exportsOf
            .get(f)
            .map((n) => `${n} as ${renamed(f, n)}`)
            .join(', ')} } from ${JSON.stringify(f)};`,
    )
    .join('\n');
  const mine = new Set(members);
  await esbuild.build({
    absWorkingDir: root,
    stdin: { contents: entry, resolveDir: dist, sourcefile: `_bundle/entry-${bundleName(gi)}` },
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    // Error classes are found again by name (error-registry.ts): no renaming of classes.
    keepNames: true,
    sourcemap: true,
    outfile: path.join(outDir, bundleName(gi)),
    // Where each module's code is, for a parent that names modules for its child to load
    // first (src/internal/process/spawn.ts): the bundle once, instead of a facade per module.
    banner: {
      js: `const __weftBundleUrl = import.meta.url;\n{\n  const where = (globalThis[Symbol.for('weft.bundledAt')] ??= new Map());\n  for (const m of ${JSON.stringify(members.map(fromBundles))}) where.set(new URL(m, __weftBundleUrl).href, __weftBundleUrl);\n}`,
    },
    define: { 'import.meta.url': '__weftModuleUrl', 'import.meta': '__weftModuleMeta' },
    logLevel: 'warning',
    plugins: [
      {
        name: 'weft-groups',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const target = path.resolve(args.resolveDir, args.path);
            if (args.kind === 'entry-point' || mine.has(target)) return undefined;
            // A module of another bundle: its names straight from that bundle, not its facade.
            if (args.kind === 'import-statement' && groupOf.has(target)) {
              // Relative: the path is named in the bundle's source map, which ships.
              return { path: rel(target), namespace: 'other-bundle' };
            }
            return { path: fromBundles(target), external: true };
          });
          b.onLoad({ filter: /.*/, namespace: 'other-bundle' }, (args) => {
            const f = abs(args.path);
            return {
              contents:
                exportsOf.get(f).length === 0
                  ? `import './${bundleName(groupOf.get(f))}';`
                  : `export { ${reexports(f)} } from './${bundleName(groupOf.get(f))}';`,
              resolveDir: outDir,
            };
          });
          b.onLoad({ filter: /\.js$/ }, (args) => {
            if (!mine.has(args.path)) return undefined;
            const s = source.get(args.path);
            const url = fromBundles(args.path);
            // A bundled module's import.meta has only `url` (see `define`): import.meta.resolve,
            // .dirname or .filename would be undefined there, so the build stops instead.
            const other = esbuild
              .transformSync(s, { loader: 'js' })
              .code.match(/\bimport\.meta\.(?!url\b)[\w$]+|\bimport\.meta\s*\[/);
            if (other !== null) {
              throw new Error(
                `${rel(args.path)} uses ${other[0]}, which a bundled module does not have: use import.meta.url, or make the module a group of its own`,
              );
            }
            const own = /\bimport\.meta\b/.test(s)
              ? `const __weftModuleUrl = new URL(${JSON.stringify(url)}, __weftBundleUrl).href; const __weftModuleMeta = { url: __weftModuleUrl };`
              : '';
            return { contents: own + s, loader: 'js' };
          });
        },
      },
    ],
  });
  keepClassesFast(path.join(outDir, bundleName(gi)));
}

for (const [gi, members] of bundled.entries()) {
  for (const f of members) {
    const from = path.relative(path.dirname(f), path.join(outDir, bundleName(gi)));
    const spec = JSON.stringify(from.startsWith('.') ? from : `./${from}`);
    const names = exportsOf.get(f);
    const line =
      names.length === 0 ? `import ${spec};` : `export { ${reexports(f)} } from ${spec};`;
    writeFileSync(f, `${MARK} ${path.basename(f)}: its code is in ${bundleName(gi)}\n${line}\n`);
    if (existsSync(`${f}.map`)) rmSync(`${f}.map`);
  }
}
// A module left alone keeps its file and its code, but imports what a bundle holds from that
// bundle, as a bundle does: through the facade, each such import costs a loader one more file to
// resolve, read and link (a thread's start went through five facades so). The names are the ones
// the facade re-exports, so the bindings are the same ones.
let direct = 0;
for (const f of files) {
  if (groupOf.has(f) || /^export \*/m.test(source.get(f))) continue;
  if (!staticImports.get(f).some((d) => groupOf.has(d))) continue;
  const dir = path.dirname(f);
  const near = (target) => {
    const r = path.relative(dir, target).split(path.sep).join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [f],
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    keepNames: true,
    sourcemap: true,
    outfile: f,
    allowOverwrite: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'weft-direct',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            const target = path.resolve(args.resolveDir, args.path);
            if (args.kind === 'import-statement' && groupOf.has(target)) {
              return { path: rel(target), namespace: 'other-bundle' };
            }
            return { path: near(target), external: true };
          });
          b.onLoad({ filter: /.*/, namespace: 'other-bundle' }, (args) => {
            const t = abs(args.path);
            const spec = JSON.stringify(near(path.join(outDir, bundleName(groupOf.get(t)))));
            return {
              contents:
                exportsOf.get(t).length === 0
                  ? `import ${spec};`
                  : `export { ${reexports(t)} } from ${spec};`,
              resolveDir: dir,
            };
          });
        },
      },
    ],
  });
  keepClassesFast(f);
  direct++;
}

const n = bundled.reduce((s, g) => s + g.length, 0);
process.stdout.write(
  `bundle-dist: ${n} of ${files.length} modules in ${bundled.length} bundles (${dirName}/_bundle), ${entries.length} entry points; ${direct} modules left alone import from bundles directly\n`,
);
