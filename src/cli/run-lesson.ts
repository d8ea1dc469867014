/**
 * Runs one lesson with its narration indented under a heading; used by `tour` and `run`.
 */
import { format } from 'node:util';
import { endChildProcesses, endedChildren, isExiting } from './child-processes.js';
import type { CliContext } from './command.js';
import { type LessonFile, loadLesson } from './lesson-catalog.js';

/** Tuning: how long a lesson may run before it is reported stuck (quick / full size). A lesson
 * whose promise never settles would otherwise end the whole process silently. */
const LIMIT_MS = { quick: 60_000, full: 15 * 60_000 };

export interface LessonOutcome {
  ok: boolean;
  ms: number;
}

export async function runLesson(
  file: LessonFile,
  quick: boolean,
  context: CliContext,
): Promise<LessonOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // An error the lesson lets escape its own promise (a rejection nobody awaited, a throw in a
  // timer or an event handler) would end the whole command, the lessons after it unrun: it
  // fails this lesson instead, as a throw would.
  let strayError = (_e: unknown): void => {};
  const stray: { how?: string } = {};
  const onUncaught = (e: unknown): void => {
    stray.how ??= "thrown outside the lesson's promise, in a callback";
    strayError(e);
  };
  const onUnhandled = (e: unknown): void => {
    stray.how ??= 'a rejected promise nobody awaited';
    strayError(e);
  };
  // What the lesson says once it has ended (or failed) is not under its heading any more.
  let over = false;
  try {
    const lesson = await loadLesson(file);
    context.out(`\n━━ ${file.number} · ${lesson.title}  [${lesson.module}]\n`);
    context.out(`${wrap(lesson.shows, '   ')}\n\n`);
    const log = (...parts: unknown[]): void => {
      // Once the command is stopping, the lesson's processes are being ended under it: what it
      // says about them (a join that returned, a count of 0) is not its point.
      if (!over && !isExiting()) context.out(`${indent(format(...parts), '   │ ')}\n`);
    };
    const limit = quick ? LIMIT_MS.quick : LIMIT_MS.full;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the lesson did not finish within ${limit / 1000} s`)),
        limit,
      );
    });
    const escaped = new Promise<never>((_, reject) => {
      strayError = reject;
    });
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);
    await Promise.race([lesson.main({ quick, log }), stuck, escaped]);
    over = true;
    if (isExiting()) return new Promise<never>(() => {});
    const ms = performance.now() - started;
    context.out(`   ✔ ${file.id} (${(ms / 1000).toFixed(1)} s)\n`);
    return { ok: true, ms };
  } catch (e) {
    over = true;
    if (isExiting()) return new Promise<never>(() => {});
    const ms = performance.now() - started;
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    context.err(`   ✖ ${file.id} failed: ${indent(detail, '     ').trimStart()}\n`);
    if (stray.how) context.err(`     (${stray.how})\n`);
    // A lesson that failed (or is stuck) before ending the processes it started leaves them
    // running: they would slow the next lessons down and outlive the command.
    const n = await endChildProcesses();
    if (n > 0) context.err(`     (${endedChildren(n)})\n`);
    return { ok: false, ms };
  } finally {
    clearTimeout(timer);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** Wraps prose at about 96 columns. */
function wrap(text: string, prefix: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + word.length + 1 > 96 - prefix.length) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => prefix + l).join('\n');
}

/**
 * Ends the process once stdout and stderr are flushed. A lesson that leaves something running
 * (a server, a worker, a timer) must not keep `weft tour` from returning; such leaks are caught
 * by test/examples, which runs every lesson under the leak checker.
 */
export async function exitAfterLessons(ok: boolean): Promise<never> {
  // Stopping already (a signal, a closed pipe): that path exits once the children are ended.
  if (isExiting()) return new Promise<never>(() => {});
  for (const stream of [process.stdout, process.stderr]) {
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
  }
  process.exit(ok ? 0 : 1);
}
