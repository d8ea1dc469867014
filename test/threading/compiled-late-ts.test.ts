/**
 * weft compiled to JavaScript, its program run under a TypeScript loader: a worker started for
 * JavaScript modules only, which meets a .ts one later, registers the loader then. The cases a
 * worker's start cannot foresee: a ThreadPoolExecutor's task from a .ts module submitted after
 * its worker exists, and a Barrier's action in a .ts module that only threads wait for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { compileSrc } from '../support/compile-src.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

/** Every file under `dir` but declarations. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

// Outside the repository, so that tsx cannot be found from there: the last test needs a program
// whose threads have no loader to be given.
const out = join(tmpdir(), `weft-compiled-late-ts-${process.pid}`);
const loader = join(root, 'scripts', 'ts-loader', 'register.mjs');

before(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  compileSrc(
    files(join(root, 'src')).filter((f) => f.endsWith('.ts')),
    out,
    join(root, 'src'),
  );
  // The .cjs helpers a child process loads as they are.
  for (const f of files(join(root, 'src')).filter((f) => !f.endsWith('.ts'))) {
    cpSync(f, join(out, 'src', relative(join(root, 'src'), f)));
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
  writeFileSync(
    join(out, 'js-tasks.mjs'),
    "import { task } from './src/futures/index.js';\n" +
      "import { currentThread } from './src/threading/index.js';\n" +
      'export const double = task(import.meta, (n) => n * 2);\n' +
      // Which thread ran the barrier's action: the one whose globalThis it marked.
      'export const party = task(import.meta, async (b, q) => {\n' +
      '  try {\n' +
      '    await b.wait();\n' +
      "    q.putSync(currentThread().name + ':' + (globalThis.actionRan === true ? 'ran the action' : 'released'));\n" +
      '  } catch (err) {\n' +
      "    q.putSync(currentThread().name + ': ' + err.message + ' / ' + (err.cause?.message ?? ''));\n" +
      '  }\n' +
      '});\n',
  );
  writeFileSync(
    join(out, 'late.ts'),
    // An enum: TypeScript that Node 22 and 24 cannot strip on their own (they strip annotations
    // natively), so that on every Node only the loader can load this module.
    "import { task } from './src/futures/index.js';\n" +
      'enum Factor { Three = 3 }\n' +
      'export const triple = task(import.meta, (n: number): number => n * Factor.Three);\n' +
      'export const action = task(import.meta, function action(): void {\n' +
      '  (globalThis as { actionRan?: boolean }).actionRan = true;\n' +
      '});\n',
  );
});

after(() => rmSync(out, { recursive: true, force: true }));

function run(
  name: string,
  code: string,
): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(join(out, name), code);
  // The repository's loader stands for the user's tsx: the parent's threads get it through
  // WEFT_TS_LOADER, which it sets.
  return spawnSync(process.execPath, ['--import', loader, join(out, name)], {
    cwd: out,
    encoding: 'utf8',
    timeout: 90000,
  });
}

test('a ThreadPoolExecutor worker loads the .ts module of a task submitted after it started', () => {
  const r = run(
    'pool-main.mjs',
    "import { ThreadPoolExecutor } from './src/futures/index.js';\n" +
      "import { double } from './js-tasks.mjs';\n" +
      'const ex = new ThreadPoolExecutor({ maxWorkers: 1 });\n' +
      'console.log(await ex.submit(double, 21).result());\n' +
      "const { triple } = await import('./late.ts');\n" +
      'console.log(await ex.submit(triple, 5).result());\n' +
      'console.log(await ex.submit(double, 4).result());\n' +
      'await ex.shutdown();\n',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['42', '15', '8']);
});

test('a Barrier whose action is in a .ts module runs it in the thread of its last party', () => {
  const r = run(
    'barrier-main.mjs',
    "import { Barrier, Thread } from './src/threading/index.js';\n" +
      "import { Queue } from './src/queue/index.js';\n" +
      "import { party } from './js-tasks.mjs';\n" +
      "const { action } = await import('./late.ts');\n" +
      'const b = new Barrier(2, { action });\n' +
      'const q = new Queue();\n' +
      "const ts = ['a', 'b'].map((name) => new Thread({ target: party, args: [b, q], name }));\n" +
      'for (const t of ts) t.start();\n' +
      'const got = [await q.get(), await q.get()];\n' +
      'for (const t of ts) await t.join();\n' +
      'console.log(JSON.stringify(got.sort()));\n',
  );
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim()) as string[];
  // One party ran it, in its own thread; the other was released; neither saw an error.
  assert.deepEqual(
    got.map((s) => s.slice(2)).sort(),
    ['ran the action', 'released'],
    JSON.stringify(got),
  );
});

test('a ProcessPoolExecutor is not affected: its child gets the loader for a .ts task it starts for', () => {
  const r = run(
    'process-main.mjs',
    "import { ProcessPoolExecutor } from './src/futures/index.js';\n" +
      "import { double } from './js-tasks.mjs';\n" +
      "import { triple } from './late.ts';\n" +
      'const ex = new ProcessPoolExecutor({ maxWorkers: 1 });\n' +
      'console.log(await ex.submit(triple, 5).result());\n' +
      'console.log(await ex.submit(double, 21).result());\n' +
      'await ex.shutdown();\n',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['15', '42']);
});

test('a process pool child started for JavaScript loads the .ts module of a task submitted later', () => {
  const r = run(
    'process-late-main.mjs',
    "import { ProcessPoolExecutor } from './src/futures/index.js';\n" +
      "import { Pool } from './src/multiprocessing/index.js';\n" +
      "import { double } from './js-tasks.mjs';\n" +
      'const ex = new ProcessPoolExecutor({ maxWorkers: 1 });\n' +
      'console.log(await ex.submit(double, 21).result());\n' +
      "const { triple } = await import('./late.ts');\n" +
      'console.log(await ex.submit(triple, 5).result());\n' +
      'console.log(await ex.submit(double, 4).result());\n' +
      'await ex.shutdown();\n' +
      'const pool = new Pool(1);\n' +
      'console.log(await pool.apply(double, [1]));\n' +
      'console.log(await pool.apply(triple, [2]));\n' +
      'pool.close();\n' +
      'await pool.join();\n',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['42', '15', '8', '2', '6']);
});

test("a loader that fails to register: the task's error names the module and the loader, and says the loader's error", () => {
  writeFileSync(join(out, 'broken-loader.mjs'), "throw new Error('the broken loader threw');\n");
  const r = run(
    'broken-loader-main.mjs',
    "import { ProcessPoolExecutor, ThreadPoolExecutor } from './src/futures/index.js';\n" +
      "import { double } from './js-tasks.mjs';\n" +
      "const { triple } = await import('./late.ts');\n" +
      "process.env.WEFT_TS_LOADER = new URL('./broken-loader.mjs', import.meta.url).href;\n" +
      'for (const Ex of [ThreadPoolExecutor, ProcessPoolExecutor]) {\n' +
      '  const ex = new Ex({ maxWorkers: 1 });\n' +
      '  console.log(await ex.submit(double, 21).result());\n' +
      '  const err = await ex.submit(triple, 5).exception();\n' +
      "  console.log(err.name + ': ' + err.message);\n" +
      '  console.log(await ex.submit(double, 4).result());\n' +
      '  await ex.shutdown();\n' +
      '}\n',
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 6, r.stdout);
  const late = `file://${join(out, 'late.ts')}`;
  const broken = `file://${join(out, 'broken-loader.mjs')}`;
  for (const [k, where] of [
    [0, 'a worker'],
    [3, 'this process'],
  ] as const) {
    assert.equal(lines[k], '42');
    assert.equal(lines[k + 2], '8');
    assert.equal(
      lines[k + 1],
      `TaskReferenceError: Cannot load the module of task (anonymous) in ${where}: ${late}: The TypeScript loader ${broken} failed to register in ${where === 'a worker' ? 'this worker thread' : 'this process'} (Error: the broken loader threw), which needed it to import ${late}: fix or reinstall the loader (tsx, or the module WEFT_TS_LOADER names), or run the compiled JavaScript`,
    );
  }
});

test('without a loader to give, a worker that meets a .ts module fails the task with a clear error', () => {
  const r = run(
    'no-loader-main.mjs',
    // The parent loaded its .ts module, then forgot the loader: no WEFT_TS_LOADER, and tsx is
    // not installed where the program is.
    "import { triple } from './late.ts';\n" +
      'delete process.env.WEFT_TS_LOADER;\n' +
      "import { ThreadPoolExecutor } from './src/futures/index.js';\n" +
      "import { double } from './js-tasks.mjs';\n" +
      'const ex = new ThreadPoolExecutor({ maxWorkers: 1 });\n' +
      'console.log(await ex.submit(double, 21).result());\n' +
      'const err = await ex.submit(triple, 5).exception();\n' +
      'console.log(err.name + ": " + err.message);\n' +
      'console.log(await ex.submit(double, 4).result());\n' +
      'await ex.shutdown();\n',
  );
  assert.equal(r.status, 0, r.stderr);
  const late = `file://${join(out, 'late.ts')}`;
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  assert.equal(lines[0], '42');
  // What happened (the module, no loader, why none) and what to do.
  assert.equal(
    lines[1],
    `TaskReferenceError: Cannot load the module of task (anonymous) in a worker: ${late}: ${late} is TypeScript, and this worker thread has no TypeScript loader to register: none was found when it started (tsx cannot be found from weft or the working directory, and WEFT_TS_LOADER is not set). Install tsx (npm i -D tsx), set WEFT_TS_LOADER to a loader's module, or run the compiled JavaScript`,
  );
  assert.equal(lines[2], '8');
});
