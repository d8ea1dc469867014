/**
 * src/cli/child-processes.ts finds a lesson's child processes without loading
 * weft/multiprocessing when there are none (test/cli/startup.test.ts checks that it loads
 * nothing then): by the children the kernel lists for each thread of the process. One started
 * from a thread is that thread's, not the main thread's, and must be found too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkLeaks } from '../support/leaks.js';
import { runScript } from '../support/run-script.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'weft-child-processes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('endChildProcesses ends a Process that a thread started, which the main thread does not list', async () => {
  const script = join(dir, 'from-thread.ts');
  writeFileSync(
    script,
    `import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { Event as ThreadEvent, Thread, task, Value } from '${root}src/threading/index.ts';
import { Event, forever, Process } from '${root}test/cli/fixtures/forever.ts';
import { alive } from '${root}test/support/pids.ts';

// Starts the child, says its pid, and runs on until told: the child stays this thread's.
export const starter = task(import.meta, async (pid: Value, started: ThreadEvent, done: ThreadEvent) => {
  const running = new Event();
  const p = new Process({ target: forever, args: [running], name: 'endless' });
  p.start();
  await running.wait();
  pid.value = p.pid!;
  started.set();
  await done.wait();
});

if (isMainThread) {
  const { endChildProcesses } = await import('${root}src/cli/child-processes.ts');
  const pid = new Value('i', 0);
  const [started, done] = [new ThreadEvent(), new ThreadEvent()];
  const t = new Thread({ target: starter, args: [pid, started, done] });
  t.start();
  await started.wait();
  const child = pid.value;
  const mainList = readFileSync('/proc/self/task/' + process.pid + '/children', 'latin1');
  const ended = await endChildProcesses();
  console.log(JSON.stringify({
    mainThreadLists: mainList.trim().split(' ').includes(String(child)),
    ended,
    alive: alive(child),
  }));
  // One left running would keep this program from ending (a non-daemon child is joined).
  if (alive(child)) process.kill(child, 'SIGKILL');
  done.set();
  await t.join();
}
`,
  );
  const r = await runScript(script, [], 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { mainThreadLists: false, ended: 1, alive: false });
});

test('endChildProcesses ends a Process whose Node executable was replaced at its path since', async () => {
  // Node upgraded in place while a lesson runs: the kernel names the child's executable
  // "<path> (deleted)", and this process's execPath the new file at <path>.
  const node = join(dir, 'node');
  try {
    linkSync(process.execPath, node); // a second name, to unlink and make again
  } catch {
    copyFileSync(process.execPath, node); // another file system
  }
  const script = join(dir, 'replaced.ts');
  writeFileSync(
    script,
    `import { linkSync, readlinkSync, unlinkSync } from 'node:fs';
import { Event, forever, Process } from '${root}test/cli/fixtures/forever.ts';
import { alive } from '${root}test/support/pids.ts';

const { endChildProcesses } = await import('${root}src/cli/child-processes.ts');
const running = new Event();
const p = new Process({ target: forever, args: [running], name: 'endless', daemon: true });
p.start();
await running.wait();
const child = p.pid!;
// The executable the child runs is gone from its path, and a file of the same name is there.
unlinkSync(process.execPath);
linkSync(${JSON.stringify(process.execPath)}, process.execPath);
const exe = readlinkSync('/proc/' + child + '/exe');
const ended = await endChildProcesses();
console.log(JSON.stringify({ deleted: exe.endsWith(' (deleted)'), ended, alive: alive(child) }));
if (alive(child)) process.kill(child, 'SIGKILL');
`,
  );
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const c = spawn(node, ['--import', TS_IMPORT, script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      c.stdout.on('data', (d) => {
        stdout += d;
      });
      c.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
      c.on('error', reject);
      c.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { deleted: true, ended: 1, alive: false });
});
