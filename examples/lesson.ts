/**
 * The shape of a lesson. Every `examples/<nn>-<slug>.ts` default-exports `defineLesson({...})` and
 * ends with `await runIfMain(import.meta, lesson)`, so that it runs on its own
 * (`npx tsx examples/10-gevent-sleep.ts`) and inside `weft tour`, which passes `quick: true` to
 * shorten sleeps and sizes. `weft lessons` reads `title` and `module` from the file's text
 * without importing it (src/cli/lesson-catalog.ts, readLessonHeading): give each on one line as a
 * plain quoted string, as the lessons do (test/cli/startup.test.ts checks that they are read).
 */
import { pathToFileURL } from 'node:url';

export interface LessonOptions {
  /** Shortened run for the tour: sleeps and sizes scaled down, same lesson. */
  quick: boolean;
  /** Where the lesson writes its narration (stdout by default). */
  log: (...parts: unknown[]) => void;
}

export interface Lesson {
  /** One line: what the lesson is. */
  title: string;
  /** One or two sentences: what it shows (printed by the tour above the output). */
  shows: string;
  /** The Python module the lesson comes from (`asyncio`, `threading`, ...). */
  module: string;
  main(options: LessonOptions): Promise<void>;
}

export function defineLesson(lesson: Lesson): Lesson {
  return lesson;
}

export async function runIfMain(meta: ImportMeta, lesson: Lesson): Promise<void> {
  const entry = process.argv[1];
  if (entry && pathToFileURL(entry).href === meta.url) {
    await lesson.main({ quick: process.argv.includes('--quick'), log: console.log });
  }
}
