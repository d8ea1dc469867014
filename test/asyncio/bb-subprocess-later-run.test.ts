/**
 * A Process made in one run() and awaited in a later one. The first run()'s end lets go of the
 * child (it must not keep Node alive after run() returns, as CPython's process ends); a wait()
 * or communicate() in the later run() used to find nothing holding Node's process: run()
 * reported a DeadlockError ("nothing is left that could wake one: … waits for Process …") for
 * a child about to exit. Now the wait holds the child again, until that run() ends. (Python
 * refuses a Process of a closed loop: its futures are "attached to a different loop".)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runScript } from '../support/run-script.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * `body` run as a program of its own after the imports it uses, with the spawn addon allowed or
 * not (`native`): its output lines, once it has exited 0.
 */
async function program(native: boolean, body: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bb-later-run-'));
  try {
    const script = join(dir, 'main.ts');
    writeFileSync(
      script,
      `import { createSubprocessExec, PIPE, run, type Process } from '${ROOT}src/asyncio/index.ts';
import { _allowNativeSpawn } from '${ROOT}src/asyncio/subprocess.ts';
_allowNativeSpawn(${native});
${body}`,
    );
    const r = await runScript(script, [], 60_000);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const native of [true, false]) {
  describe(`a Process awaited in a later run() (${native ? 'spawn addon where built' : "Node's spawn"})`, () => {
    test('wait() and communicate() in the second run() get the exit and the output', async () => {
      const out = await program(
        native,
        `let a: Process | undefined;
let b: Process | undefined;
await run(async () => {
  // Each outlives this run(): it sleeps before it exits.
  a = await createSubprocessExec('sleep', '1');
  b = await createSubprocessExec('sh', '-c', 'sleep 1; echo hi', { stdout: PIPE });
});
console.log('first run returned');
await run(async () => {
  console.log('a', await a?.wait());
  const [out, err] = (await b?.communicate()) ?? [];
  console.log('b', JSON.stringify(out?.toString()), err, b?.returncode);
});
console.log('second run returned');
`,
      );
      assert.deepEqual(out, [
        'first run returned',
        'a 0',
        'b "hi\\n" null 0',
        'second run returned',
      ]);
    });

    test('a read of its stdout alone in the second run() gets the output, not a DeadlockError', async () => {
      // Review r18: the hold was taken only by wait() and communicate(); a run() that only read
      // the pipe (a line loop, read()) found nothing holding Node's process and reported a
      // deadlock for a child about to write.
      const out = await program(
        native,
        `let b: Process | undefined;
let c: Process | undefined;
await run(async () => {
  b = await createSubprocessExec('sh', '-c', 'sleep 1; echo one; echo two', { stdout: PIPE });
  c = await createSubprocessExec('sh', '-c', 'sleep 1; echo three', { stdout: PIPE });
});
console.log('first run returned');
await run(async () => {
  const lines: string[] = [];
  for await (const line of b?.stdout ?? []) lines.push(line.toString().trim());
  console.log('b', lines.join(' '));
  console.log('c', JSON.stringify(String(await c?.stdout?.read())));
});
console.log('second run returned', b?.returncode ?? 'running', c?.returncode ?? 'running');
`,
      );
      assert.deepEqual(out.slice(0, 3), ['first run returned', 'b one two', 'c "three\\n"']);
      assert.match(out[3] ?? '', /^second run returned /);
      assert.equal(out.length, 4);
    });
  });
}
