/**
 * A start is refused only when it comes from the top-level code of the task module being loaded,
 * not when other code of the same thread makes it while that module loads (the thread's own
 * target going on while a Barrier's action module or a pool task's module is imported).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeError } from '../../src/internal/errors.js';
import { resolveTaskRef } from '../../src/internal/task-ref.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test('a start made while a task module loads is refused in its top-level code only', async () => {
  let reached!: () => void;
  const atGate = new Promise<void>((r) => {
    reached = r;
  });
  let open!: () => void;
  const gate: { reached: () => void; open: Promise<void>; outcome?: unknown } = {
    reached,
    open: new Promise<void>((r) => {
      open = r;
    }),
  };
  (globalThis as { weftTestGate?: unknown }).weftTestGate = gate;
  try {
    const url = new URL('./fixtures/gated-task-module.ts', import.meta.url).href;
    const loading = resolveTaskRef({ kind: 'module', url, index: 0, name: 'gated' });
    await atGate;
    // The module is mid-evaluation, waiting at its gate: this start is not its code.
    const t = new Thread({ target: () => 'unrelated' });
    t.start();
    await t.join();
    assert.equal(t.isAlive(), false);
    open();
    const fn = await loading;
    assert.equal(fn(), 'gated');
    const outcome = gate.outcome;
    if (outcome instanceof Thread) await outcome.join();
    assert.ok(
      outcome instanceof RuntimeError,
      `the module's own start refused, got ${String(outcome)}`,
    );
    assert.equal(outcome.code, 'ERR_WEFT_START_IN_TASK_MODULE');
    assert.match(
      outcome.message,
      /^Thread\.start\(\) came from the top-level code of .*gated-task-module\.ts/,
    );
    // Loaded: a start now is nobody's top-level code.
    const after = new Thread({ target: () => undefined });
    after.start();
    await after.join();
  } finally {
    delete (globalThis as { weftTestGate?: unknown }).weftTestGate;
  }
});
