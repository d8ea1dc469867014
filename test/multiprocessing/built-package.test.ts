/**
 * The package as it is published: dist/ built by `npm run build` (tsc, then
 * scripts/bundle-dist.mjs, which puts the modules into a few bundles behind one-line facades).
 * Every other test runs the TypeScript sources; this one builds a copy into a temporary
 * directory, installs it as `weft` for a small program, and has that program start a Process, a
 * Pool, a ProcessPoolExecutor and a Thread with plain `node`, as a user's program would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { contextBackend } from '../../src/internal/context.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'weft-dist-'));
const pkg = join(tmp, 'pkg');
const app = join(tmp, 'app');
// tsc's output of this repository's src/, with files left by sources since deleted.
const old = join(tmp, 'old');
// The same, with a module that a bundle could not give its import.meta.resolve.
const meta = join(tmp, 'meta');
// The same, with modules that break the rules of a layer (scripts/bundle-dist.mjs).
const layered = join(tmp, 'layered');
// The same, for a layer whose bundle imports an earlier layer with an anchor.
const deep = join(tmp, 'deep');

// The user's task module: what children and workers import by its URL.
const TASKS = `
import { task } from 'weft/multiprocessing';
import { KeyError } from 'weft/multiprocessing';

export const square = task(import.meta, (x) => x * x);
export const missing = task(import.meta, (k) => { throw new KeyError(k); });
export const fails = task(import.meta, () => { throw new KeyError('in the child'); });
export const report = task(import.meta, async (q, lock) => {
  await lock.acquire();
  lock.release();
  await q.put(['child', process.pid]);
});
export const inThread = task(import.meta, async (q, x) => { await q.put(x + 1); });
`;

const MAIN = `
import { Lock as LockFromFile } from 'weft-dist/multiprocessing/lock.js';
import { ProcessPoolExecutor } from 'weft/futures';
import { KeyError, Lock, Pool, Process, SimpleQueue } from 'weft/multiprocessing';
import { Queue } from 'weft/queue';
import { Thread } from 'weft/threading';
import { fails, inThread, missing, report, square } from './tasks.mjs';

const out = {};
out.oneLockClass = Lock === LockFromFile;

const q = new SimpleQueue();
const p = new Process({ target: report, args: [q, new Lock()] });
p.start();
const [who, pid] = await q.get();
await p.join();
out.process = { who, samePid: pid === p.pid, exitcode: p.exitcode };

const bad = new Process({ target: fails });
bad.start();
await bad.join();
out.failedExitcode = bad.exitcode;

const pool = new Pool(2);
out.poolMap = await pool.map(square, [1, 2, 3]);
try {
  await pool.apply(missing, ['k']);
  out.poolError = 'none';
} catch (err) {
  out.poolError = { isKeyError: err instanceof KeyError, name: err.name };
}
pool.close();
await pool.join();

const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
out.executor = await ex.submit(square, 7).result();
await ex.shutdown();

const tq = new Queue();
const t = new Thread({ target: inThread, args: [tq, 41] });
t.start();
out.thread = await tq.get();
await t.join();

process.stdout.write(JSON.stringify(out));
`;

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    // A root of its own: not a child of this test's broker.
    env: { ...process.env, WEFT_BROKER: '' },
  });
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

before(() => {
  mkdirSync(pkg);
  // Only what the program runs: no declarations or maps.
  run(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(pkg, 'dist'),
      '--declaration',
      'false',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
    ],
    root,
  );
  cpSync(join(pkg, 'dist'), join(old, 'dist'), { recursive: true });
  cpSync(join(pkg, 'dist'), join(meta, 'dist'), { recursive: true });
  cpSync(join(pkg, 'dist'), join(layered, 'dist'), { recursive: true });
  cpSync(join(pkg, 'dist'), join(deep, 'dist'), { recursive: true });
  for (const dir of [pkg, old, meta, layered, deep]) {
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(root, 'native'), join(dir, 'native'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  }
  run(process.execPath, [join(root, 'scripts/bundle-dist.mjs'), pkg], root);
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(app, 'node_modules/weft'));
  // A module of dist/ by its own path (the package's exports do not name it).
  symlinkSync(join(pkg, 'dist'), join(app, 'node_modules/weft-dist'));
  writeFileSync(join(app, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(app, 'tasks.mjs'), TASKS);
  writeFileSync(join(app, 'main.mjs'), MAIN);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('the build bundles dist: a module is a facade of a bundle', () => {
  assert.ok(existsSync(join(pkg, 'dist/_bundle')));
  assert.match(
    readFileSync(join(pkg, 'dist/multiprocessing/lock.js'), 'utf8'),
    /^\/\/ weft: facade of lock\.js/,
  );
});

test('a program on the built package starts a Process, a Pool, a ProcessPoolExecutor and a Thread', () => {
  const out = JSON.parse(run(process.execPath, ['main.mjs'], app));
  assert.deepEqual(out, {
    // The facade and the package's index give the one class (one module instance).
    oneLockClass: true,
    process: { who: 'child', samePid: true, exitcode: 0 },
    failedExitcode: 1,
    poolMap: [1, 4, 9],
    // The error class crossed by its name: bundling kept class names.
    poolError: { isKeyError: true, name: 'KeyError' },
    executor: 49,
    thread: 42,
  });
});

test('bundling a dist that was bundled already is refused, with what to do', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/bundle-dist.mjs'), pkg], {
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /already a facade: dist\/ was bundled before\. Run tsc/);
});

test('files of dist/ whose source is gone are removed, not bundled nor refused', () => {
  symlinkSync(join(root, 'src'), join(old, 'src'));
  // A facade of an earlier bundling, and a module importing a module that is gone too.
  mkdirSync(join(old, 'dist/gone'));
  writeFileSync(
    join(old, 'dist/gone/facade.js'),
    '// weft: facade of facade.js: its code is in b1.js\nexport { m0$x as x } from "../_bundle/b1.js";\n',
  );
  writeFileSync(join(old, 'dist/gone/facade.d.ts'), 'export declare const x: number;\n');
  writeFileSync(
    join(old, 'dist/internal/gone.js'),
    "import { y } from './no-such-module.js';\nexport const z = y;\n",
  );
  run(process.execPath, [join(root, 'scripts/bundle-dist.mjs'), old], root);
  assert.ok(!existsSync(join(old, 'dist/gone/facade.js')));
  assert.ok(!existsSync(join(old, 'dist/gone/facade.d.ts')));
  assert.ok(!existsSync(join(old, 'dist/internal/gone.js')));
  assert.match(
    readFileSync(join(old, 'dist/multiprocessing/lock.js'), 'utf8'),
    /^\/\/ weft: facade of lock\.js/,
  );
});

test('a module that would be bundled and uses import.meta other than url stops the build', () => {
  // where.js and what only it imports are one group of two: bundled.
  writeFileSync(join(meta, 'dist/internal/where-name.js'), "export const name = 'commander';\n");
  writeFileSync(
    join(meta, 'dist/internal/where.js'),
    "import { name } from './where-name.js';\nexport const where = () => import.meta.resolve(name);\n",
  );
  const r = spawnSync(process.execPath, [join(root, 'scripts/bundle-dist.mjs'), meta], {
    encoding: 'utf8',
    env: { ...process.env, WEFT_BROKER: '' },
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /dist\/internal\/where\.js uses import\.meta\.resolve/);
});

/**
 * The files of dist/ that `file` imports statically or re-exports names of (not its `import()`s,
 * nor its `export *`: a module with one is left as tsc wrote it, scripts/bundle-dist.mjs).
 */
