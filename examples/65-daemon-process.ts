/**
 * Lesson 65: daemon processes. A daemon child does not keep its parent alive, and it ends when
 * its parent ends — even when the parent is killed with SIGKILL while both are busy (a watchdog
 * in the child notices). The lesson starts an intermediate parent, which starts a daemon child,
 * then kills the intermediate parent and checks that no orphan is left.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Event, Process, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const spin = task(import.meta, async (running: Event) => {
  running.set();
  await running.wait(); // the set has reached the broker before this stops looking at its loop
  for (;;) {
    // busy: it never looks at its event loop
  }
});

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const lesson = defineLesson({
  title: 'A daemon child dies with its parent (even a parent killed by SIGKILL)',
  shows: 'No orphans: the busy daemon child of a busy parent ends when that parent is killed.',
  module: 'multiprocessing',
  async main({ log }) {
    const self = fileURLToPath(import.meta.url);
    // The intermediate parent runs this very file. Node does not hand a loader registered through
    // tsx's API (as `weft tour` does) to a spawned process, so a .ts lesson names it itself.
    const loader = self.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
    const parent = spawn(process.execPath, [...loader, self, '--as-parent', String(process.pid)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const child = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (d) => {
        out += d;
        const m = /daemon (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', (code, signal) =>
        reject(
          new Error(
            `the intermediate parent ended (${signal ?? `exit code ${code}`}) before starting its daemon child`,
          ),
        ),
      );
    });
    log(`Parent ${parent.pid} started daemon child ${child}: child running = ${running(child)}`);
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    log(`Parent killed with SIGKILL.`);
    const deadline = Date.now() + 5000;
    while (running(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    log(`Daemon child running = ${running(child)}`);
  },
});
export default lesson;

const asParent = process.argv.indexOf('--as-parent');
if (asParent > 0) {
  // This helper must not outlive the lesson (Ctrl-C or a kill of `weft run` would leave it and
  // its daemon spinning for ever). Its main thread is kept busy below, so a thread of its own
  // watches the lesson's pid and ends it, as weft's daemons watch theirs.
  const lessonPid = Number(process.argv[asParent + 1]);
  new Worker(
    `setInterval(() => { if (process.ppid !== ${lessonPid}) process.kill(process.pid, 'SIGKILL'); }, 100);`,
    { eval: true },
  ).unref();
  const running = new Event();
  const p = new Process({ target: spin, args: [running], daemon: true });
  p.start();
  // The lesson kills this parent once the daemon child runs its target (its watchdog is up by
  // then), not after a fixed second: a loaded machine's child, still starting then, ended
  // unborn only after the lesson had stopped looking, and the lesson showed it running.
  await running.wait();
  process.stdout.write(`daemon ${p.pid}\n`);
  for (;;) {
    // the parent is busy too
  }
} else {
  await runIfMain(import.meta, lesson);
}
