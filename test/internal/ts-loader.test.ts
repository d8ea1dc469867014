// The TypeScript loader a weft worker or child process gets (src/internal/ts-loader.ts), and the
// repository's own loader that `npm test` runs under (scripts/ts-loader/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const root = fileURLToPath(new URL('../../', import.meta.url));
const register = new URL('../../scripts/ts-loader/register.mjs', import.meta.url).href;
const main = fileURLToPath(new URL('./fixtures/loader-main.ts', import.meta.url));

/**
 * `node --import <loader> file` at the root, with WEFT_TS_LOADER as given (undefined: unset), and
 * without the suite's JavaScript mirror unless `mirror` names one.
 */
function run(
  loader: string,
  file: string,
  tsLoaderEnv: string | undefined,
  args: string[] = [],
  mirror?: string,
) {
  const env: NodeJS.ProcessEnv = { ...process.env, WEFT_BROKER: '' };
  delete env.WEFT_TS_LOADER;
  delete env.WEFT_TS_MIRROR;
  if (mirror !== undefined) env.WEFT_TS_MIRROR = mirror;
  if (tsLoaderEnv !== undefined) env.WEFT_TS_LOADER = tsLoaderEnv;
  return spawnSync(process.execPath, ['--import', loader, file, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
}

describe('the loader of weft workers and child processes', () => {
  test('under tsx, with WEFT_TS_LOADER unset, threads, processes and pool workers get tsx', () => {
    const r = run('tsx', main, undefined);
    assert.equal(r.status, 0, r.stderr);
    const [thread, child, pool] = r.stdout.trim().split('\n');
    assert.equal(thread, 'thread:tsx:');
    assert.match(child ?? '', /^child:tsx:.*--import \S*\/node_modules\/tsx\//);
    assert.match(pool ?? '', /^pool:tsx:.*--import \S*\/node_modules\/tsx\//);
  });

  test('the test loader names itself, and weft hands it on instead of tsx', () => {
    const r = run(register, main, undefined);
    assert.equal(r.status, 0, r.stderr);
    const [thread, child, pool] = r.stdout.trim().split('\n');
    assert.equal(thread, 'thread:custom:');
    assert.ok(child?.startsWith('child:custom:'), child);
    assert.ok(child?.includes(`--import ${register}`), child);
    assert.ok(pool?.includes(`--import ${register}`), pool);
    assert.doesNotMatch(r.stdout, /node_modules\/tsx/);
  });

  test('an empty WEFT_TS_LOADER means tsx', () => {
    // Under the test loader, so that a worker given it would say `custom`.
    const r = run(register, main, '', ['thread']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'thread:tsx:\n');
  });
});

describe("the repository's test loader", () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ts-loader-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a .ts module imports its neighbour as .js, and `weft/<module>` is the sources', () => {
    writeFileSync(join(dir, 'dep.ts'), 'export const n: number = 41;\n');
    writeFileSync(
      join(dir, 'main.ts'),
      [
        "import { n } from './dep.js';",
        "import { Lock } from 'weft/asyncio';",
        'const lock: Lock = new Lock();',
        "const where = (await import('weft/asyncio')).Lock === Lock;",
        "process.stdout.write([n + 1, lock.locked(), where, import.meta.url.endsWith('.ts')].join(' '));",
        "process.stdout.write(' ' + import.meta.resolve('weft/asyncio').replace(/^.*\\/src\\//, 'src/'));",
      ].join('\n'),
    );
    const r = run(register, join(dir, 'main.ts'), undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '42 false true true src/asyncio/index.ts');
  });

  test('an edited file is transformed again: its cache is keyed by its content', () => {
    const file = join(dir, 'edited.ts');
    writeFileSync(file, 'const v: string = "first";\nprocess.stdout.write(v);\n');
    assert.equal(run(register, file, undefined).stdout, 'first');
    // Same length and, within the file system's resolution, possibly the same modification time.
    writeFileSync(file, 'const v: string = "again";\nprocess.stdout.write(v);\n');
    assert.equal(run(register, file, undefined).stdout, 'again');
  });

  test('a syntax error fails the import, naming the file', () => {
    const file = join(dir, 'broken.ts');
    writeFileSync(file, 'const v: number = ;\n');
    const r = run(register, file, undefined);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /broken\.ts/);
  });

  test('the cache keeps what the tree needs and drops old transforms it no longer does', async () => {
    const { prebuild } = (await import(
      new URL('../../scripts/ts-loader/prebuild.mjs', import.meta.url).href
    )) as { prebuild: () => Promise<{ files: number; pruned: number }> };
    const { CACHE_DIR } = (await import(
      new URL('../../scripts/ts-loader/transform.mjs', import.meta.url).href
    )) as { CACHE_DIR: string };
    mkdirSync(CACHE_DIR, { recursive: true });
    const stale = join(CACHE_DIR, `stale-test-${process.pid}.js`);
    const recent = join(CACHE_DIR, `recent-test-${process.pid}.js`);
    writeFileSync(stale, '');
    writeFileSync(recent, '');
    const old = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    utimesSync(stale, old, old);
    try {
      const r = await prebuild();
      assert.ok(r.files > 100, `the tree's files: ${r.files}`);
      assert.equal(existsSync(stale), false, 'an 8-day-old transform nobody needs is gone');
      assert.equal(existsSync(recent), true, 'a recent one stays (another checkout may use it)');
      // Every file of the tree still has its transform: a second pass makes none.
      const again = (await prebuild()) as { made?: number };
      assert.equal(again.made, 0);
    } finally {
      rmSync(stale, { force: true });
      rmSync(recent, { force: true });
    }
  });
});

