// The lessons of one group (see lessons.ts for why the groups have files of their own).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import type { Lesson } from '../../examples/lesson.js';
import { dir, expectations, files, GROUPS, lessonTests } from './lessons.js';

describe('lessons', () => {
  test('the lessons 01-07 and 10-13 exist', () => {
    for (const id of Object.keys(expectations)) assert.ok(files.includes(`${id}.ts`), id);
  });

  test("what a lesson shows speaks to a reader of the tour, not of the project's notes", async () => {
    // Regression: lessons 45 and 51 pointed at "the seeds", the project's own word for the
    // Python programs it started from, which a reader of the tour has never seen.
    for (const name of files) {
      const { default: lesson } = (await import(pathToFileURL(join(dir, name)).href)) as {
        default: Lesson;
      };
      assert.doesNotMatch(`${lesson.title} ${lesson.shows}`, /\bseeds?\b/i, name);
    }
  });

  test('every lesson belongs to a group, so one of the lessons-*.test.ts files runs it', () => {
    for (const name of files) {
      const n = Number(name.slice(0, name.indexOf('-')));
      assert.ok(
        Object.values(GROUPS).some(([first, last]) => n >= first && n <= last),
        name,
      );
    }
  });
});

describe('lesson 02 on a machine that stalls', () => {
  test('a stall of over half a unit before its timeout wait leaves job 2 pending at the timeout', async () => {
    // Regression: the timeout was half a unit from when the wait began, so a stall of over half
    // a unit between job 1's finish and that wait (a loaded machine's) let job 2 finish first,
    // and the lesson showed "done = job-2". Its times now count from one start.
    const { default: lesson } = (await import(
      pathToFileURL(join(dir, '02-asyncio-wait.ts')).href
    )) as { default: Lesson };
    const lines: string[] = [];
    await lesson.main({
      quick: false,
      log: (...parts) => {
        const line = format(...parts);
        lines.push(line);
        // 0.55 of its 1 s unit, the thread blocked as a stalled machine's is.
        if (line.startsWith('FIRST_COMPLETED')) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 550);
        }
      },
    });
    const out = lines.join('\n');
    assert.match(out, /FIRST_COMPLETED: done = job-1; pending = job-2, job-3/);
    assert.match(out, /timeout [^:]*: done = none; pending = job-2, job-3/);
  });
});

lessonTests('asyncio and gevent');
