// The lessons of one group (see lessons.ts for why the groups have files of their own).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
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

lessonTests('asyncio and gevent');