describe("the suite's JavaScript mirror (scripts/ts-loader/mirror.mjs)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ts-mirror-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const made = (async () => {
    const { prebuild } = (await import(
      new URL('../../scripts/ts-loader/prebuild.mjs', import.meta.url).href
    )) as { prebuild: () => Promise<{ mirror: string }> };
    return (await prebuild()).mirror;
  })();

  test('a mirrored .ts module is its .js in the mirror, by a path written in code; a file: URL stays the .ts', async () => {
    const mirror = await made;
    assert.ok(existsSync(join(mirror, 'src', 'asyncio', 'lock.js')), mirror);
    writeFileSync(
      join(dir, 'main.ts'),
      [
        "import { Lock } from 'weft/asyncio';",
        `const byPath = await import(${JSON.stringify(join(root, 'src', 'asyncio', 'lock.ts'))});`,
        // As weft's threads and children import a task's module: that very file, a second copy.
        `const byUrl = await import(${JSON.stringify(new URL('../../src/asyncio/lock.ts', import.meta.url).href)});`,
        "process.stdout.write([byPath.Lock === Lock, byUrl.Lock === Lock, import.meta.resolve('weft/asyncio')].join(' '));",
      ].join('\n'),
    );
    const r = run(register, join(dir, 'main.ts'), undefined, [], mirror);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `true false ${new URL('src/asyncio/index.js', `file://${mirror}/`).href}`,
    );
    // Without the mirror, the same program has the sources.
    const plain = run(register, join(dir, 'main.ts'), undefined);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(
      plain.stdout,
      `true true ${new URL('../../src/asyncio/index.ts', import.meta.url).href}`,
    );
  });

  test("a child process whose modules are the mirror's starts without the loader", async () => {
    const mirror = await made;
    const r = run(register, main, register, [], mirror);
    assert.equal(r.status, 0, r.stderr);
    const [, child, pool] = r.stdout.trim().split('\n');
    assert.ok(child?.startsWith('child:custom:'), child);
    assert.ok(!child?.includes('--import'), child);
    assert.ok(child?.includes(`${mirror}/src/internal/process/early-inbox.cjs`), child);
    assert.ok(!pool?.includes('--import'), pool);
  });
});
