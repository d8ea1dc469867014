/**
 * weft compiled to JavaScript: its threading and queue sources are transpiled (esbuild, as tsc
 * would emit them file by file). A plain-JavaScript program needs no TypeScript loader to start
 * a thread running a marked function of its own .mjs module, under plain `node`; a program that
 * runs TypeScript (its task module a .ts one) gets the loader in the threads that load that
 * module, whether a Thread's target or a Timer's function lives there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compileSrc } from '../support/compile-src.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const out = join(root, '.tmp', `compiled-${process.pid}`);

before(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // What weft/threading and weft/queue import, and nothing of the other modules.
  const files = [
    ...['shm', 'worker', 'threading', 'queue'].flatMap((d) =>
      sources(join(root, 'src', d === 'shm' || d === 'worker' ? `internal/${d}` : d)),
    ),
    ...[
      'atomics',
      'bundled',
      'context',
      'dry-loop',
      'error-registry',
      'errors',
      'from-weft',
      'hooks',
      'live-handles',
      'long-timer',
      'maxsize',
      'releaser',
      'run-target',
      'scheduler',
      'serialize',
      'task-ref',
      'thread-executors',
      'thread-exit',
      'ts-loader',
      'v8-format',
      'wait-options',
    ].map((f) => join(root, 'src', 'internal', `${f}.ts`)),
  ];
  compileSrc(files, out, join(root, 'src'));
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
});

after(() => rmSync(out, { recursive: true, force: true }));

test('threads and queues work from compiled JavaScript without a loader', () => {
  writeFileSync(
    join(out, 'tasks.mjs'),
    "import { task, currentThread } from './src/threading/index.js';\n" +
      "export const work = task(import.meta, (q, n) => q.putSync(currentThread().name + ':' + n * 2));\n",
  );
  writeFileSync(
    join(out, 'main.mjs'),
    "import { Thread } from './src/threading/index.js';\n" +
      "import { Queue } from './src/queue/index.js';\n" +
      "import { work } from './tasks.mjs';\n" +
      'const q = new Queue();\n' +
      "const t = new Thread({ target: work, args: [q, 21], name: 'compiled' });\n" +
      't.start();\n' +
      'console.log(await q.get());\n' +
      'await t.join();\n',
  );
  const r = spawnSync(process.execPath, [join(out, 'main.mjs')], {
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'compiled:42');
});

test("compiled weft gives the TypeScript loader to a Timer whose function is in a .ts module, as to a Thread's target", () => {
  writeFileSync(
    join(out, 'ts-tasks.ts'),
    "import { task, currentThread } from './src/threading/index.js';\n" +
      'export const work = task(import.meta, (q: { putSync(v: string): void }, n: number): void =>\n' +
      "  q.putSync(currentThread().name + ':' + n * 2),\n" +
      ');\n',
  );
  writeFileSync(
    join(out, 'ts-main.mjs'),
    "import { Thread, Timer } from './src/threading/index.js';\n" +
      "import { Queue } from './src/queue/index.js';\n" +
      "import { work } from './ts-tasks.ts';\n" +
      'const q = new Queue();\n' +
      "const t = new Thread({ target: work, args: [q, 21], name: 'ts-thread' });\n" +
      't.start();\n' +
      'console.log(await q.get());\n' +
      'await t.join();\n' +
      'const timer = new Timer(0, work, [q, 4]);\n' +
      "timer.name = 'ts-timer';\n" +
      'timer.start();\n' +
      'await timer.join();\n' +
      // Put before the timer's thread ended, or never (its function could not be loaded).
      'console.log(q.getNowait());\n',
  );
  // The parent runs TypeScript with the repository's loader, which its threads get through
  // WEFT_TS_LOADER (it sets it), as a user's get tsx.
  const loader = join(root, 'scripts', 'ts-loader', 'register.mjs');
  const r = spawnSync(process.execPath, ['--import', loader, join(out, 'ts-main.mjs')], {
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ts-thread:42', 'ts-timer:8']);
});
