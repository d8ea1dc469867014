import { endChildrenOnSignals } from './child-processes.js';
import type { CliCommand, CliContext } from './command.js';
import { listLessonFiles, requireTypeScript, selectLessons } from './lesson-catalog.js';
import { exitAfterLessons, runLesson } from './run-lesson.js';

/**
 * `weft tour [--full] [lesson…]`: every lesson of examples/ in order, each under a heading with
 * what it shows. Quick by default (sleeps and sizes scaled down). A failing lesson is reported
 * and the tour goes on; the exit code says whether any failed.
 */
export const tourCommand: CliCommand = {
  register(program, context) {
    program
      .command('tour')
      .description('run the lessons of examples/ one after another (quick sizes unless --full)')
      .argument('[lessons...]', 'only these lessons: a number (10) or part of a name (gevent)')
      .option('--full', 'real sleeps and sizes instead of the shortened ones')
      .action(async (filters: string[], opts: { full?: boolean }) => {
        endChildrenOnSignals(context);
        await exitAfterLessons(await tour(filters, opts.full === true, context));
      });
  },
};

/** Runs the tour; resolves false when a lesson failed. */
export async function tour(
  filters: string[],
  full: boolean,
  context: CliContext,
): Promise<boolean> {
  requireTypeScript(context, 'weft tour');
  const lessons = selectLessons(listLessonFiles(context), filters);
  const mode = full ? 'full size' : 'quick: sleeps and sizes shortened, --full for real ones';
  context.out(`weft tour — ${lessons.length} lesson${lessons.length === 1 ? '' : 's'} (${mode})\n`);
  const failed: string[] = [];
  let total = 0;
  for (const file of lessons) {
    const r = await runLesson(file, !full, context);
    total += r.ms;
    if (!r.ok) failed.push(file.id);
  }
  const passed = lessons.length - failed.length;
  context.out(
    `\n${passed} of ${lessons.length} lessons ran in ${(total / 1000).toFixed(1)} s` +
      (failed.length ? `; failed: ${failed.join(', ')}\n` : '.\n'),
  );
  return failed.length === 0;
}