function staticTargets(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const specs = code.matchAll(
    /^(?:import\b[^'"();]*?\bfrom|export\s*\{[^}]*\}\s*from|import)\s*["'](\.\.?\/[^"']+)["']/gm,
  );
  return [...specs].map((m) => join(dirname(file), m[1] as string));
}

const isFacade = (file: string): boolean =>
  readFileSync(file, 'utf8').startsWith('// weft: facade of');

test('no module of the built package imports another through a facade: a thread loads a bundle once, not its facades', () => {
  const dist = join(pkg, 'dist');
  const viaFacade: string[] = [];
  let looked = 0;
  for (const f of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
    const file = join(dist, f);
    if (!f.endsWith('.js') || isFacade(file)) continue;
    for (const t of staticTargets(file)) {
      looked++;
      if (isFacade(t)) viaFacade.push(`${f} -> ${relative(dist, t)}`);
    }
  }
  assert.ok(looked > 100, `only ${looked} imports found: the pattern no longer matches the build`);
  assert.deepEqual(viaFacade, []);
  // A thread's start: the bootstrap imports its neighbours' code from bundles.
  assert.ok(
    staticTargets(join(dist, 'internal/worker/bootstrap.js')).some((t) => t.includes('/_bundle/')),
  );
});

// V8 keeps the properties of an object it has seen reconfigured (esbuild's `__name`, which
// keepNames adds to every class) in a dictionary, where each `instanceof` of a class or load of
// a static member is a slow lookup: scripts/bundle-dist.mjs mends the helper (keepClassesFast).
const FAST_CLASSES = `
import { readdirSync } from 'node:fs';
const dir = process.argv[2];
const slow = [];
const renamed = [];
let classes = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
  for (const [k, v] of Object.entries(await import(new URL(f, 'file://' + dir + '/').href))) {
    if (typeof v !== 'function' || !/^class\\b/.test(Function.prototype.toString.call(v))) continue;
    classes++;
    if (!%HasFastProperties(v)) slow.push(f + ':' + k);
    if (/^_[A-Z]|[a-z]\\d+$/.test(v.name)) renamed.push(f + ':' + k + ' is named ' + v.name);
  }
}
process.stdout.write(JSON.stringify({ classes, slow, renamed }));
process.exit(0);
`;

test("every class of the built package keeps its own name and V8's fast properties", () => {
  writeFileSync(join(app, 'fast-classes.mjs'), FAST_CLASSES);
  const out = JSON.parse(
    run(
      process.execPath,
      ['--allow-natives-syntax', 'fast-classes.mjs', join(pkg, 'dist/_bundle')],
      app,
    ),
  );
  assert.ok(out.classes > 100, `only ${out.classes} classes found in the bundles`);
  assert.deepEqual(out.slow, []);
  assert.deepEqual(out.renamed, []);
});

test('the plumbing that nearly every entry reaches is one bundle per layer', () => {
  const bundleOf = (m: string): string => {
    const file = join(pkg, 'dist', m);
    assert.ok(isFacade(file), `${m} is no facade`);
    return (
      readFileSync(file, 'utf8').match(/its code is in (b\d+\.js)/) as RegExpMatchArray
    )[1] as string;
  };
  const layers = [
    [
      'internal/errors.js',
      'internal/error-registry.js',
      'internal/hooks.js',
      'threading/errors.js',
    ],
    ['internal/shm/world.js', 'internal/serialize.js', 'internal/worker/protocol.js'],
    ['internal/context.js', 'internal/scheduler.js', 'internal/dry-loop.js'],
  ].map((layer) => new Set(layer.map(bundleOf)));
  for (const l of layers) assert.equal(l.size, 1);
  assert.equal(new Set(layers.map((l) => [...l][0])).size, 3);
  // context.js finds its addon from its own URL, which its bundle gives it: as from the sources.
  const backend = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(join(pkg, 'dist/internal/context.js'))}); console.log(m.contextBackend());`,
    ],
    app,
  );
  assert.equal(backend.trim(), contextBackend());
});

test("the built package's TypeScript loader is tsx where weft's own modules find it, its lookup outside the bundles", () => {
  assert.ok(!isFacade(join(pkg, 'dist/internal/from-weft.js')));
  const env: NodeJS.ProcessEnv = { ...process.env, WEFT_BROKER: '' };
  delete env.WEFT_TS_LOADER;
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(join(pkg, 'dist/internal/ts-loader.js'))}); console.log(JSON.stringify(m.findTsLoader()));`,
    ],
    { cwd: tmp, encoding: 'utf8', env },
  );
  assert.equal(r.status, 0, r.stderr);
  const loader = JSON.parse(r.stdout) as { importFlag: string; worker: { url: string } };
  assert.equal(loader.importFlag, import.meta.resolve('tsx'));
  assert.equal(loader.worker.url, import.meta.resolve('tsx/esm/api'));
});

