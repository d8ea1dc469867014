import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { TS_IMPORT } from '../support/ts.js';

const root = new URL('../../', import.meta.url).pathname;

/** Runs `body` in a child with `--expose-gc`: a task's unretrieved error is reported when collected. */
function runScript(body: string): string {
  const script = `
    import { createTask, FIRST_COMPLETED, FIRST_EXCEPTION, run, sleep, wait } from './src/asyncio/index.ts';
    ${body}
    for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log('finished');
  `;
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', TS_IMPORT, '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8', timeout: 30_000 },
  );
  return r.stderr + r.stdout;
}

// CPython's `wait()` asks `f.exception() is not None` to decide FIRST_EXCEPTION, which marks the
// failure retrieved: a task whose error ended such a wait is not logged "exception was never
// retrieved" when it is collected. FIRST_COMPLETED and ALL_COMPLETED look at no error.
describe('wait(FIRST_EXCEPTION) looks at the failure that ends it', () => {
  test('the failing task is not reported when collected; under FIRST_COMPLETED it still is', () => {
    const out = runScript(`
      await run(async () => {
        {
          const t = createTask(async () => { throw new RangeError('seen by wait'); }, { name: 'first-exception' });
          const slow = createTask(() => sleep(30));
          const { done } = await wait([t, slow], { returnWhen: FIRST_EXCEPTION });
          if (!done.has(t) || done.has(slow)) throw new Error('wait did not end at the failure');
        }
        await sleep(50);
        {
          const t = createTask(async () => { throw new RangeError('not looked at'); }, { name: 'first-completed' });
          const slow = createTask(() => sleep(30));
          await wait([t, slow], { returnWhen: FIRST_COMPLETED });
        }
        await sleep(50);
      });
    `);
    assert.match(out, /finished/);
    assert.match(out, /Task 'first-completed' exception was never retrieved/);
    assert.doesNotMatch(out, /first-exception/);
    assert.doesNotMatch(out, /seen by wait/);
  });

  test('a failure that comes last, when the count ends the wait, is not looked at (CPython order)', () => {
    const out = runScript(`
      await run(async () => {
        {
          const quick = createTask(() => sleep(1));
          const t = createTask(async () => { await sleep(20); throw new RangeError('came last'); }, { name: 'last-one' });
          await wait([quick, t], { returnWhen: FIRST_EXCEPTION });
        }
        await sleep(50);
      });
    `);
    assert.match(out, /finished/);
    assert.match(out, /Task 'last-one' exception was never retrieved/);
  });
});
