import type { CliCommand } from './command.js';
import { listLessonFiles, requireTypeScript, selectLessons } from './lesson-catalog.js';
import { exitAfterLessons, runLesson } from './run-lesson.js';

/** `weft run <lesson> [--quick]`: one lesson, at full size unless `--quick`. */
export const runCommand: CliCommand = {
  register(program, context) {
    program
      .command('run')
      .description('run one lesson at full size')
      .argument('<lesson>', 'a number (10) or part of a name (gevent)')
      .option('--quick', 'shortened sleeps and sizes, as in the tour')
      .action(async (filter: string, opts: { quick?: boolean }) => {
        requireTypeScript(context, 'weft run');
        const files = selectLessons(listLessonFiles(context), [filter]);
        let ok = true;
        for (const file of files) {
          if (!(await runLesson(file, opts.quick === true, context)).ok) ok = false;
        }
        await exitAfterLessons(ok);
      });
  },
};
