/**
 * The `.gz` sibling of a file and what is remembered of one that is missing
 * (src/web/gz-sibling.ts): a request for a file whose sibling was just found missing does not
 * look for it again, and the memory never makes the server send what is not there — a sibling
 * that appears is sent once the memory lapses or the file changes, one that is removed is not
 * sent at the next request. The memory's clock is held still here, so that no test depends on
 * how fast the machine is.
 */
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Application } from '../../src/web/application.js';
import { FileResponse } from '../../src/web/file-response.js';
import { AbsentSiblings, absentSiblings } from '../../src/web/gz-sibling.js';
import { checkLeaks } from '../support/leaks.js';
import { fetchAll, type Got, serve } from './loopback.js';

checkLeaks();

const PLAIN = 'the file itself\n'.repeat(20);
const SIBLING = 'from the sibling\n';

/** A GET that takes gzip unless `headers` say otherwise. */
function get(url: string, headers: Record<string, string> = { 'accept-encoding': 'gzip' }) {
  return fetchAll(url, headers);
}

/** Which of the two went out: 'file' (x itself, uncoded) or 'sibling' (x.gz, as gzip). */
function which(r: Got): 'file' | 'sibling' {
  assert.equal(r.status, 200);
  if (r.headers['content-encoding'] === 'gzip') {
    assert.equal(gunzipSync(r.body).toString(), SIBLING);
    return 'sibling';
  }
  assert.equal(r.headers['content-encoding'], undefined);
  assert.ok(r.body.toString().startsWith(PLAIN), 'the file itself');
  return 'file';
}

