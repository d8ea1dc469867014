import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { TS_IMPORT } from '../support/ts.js';

const root = new URL('../../', import.meta.url).pathname;

function runScript(body: string): string {
  const script = `
    import { createTask, run, sleep } from './src/asyncio/index.ts';
    ${body}
  `;
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', TS_IMPORT, '--input-type=module', '-e', script],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return r.stderr + r.stdout;
}

describe('unretrieved task exceptions', () => {
  test('a failed task nobody awaited is reported when collected', () => {
    const out = runScript(`
      await run(async () => {
        createTask(async () => { throw new RangeError('lost error'); }, { name: 'forgotten' });
        await sleep(5);
      });
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
    `);
    assert.match(out, /Task 'forgotten' exception was never retrieved/);
    assert.match(out, /RangeError: lost error/);
  });

  test('an awaited failure is not reported', () => {
    const out = runScript(`
      await run(async () => {
        const t = createTask(async () => { throw new RangeError('seen error'); }, { name: 'awaited' });
        try { await t; } catch {}
      });
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log('finished');
    `);
    assert.match(out, /finished/);
    assert.doesNotMatch(out, /never retrieved/);
  });
});