test('a layer whose module imports one outside the layers, or whose anchor another entry skips, stops the build', () => {
  const bundle = () =>
    spawnSync(process.execPath, [join(root, 'scripts/bundle-dist.mjs'), layered], {
      encoding: 'utf8',
      env: { ...process.env, WEFT_BROKER: '' },
    });
  const errors = join(layered, 'dist/internal/errors.js');
  const code = readFileSync(errors, 'utf8');
  // A module that imports none of dist/ may stay out of the layers; this one imports one.
  writeFileSync(join(layered, 'dist/internal/stray-leaf.js'), 'export const leaf = 1;\n');
  writeFileSync(
    join(layered, 'dist/internal/stray.js'),
    "export { leaf as stray } from './stray-leaf.js';\n",
  );
  writeFileSync(errors, `import './stray.js';\n${code}`);
  let r = bundle();
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /dist\/internal\/errors\.js, in layer 0, imports dist\/internal\/stray\.js, which is in no layer up to it/,
  );
  // Without it, a module nobody imports that needs atomics.js but not the world it belongs with.
  writeFileSync(errors, code);
  writeFileSync(
    join(layered, 'dist/internal/lonely.js'),
    "import { load } from './atomics.js';\nexport const lonely = load;\n",
  );
  r = bundle();
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /dist\/internal\/atomics\.js, in layer 1, is reached from dist\/internal\/lonely\.js, which does not reach dist\/internal\/shm\/world\.js/,
  );
});

