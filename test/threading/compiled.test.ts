/**
 * Compiled JavaScript needs no TypeScript loader: weft's threading and queue sources are
 * transpiled (esbuild, as tsc would emit them file by file) and a plain-JavaScript program
 * starts a thread running a marked function of its own .mjs module, under plain `node`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
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

test('threads and queues work from compiled JavaScript without a loader', () => {
  const out = join(root, '.tmp', `compiled-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  try {
    // What weft/threading and weft/queue import, and nothing of the other modules.
    const files = [
      ...['shm', 'worker', 'threading', 'queue'].flatMap((d) =>
        sources(join(root, 'src', d === 'shm' || d === 'worker' ? `internal/${d}` : d)),
      ),
      ...[
        'atomics',
        'context',
        'dry-loop',
        'error-registry',
        'errors',
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
    const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
    const built = spawnSync(
      esbuild,
      [
        ...files,
        `--outdir=${join(out, 'src')}`,
        `--outbase=${join(root, 'src')}`,
        '--format=esm',
        '--platform=node',
        '--log-level=error',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(built.status, 0, built.stderr);
    writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
