import type { CliCommand } from './command.js';
import { listLessonFiles, loadLesson, requireTypeScript } from './lesson-catalog.js';

/** `weft lessons`: the lessons of examples/, with their number, module and title. */
export const lessonsCommand: CliCommand = {
  register(program, context) {
    program
      .command('lessons')
      .description('list the lessons that `weft tour` runs')
      .action(async () => {
        requireTypeScript(context, 'weft lessons');
        for (const file of listLessonFiles(context)) {
          const lesson = await loadLesson(file);
          context.out(`${file.number.padEnd(4)}${lesson.module.padEnd(16)}${lesson.title}\n`);
        }
        context.out('\nRun them all with `weft tour`, one with `weft run <number>`.\n');
      });
  },
};
