/**
 * Lesson 23: daemon threads.
 *
 * A non-daemon thread keeps the program alive until it finishes; a daemon thread does not —
 * when only daemons are left, the program ends and they are stopped. weft follows Python: a
 * daemon thread's worker does not keep Node's event loop alive.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const heartbeat = task(import.meta, async (beats: number, ms: number) => {
  for (let i = 1; i <= beats; i++) {
    await new Promise((r) => setTimeout(r, ms));
    process.stdout.write(`    heartbeat ${i}\n`);
  }
});

/** The program the lesson runs twice: starts one thread and returns at once. */
function program(daemon: boolean, ms: number): void {
  // The daemon would beat for ever; the non-daemon beats 3 times and ends.
  const t = new Thread({
    target: heartbeat,
    args: [daemon ? 1e9 : 3, ms],
    daemon,
    name: daemon ? 'daemon' : 'worker',
  });
  t.start();
  process.stdout.write(`    main: started ${t.name} (daemon=${t.daemon}); main code ends now\n`);
  // Measured inside the program, so that the start-up of Node (which a loaded machine stretches
  // by more than the beats last) is not part of the comparison.
  const ended = performance.now();
  process.on('exit', () => {
    const ms = (performance.now() - ended).toFixed(0);
    process.stdout.write(`    the process exits ${ms} ms after its main code ended\n`);
  });
}

const lesson = defineLesson({
  title: 'Daemon threads do not keep the program alive',
  shows:
    'The same program runs twice in a child process: with a non-daemon thread it lives on ' +
    'while the thread beats; with a daemon thread it ends as soon as the main code does.',
  module: 'threading',
  async main({ quick, log }) {
    const ms = quick ? 100 : 500;
    const self = fileURLToPath(import.meta.url);
    // The program runs this very file. A .ts lesson names its loader by path: `--import tsx`
    // would be looked up from the working directory, where tsx need not be.
    const loader = self.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
    const after: Record<string, number> = {};
    for (const kind of ['daemon', 'worker']) {
      log(`Program with a ${kind === 'daemon' ? 'daemon' : 'non-daemon'} thread:`);
      const r = spawnSync(process.execPath, [...loader, self, '--program', kind, String(ms)], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (r.status !== 0) {
        // Not a lesson about a program that did not run: say why, rather than NaN ms.
        throw new Error(
          `the ${kind} program failed (${r.error?.message ?? r.signal ?? `exit code ${r.status}`}):\n${r.stderr}`,
        );
      }
      log(r.stdout.trimEnd());
      after[kind] = Number(r.stdout.match(/exits (\d+) ms after/)?.[1]);
      log(
        `  the program ended (exit ${r.status}) ${/heartbeat/.test(r.stdout) ? 'after the thread finished' : 'without waiting for its thread'}`,
      );
    }
    log(
      `The daemon program ended ${after.daemon} ms after its main code; the non-daemon one ` +
        `${after.worker} ms after, once its thread's three beats of ${ms} ms were done.`,
    );
  },
});
export default lesson;

const at = process.argv.indexOf('--program');
if (isMainThread && at > 0) {
  program(process.argv[at + 1] === 'daemon', Number(process.argv[at + 2]));
} else {
  await runIfMain(import.meta, lesson);
}
