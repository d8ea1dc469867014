/**
 * Runs one lesson with its narration indented under a heading; used by `tour` and `run`.
 */
import { format } from 'node:util';
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
  try {
    const lesson = await loadLesson(file);
    context.out(`\n━━ ${file.number} · ${lesson.title}  [${lesson.module}]\n`);
    context.out(`${wrap(lesson.shows, '   ')}\n\n`);
    const log = (...parts: unknown[]): void => {
      context.out(`${indent(format(...parts), '   │ ')}\n`);
    };
    const limit = quick ? LIMIT_MS.quick : LIMIT_MS.full;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the lesson did not finish within ${limit / 1000} s`)),
        limit,
      );
    });
    await Promise.race([lesson.main({ quick, log }), stuck]);
    const ms = performance.now() - started;
    context.out(`   ✔ ${file.id} (${(ms / 1000).toFixed(1)} s)\n`);
    return { ok: true, ms };
  } catch (e) {
    const ms = performance.now() - started;
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    context.err(`   ✖ ${file.id} failed: ${indent(detail, '     ').trimStart()}\n`);
    return { ok: false, ms };
  } finally {
    clearTimeout(timer);
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
  for (const stream of [process.stdout, process.stderr]) {
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
  }
  process.exit(ok ? 0 : 1);
}
