// An AppRunner/TCPSite left running when run() ends (helper-92): aiohttp's process ends once
// asyncio.run() has returned (checked against aiohttp 3.8 on CPython 3.11); weft's must too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { getRunningLoop, run } from '../../src/asyncio/index.js';
import { Application, AppRunner, Response, TCPSite } from '../../src/web/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

const FIXTURE = new URL('./fixtures/left-open.ts', import.meta.url).pathname;

test('a site started inside run() and never cleaned up lets the process exit when run() ends', () => {
  const r = spawnSync(process.execPath, ['--import', TS_IMPORT, FIXTURE], {
    encoding: 'utf8',
    // Far above the second or two it takes: only a child kept alive reaches it.
    timeout: 25_000,
    killSignal: 'SIGKILL',
  });
  const out = `${r.stdout}\n--- stderr ---\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /idle: HTTP\/1\.1 200 OK/);
  assert.match(out, /after run\nin flight: /);
});

test('a site cleaned up inside run() leaves nothing registered on its loop', async () => {
  await run(async () => {
    const loop = getRunningLoop() as unknown as {
      closers: Set<unknown>;
    };
    const base = loop.closers.size;
    const app = new Application();
    app.router.addGet('/', async () => new Response({ text: 'hi' }));
    const runner = new AppRunner(app);
    await runner.setup();
    const site = new TCPSite(runner, '127.0.0.1', 0);
    await site.start();
    assert.equal(loop.closers.size, base + 1);
    await runner.cleanup();
    assert.equal(loop.closers.size, base);
  });
});
