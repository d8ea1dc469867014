import { endChildrenOnSignals } from './child-processes.js';
import { type CliCommand, CliError } from './command.js';
import { listLessonFiles, requireTypeScript, selectLessons } from './lesson-catalog.js';
import { exitAfterLessons, runLesson } from './run-lesson.js';

/** `weft run <lesson> [--quick]`: one lesson, at full size unless `--quick`. */
export const runCommand: CliCommand = {
  register(program, context) {
    program
      .command('run')
      .description('run one lesson at full size')
      .argument('<lesson>', 'a number (10) or part of its name (rlock)')
      .option('--quick', 'shortened sleeps and sizes, as in the tour')
      .action(async (filter: string, opts: { quick?: boolean }) => {
        requireTypeScript(context, 'weft run');
        endChildrenOnSignals(context);
        const files = selectLessons(listLessonFiles(context), [filter]);
        if (files.length > 1) {
          // `run` promises one lesson: a part of a name shared by several is the user's to
          // narrow (`weft tour <filter>` runs them all).
          throw new CliError(
            `"${filter}" matches ${files.length} lessons; name one of them, or run them all ` +
              `with \`weft tour ${filter}\`:\n${files.map((l) => `  ${l.id}`).join('\n')}`,
          );
        }
        const file = files[0]!;
        await exitAfterLessons((await runLesson(file, opts.quick === true, context)).ok);
      });
  },
};
