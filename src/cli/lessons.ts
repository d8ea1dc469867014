import type { CliCommand } from './command.js';
import {
  type LessonFile,
  type LessonHeading,
  lessonHeading,
  listLessonFiles,
  requireTypeScript,
} from './lesson-catalog.js';

/**
 * `weft lessons`: the lessons of examples/, with their number, module and title, read from each
 * file without importing it where it states them plainly (lessonHeading).
 */
export const lessonsCommand: CliCommand = {
  register(program, context) {
    program
      .command('lessons')
      .description('list the lessons that `weft tour` runs')
      .action(async () => {
        requireTypeScript(context, 'weft lessons');
        const rows: [LessonFile, LessonHeading][] = [];
        for (const file of listLessonFiles(context)) rows.push([file, await lessonHeading(file)]);
        // The widest module name sets the column, so that `concurrent.futures` does not run
        // into its title.
        const width = Math.max(0, ...rows.map(([, l]) => l.module.length)) + 2;
        for (const [file, lesson] of rows) {
          context.out(`${file.number.padEnd(4)}${lesson.module.padEnd(width)}${lesson.title}\n`);
        }
        context.out('\nRun them all with `weft tour`, one with `weft run <number>`.\n');
      });
  },
};
