/**
 * A task module that loads and then fails for its own reason: the task's error says that reason,
 * not that the thread lacks a TypeScript loader (the main thread never has one to register, and a
 * worker on Node 22.18+/24 with no loader found loads plain .ts by stripping its types).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTaskRef, TaskReferenceError } from '../../src/internal/task-ref.js';

test("a .ts task module's own error is the reason its task cannot be loaded", async () => {
  const url = new URL('./fixtures/throwing-task-module.ts', import.meta.url).href;
  await assert.rejects(
    resolveTaskRef({ kind: 'module', url, index: 0, name: 'never' }),
    (e: unknown) => {
      assert.ok(e instanceof TaskReferenceError, String(e));
      assert.match(e.message, /: Error: the task module threw its own error$/);
      assert.doesNotMatch(e.message, /no TypeScript loader/);
      return true;
    },
  );
});
