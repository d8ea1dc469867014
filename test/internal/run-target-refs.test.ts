/**
 * RunTarget.send's `modules` (what decides whether a worker or child gets the TypeScript loader):
 * a Timer's function's module counts, as a target's does; a subclass's field of the user's that
 * only has a task reference's shape is data, not a module to load.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunTarget } from '../../src/internal/run-target.js';
import { task } from '../../src/internal/task-ref.js';
import { Thread, Timer } from '../../src/threading/index.js';
import { postWeftShapes } from '../threading/fixtures/foreign-posts.js';

class Reporter extends Thread {
  readonly meta = { kind: 'module', url: 'file:///data/quarterly-report.ts', index: 0, name: 'q3' };
  override run(): string {
    return this.meta.name;
  }
}
task(import.meta, Reporter);

test("a subclass's field shaped as a task reference is not a module to load", () => {
  const { modules } = new RunTarget({}).send('Thread', new Reporter(), true);
  assert.deepEqual(modules, [import.meta.url]);
});

test("a Timer's function's module is among those to load", () => {
  const t = new Timer(0, postWeftShapes);
  const { modules } = new RunTarget({}).send('Thread', t, true);
  assert.ok(
    modules.includes(import.meta.resolve('../threading/fixtures/foreign-posts.js')),
    String(modules),
  );
});
