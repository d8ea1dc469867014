/**
 * Test helper for an addon's calls in a worker thread that is terminated while it makes them:
 * N-API refuses to make values there while the worker's JavaScript still runs, and a value the
 * addon left unset crashes the whole process (a signal, where a test wants exit status 0).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runScript } from './run-script.js';

/**
 * Starts the worker `workerFile` (a TypeScript file that posts a message once it is under way,
 * then keeps calling the addon) 25 times in a process of its own, and terminates each at a
 * different moment after that message. Asserts that the process came through all 25.
 */
export async function assertSurvivesTermination(workerFile: string): Promise<void> {
  const main = join(dirname(workerFile), 'terminator.ts');
  writeFileSync(
    main,
    `import { Worker } from 'node:worker_threads';
for (let i = 0; i < 25; i++) {
  const w = new Worker(${JSON.stringify(workerFile)});
  await new Promise((resolve) => w.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, (i * 7) % 30));
  await w.terminate();
}
console.log('all terminated');
`,
  );
  const r = await runScript(main, [], 100_000);
  assert.equal(r.status, 0, `exit status ${r.status} (null: killed by a signal) ${r.stderr}`);
  assert.equal(r.stdout.trim(), 'all terminated');
}