test("a layer whose bundle imports an earlier layer stops the build when an entry that evaluates it skips that layer's anchor", () => {
  // A module of layer 2 that needs atomics.js (layer 1), reached only from weft/threading, which
  // reaches the world: each module of layer 1 is reached from entries that reach the world, yet
  // the bundle of layer 2 (which weft/streams evaluates for context.js) would import layer 1's.
  const script = readFileSync(join(root, 'scripts/bundle-dist.mjs'), 'utf8');
  const layer2 =
    "modules: ['internal/context.js', 'internal/scheduler.js', 'internal/dry-loop.js']";
  assert.ok(
    script.includes(layer2),
    'layer 2 of scripts/bundle-dist.mjs is no longer as this test expects',
  );
  mkdirSync(join(deep, 'scripts'));
  writeFileSync(
    join(deep, 'scripts/bundle-dist.mjs'),
    script.replace(layer2, `${layer2.slice(0, -1)}, 'internal/late.js']`),
  );
  writeFileSync(
    join(deep, 'dist/internal/late.js'),
    "import { load } from './atomics.js';\nexport const late = (a) => load(a, 0);\n",
  );
  const index = join(deep, 'dist/threading/index.js');
  writeFileSync(index, `import '../internal/late.js';\n${readFileSync(index, 'utf8')}`);
  const r = spawnSync(process.execPath, [join(deep, 'scripts/bundle-dist.mjs'), deep], {
    encoding: 'utf8',
    env: { ...process.env, WEFT_BROKER: '' },
  });
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(
    r.stderr,
    /reaches layer 2, whose bundle imports layer 1, but does not reach dist\/internal\/shm\/world\.js/,
  );
});
