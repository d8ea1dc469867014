/**
 * Lesson 23: daemon threads.
 *
 * A non-daemon thread keeps the program alive until it finishes; a daemon thread does not —
 * when only daemons are left, the program ends and they are stopped. weft follows Python: a
 * daemon thread's worker does not keep Node's event loop alive.
 */
import { spawn } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/**
 * A bound against a program that hangs, not a measure: each program needs 0.2-0.8 s of CPU (an
 * idle 2-core machine; the non-daemon one through tsx the most), and a machine at load 60 may
 * give it a thirtieth of a core. The daemon program is not waited for this long if it goes
 * wrong: its first heartbeat ends it (runProgram).
 */
const HANG_MS = 120_000;

interface ProgramRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The daemon program beat after its main code ended: its thread kept it alive. */
  outlived: boolean;
}

/**
 * Runs the program in a child process without blocking this one (the tour's own limit and its
 * Ctrl-C keep working), and resolves once the child has exited.
 */
function runProgram(args: string[], daemon: boolean): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ProgramRun = { status: null, signal: null, stdout: '', stderr: '', outlived: false };
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      run.stdout += text;
      // The daemon beats for ever: one beat is proof enough that it kept the program alive.
      if (daemon && !run.outlived && /heartbeat/.test(run.stdout)) {
        run.outlived = true;
        child.kill();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      run.stderr += text;
    });
    const hang = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    child.on('error', (e) => {
      clearTimeout(hang);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(hang);
      resolve({ ...run, status, signal });
    });
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
    // The program runs this very file, with the TypeScript loader weft gives its own threads and
    // child processes: the one WEFT_TS_LOADER names (weft's test runs name a lighter one), else
    // tsx, by path (`--import tsx` would be looked up from the working directory, where tsx
    // need not be).
    const named = process.env.WEFT_TS_LOADER;
    const tsLoader = named ? (isAbsolute(named) ? pathToFileURL(named).href : named) : null;
    const loader = self.endsWith('.ts') ? ['--import', tsLoader ?? import.meta.resolve('tsx')] : [];
    const after: Record<string, number> = {};
    for (const kind of ['daemon', 'worker']) {
      log(`Program with a ${kind === 'daemon' ? 'daemon' : 'non-daemon'} thread:`);
      const r = await runProgram(
        [...loader, self, '--program', kind, String(ms)],
        kind === 'daemon',
      );
      if (r.outlived) {
        throw new Error(
          `the daemon thread kept the program alive: it beat after the main code ended:\n${r.stdout}`,
        );
      }
      if (r.status !== 0) {
        // Not a lesson about a program that did not run: say why, rather than NaN ms.
        const how =
          r.signal === 'SIGKILL'
            ? `killed after ${HANG_MS / 1000} s`
            : (r.signal ?? `exit code ${r.status}`);
        throw new Error(`the ${kind} program failed (${how}):\n${r.stderr}`);
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
