/**
 * `weft run` stopped by a signal sent to it alone (`kill -INT <pid>`, a supervisor's SIGTERM)
 * ended the lesson's weft/multiprocessing Processes but not the programs it had started with
 * weft/asyncio's createSubprocessExec (lesson 52 runs `sleep 60`): they ran on after the command
 * had ended. Now they get SIGTERM on the way out, and the message counts them.
 *
 * The lesson is a scratch one in a scratch examples/ directory: it starts `sleep 60`, says its
 * pid, and waits for ever. Spawned, the command is `main` of src/cli/main.ts pointed at that
 * directory (what bin/weft.js does with this package's).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch } from '../support/child-lines.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';
import { type ScratchWeft, scratchWeft } from '../support/scratch-weft.js';
import { shmExpected } from '../support/slab.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;
let scratch: ScratchWeft;
const pids: number[] = [];

before(() => {
  scratch = scratchWeft('weft-bb-stop-');
  scratch.lesson(
    '01-sleeper',
    `import { createSubprocessExec } from ${JSON.stringify(join(root, 'src/asyncio/index.ts'))};
export default {
  title: 'a lesson that runs a long program',
  shows: 'a subprocess that outlives a stopped command unless it is ended',
  module: 'test',
  async main({ log }: { log: (...p: unknown[]) => void }) {
    const proc = await createSubprocessExec('sleep', '60');
    log(\`sleep \${proc.pid} running\`);
    await proc.wait();
  },
};
`,
  );
  // r19: a SharedMemoryManager's watcher is a child of the main thread too, but weft's own: it
  // ignores SIGTERM and unlinks the blocks once weft has ended, so it is neither signalled nor
  // counted as ended (the helper's version said "ended the child process" of it).
  scratch.lesson(
    '02-manager',
    `import { SharedMemoryManager } from ${JSON.stringify(join(root, 'src/multiprocessing/index.ts'))};
export default {
  title: 'a lesson that runs a SharedMemoryManager',
  shows: 'its watcher is not a child of the lesson',
  module: 'test',
  async main({ log }: { log: (...p: unknown[]) => void }) {
    const smm = new SharedMemoryManager().start();
    const shm = smm.SharedMemory(4096);
    log(\`block \${shm.name} made\`);
    await new Promise(() => setInterval(() => {}, 1000));
  },
};
`,
  );
});

after(() => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  scratch.remove();
});

describe('a stopped weft run ends the programs its lesson started', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to weft alone ends the lesson's asyncio subprocess`, async () => {
      const proc = scratch.weft('run', '1');
      const w = watch(proc);
      const m = await w.waitFor(/sleep (\d+) running/, 60_000);
      assert.ok(m, `the lesson started sleep:\n${w.out}`);
      const child = Number(m[1]);
      pids.push(child);
      proc.kill(signal);
      assert.deepEqual(await w.exited, [null, signal], w.out);
      // SIGTERM was sent before weft ended; the orphan is reaped by whoever adopts it (a zombie
      // counts as ended), which may take a moment.
      const gone = Date.now() + 10_000;
      while (alive(child) && Date.now() < gone) await sleep(20);
      assert.equal(alive(child), false, `sleep ${child} still runs after weft ended:\n${w.out}`);
      assert.match(
        w.out,
        new RegExp(
          `weft: stopped by ${signal}; ended the child process the lesson had started\\n$`,
        ),
      );
    });
  }

  test("SIGTERM to weft alone leaves a SharedMemoryManager's watcher to clean up", {
    skip: !shmExpected && 'no shm addon or /dev/shm (SharedMemory needs them)',
  }, async () => {
    const proc = scratch.weft('run', '2');
    const w = watch(proc);
    const m = await w.waitFor(/block (\S+) made/, 60_000);
    assert.ok(m, `the lesson made a block:\n${w.out}`);
    proc.kill('SIGTERM');
    assert.deepEqual(await w.exited, [null, 'SIGTERM'], w.out);
    assert.match(w.out, /weft: stopped by SIGTERM\n/);
    assert.doesNotMatch(w.out, /ended the/, w.out);
    // The watcher outlived weft and unlinked the block.
    const gone = Date.now() + 20_000;
    while (existsSync(`/dev/shm/${m[1]}`) && Date.now() < gone) await sleep(20);
    assert.equal(existsSync(`/dev/shm/${m[1]}`), false, `block ${m[1]} left:\n${w.out}`);
  });
});
