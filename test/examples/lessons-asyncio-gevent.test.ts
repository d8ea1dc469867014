// The lessons of one group (see lessons.ts for why the groups have files of their own).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectations, files, GROUPS, lessonTests } from './lessons.js';

describe('lessons', () => {
  test('the lessons 01-07 and 10-12 exist', () => {
    for (const id of Object.keys(expectations)) assert.ok(files.includes(`${id}.ts`), id);
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
