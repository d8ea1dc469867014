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

/**
 * How far apart the passes over one kind of call are terminated after its mark: of the order of
 * what a spawn costs this process (0.16 ms for /bin/true through posix_spawn, measured for
 * src/asyncio/subprocess-native.ts), so that the passes fall at different points of the call
 * and of the JavaScript around it.
 */
const SPIN_STEP_US = 150;

/**
 * Like assertSurvivesTermination, for a worker whose addon calls are awaited (a spawn, then the
 * child's exit): each worker is terminated a set time after the start of a set call, where
 * moments counted from the worker's start mostly land while it waits for its children. Counted
 * with a build of the spawn addon that reported a stop it saw during its call: at load 7-10, 14
 * of 100 workers terminated at moments since their start were stopped inside the call, and 5 to
 * 8 of each 12 terminated this way; at load 13, 13 of 125 against 12 of 60.
 *
 * The worker gets a SharedArrayBuffer as its workerData: an Int32Array whose element 0 it adds
 * 1 to, with Atomics.add and then Atomics.notify, right before each of the `kinds` calls of a
 * round, round after round. Worker i is terminated SPIN_STEP_US * floor(i / kinds) microseconds
 * after the mark of call i % kinds of its second round (the first warms up: modules loaded, first
 * spawns made), so `kinds * passes` workers go through `passes` moments of each kind of call.
 * `ms` bounds the whole run against a hang; derive it from what the run needs (the caller says).
 */
export async function assertSurvivesTerminationAtMarks(
  workerFile: string,
  { kinds, passes, ms }: { kinds: number; passes: number; ms: number },
): Promise<void> {
  const main = join(dirname(workerFile), 'marked-terminator.ts');
  writeFileSync(
    main,
    `import { setImmediate as turn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
for (let i = 0; i < ${kinds * passes}; i++) {
  const marks = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(${JSON.stringify(workerFile)}, { workerData: marks.buffer });
  const gone = new Promise<never>((_, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error('worker ' + i + ' exited (' + code + ') before its mark')));
  });
  const mark = ${kinds} + (i % ${kinds}) + 1;
  // Blocked, the thread wakes as the mark is made, not a turn of the loop later; between waits
  // the loop hears of a worker that died first.
  for (let seen; (seen = Atomics.load(marks, 0)) < mark; ) {
    if (Atomics.wait(marks, 0, seen, 100) === 'timed-out') await Promise.race([turn(), gone]);
  }
  const spin = ${SPIN_STEP_US} * Math.floor(i / ${kinds});
  const from = performance.now();
  while ((performance.now() - from) * 1000 < spin);
  w.removeAllListeners('exit');
  await w.terminate();
}
console.log('all terminated');
`,
  );
  const r = await runScript(main, [], ms);
  assert.equal(r.status, 0, `exit status ${r.status} (null: killed by a signal) ${r.stderr}`);
  assert.equal(r.stdout.trim(), 'all terminated');
}