let dir: string;
let clock = 0;
let realNow: () => number;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-web-gz-sibling-'));
  realNow = absentSiblings.now;
  absentSiblings.now = () => clock;
});
after(() => {
  absentSiblings.now = realNow;
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh file (no sibling) per test, served by a FileResponse and a static route. */
let n = 0;
let name: string;
beforeEach(() => {
  name = `f${n++}.txt`;
  writeFileSync(join(dir, name), PLAIN);
});
afterEach(() => {
  // The memory lapses between tests: each starts with nothing remembered.
  clock += 60_000;
});

function app(): Application {
  const a = new Application();
  a.router.addGet('/file/{name}', (r) => new FileResponse(join(dir, r.matchInfo.name as string)));
  a.router.addStatic('/static', dir);
  return a;
}

describe('FileResponse: a missing .gz sibling is remembered', () => {
  it('a sibling added beside the unchanged file is sent once the memory lapses, the file itself until then', async () => {
    await using s = await serve(app());
    for (const route of ['file', 'static']) {
      const url = `${s.url}/${route}/${name}`;
      assert.equal(which(await get(url)), 'file', route);
      // Found missing: remembered, so the next request does not look for it.
      assert.notEqual(absentSiblings.get(join(dir, `${name}.gz`)), undefined, route);
      writeFileSync(join(dir, `${name}.gz`), gzipSync(SIBLING));
      assert.equal(which(await get(url)), 'file', route);
      clock += 1001;
      assert.equal(which(await get(url)), 'sibling', route);
      unlinkSync(join(dir, `${name}.gz`));
      assert.equal(which(await get(url)), 'file', route);
      clock += 60_000;
    }
  });

  it('a file that changed (rewritten, touched, replaced with the same size and mtime) has its sibling looked for again at once', async () => {
    await using s = await serve(app());
    const path = join(dir, name);
    const url = `${s.url}/file/${name}`;
    const changes: [string, () => void][] = [
      // Another size: a rewrite within the same tick of the file system's clock keeps the mtime.
      ['rewritten', () => writeFileSync(path, `${PLAIN}more\n`)],
      ['touched', () => utimesSync(path, new Date(), new Date(Date.now() + 5000))],
      [
        'replaced',
        () => {
          // As `cp -p` or `rsync -t` leave it: another inode, the same size and mtime.
          const before = statSync(path);
          const tmp = join(dir, `${name}.tmp`);
          writeFileSync(tmp, PLAIN);
          utimesSync(tmp, before.atime, before.mtime);
          renameSync(tmp, path);
        },
      ],
    ];
    for (const [what, change] of changes) {
      assert.equal(which(await get(url)), 'file', what);
      assert.notEqual(absentSiblings.get(`${path}.gz`), undefined, what);
      writeFileSync(`${path}.gz`, gzipSync(SIBLING));
      change();
      assert.equal(which(await get(url)), 'sibling', what);
      unlinkSync(`${path}.gz`);
    }
  });

  it('a file rewritten in place with the same size and mtime (cp -p over it) has its sibling looked for again at once', async () => {
    await using s = await serve(app());
    const path = join(dir, name);
    const url = `${s.url}/file/${name}`;
    // A whole second, which utimes can set again exactly (it takes no nanoseconds).
    const mtime = new Date(1_700_000_000_000);
    utimesSync(path, mtime, mtime);
    assert.equal(which(await get(url)), 'file');
    const entry = absentSiblings.get(`${path}.gz`);
    assert.notEqual(entry, undefined);
    writeFileSync(`${path}.gz`, gzipSync(SIBLING));
    const before = statSync(path, { bigint: true });
    // Same inode, size and mtime: only the ctime tells. The file system's clock is coarse, so
    // the rewrite is repeated until the ctime moved (state, not a delay, decides).
    for (;;) {
      writeFileSync(path, PLAIN);
      utimesSync(path, mtime, mtime);
      const now = statSync(path, { bigint: true });
      assert.equal(now.ino, before.ino);
      assert.equal(now.size, before.size);
      assert.equal(now.mtimeNs, before.mtimeNs);
      if (now.ctimeNs !== entry?.ctimeNs) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(which(await get(url)), 'sibling');
  });

  it('a sibling and a new file written (in that order) while a request looks for the sibling are seen at the next request', async () => {
    await using s = await serve(app());
    const path = join(dir, name);
    const url = `${s.url}/file/${name}`;
    // The deploy lands between the request's failed look for the sibling and its open of the
    // file: the file it then stats is the new one, beside which the sibling already is.
    const realOpen = fsp.open;
    let deploy = true;
    mock.method(fsp, 'open', async (...args: Parameters<typeof fsp.open>) => {
      try {
        return await realOpen(...args);
      } finally {
        if (deploy && String(args[0]) === `${path}.gz`) {
          deploy = false;
          writeFileSync(`${path}.gz`, gzipSync(SIBLING));
          writeFileSync(`${path}.tmp`, `${PLAIN}new\n`);
          renameSync(`${path}.tmp`, path);
        }
      }
    });
    syncBuiltinESMExports();
    try {
      await get(url); // either is right for this one: it raced the deploy
      assert.equal(deploy, false, 'the deploy ran inside the request');
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.equal(which(await get(url)), 'sibling');
  });

  it('a file removed while its sibling is remembered missing: a sibling that came is sent alone, else 404', async () => {
    await using s = await serve(app());
    const path = join(dir, name);
    const url = `${s.url}/file/${name}`;
    assert.equal(which(await get(url)), 'file');
    assert.notEqual(absentSiblings.get(`${path}.gz`), undefined);
    writeFileSync(`${path}.gz`, gzipSync(SIBLING));
    unlinkSync(path);
    assert.equal(which(await get(url)), 'sibling');
    unlinkSync(`${path}.gz`);
    assert.equal((await get(url)).status, 404);
  });

  it('a sibling that is there is not remembered: removed, the file itself goes out at the next request', async () => {
    writeFileSync(join(dir, `${name}.gz`), gzipSync(SIBLING));
    await using s = await serve(app());
    const url = `${s.url}/static/${name}`;
    assert.equal(which(await get(url)), 'sibling');
    assert.equal(absentSiblings.get(join(dir, `${name}.gz`)), undefined);
    unlinkSync(join(dir, `${name}.gz`));
    assert.equal(which(await get(url)), 'file');
    // Now found missing, and remembered.
    assert.notEqual(absentSiblings.get(join(dir, `${name}.gz`)), undefined);
  });

  it('a request that cannot take the sibling (no gzip, a forced deflate) does not look for it', async () => {
    const a = app();
    a.router.addGet('/deflate/{name}', (r) => {
      const f = new FileResponse(join(dir, r.matchInfo.name as string));
      f.enableCompression('deflate');
      return f;
    });
    await using s = await serve(a);
    await get(`${s.url}/file/${name}`, {});
    await get(`${s.url}/file/${name}`, { 'accept-encoding': 'gzip;q=0, deflate' });
    await get(`${s.url}/deflate/${name}`);
    assert.equal(absentSiblings.get(join(dir, `${name}.gz`)), undefined);
    // One that can take it looks, and remembers.
    await get(`${s.url}/file/${name}`);
    assert.notEqual(absentSiblings.get(join(dir, `${name}.gz`)), undefined);
  });
});

describe('AbsentSiblings', () => {
  const st = statSync(process.execPath, { bigint: true });

  it('holds at most its limit, forgetting the oldest first', () => {
    const m = new AbsentSiblings(1000, 3);
    m.now = () => 0;
    for (const p of ['a', 'b', 'c', 'd', 'e']) m.remember(p, st);
    assert.equal(m.size, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e'].map((p) => m.get(p) !== undefined),
      [false, false, true, true, true],
    );
  });

  it('forgets an entry at the end of its lifetime, and drops lapsed ones as it remembers more', () => {
    let t = 0;
    const m = new AbsentSiblings(1000, 100);
    m.now = () => t;
    m.remember('a', st);
    m.remember('b', st);
    t = 999;
    assert.notEqual(m.get('a'), undefined);
    t = 1000;
    assert.equal(m.get('a'), undefined);
    assert.equal(m.size, 1); // 'b' lapsed too, not yet looked at
    m.remember('c', st);
    assert.equal(m.size, 1);
    assert.notEqual(m.get('c'), undefined);
  });
});
