import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { TS_IMPORT } from './support/ts.js';

test('the package root exposes every module as a namespace and lets the process exit', () => {
  const script = `
    import * as weft from './src/index.ts';
    console.log(Object.keys(weft).sort().join(','));
    console.log(await weft.asyncio.run(async () => 'ran'));
  `;
  const r = spawnSync(
    process.execPath,
    ['--import', TS_IMPORT, '--input-type=module', '-e', script],
    {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout.split('\n')[0],
    'asyncio,futures,gevent,multiprocessing,queue,selectors,sendfile,socket,streams,threading,web',
  );
  assert.equal(r.stdout.split('\n')[1], 'ran');
});
