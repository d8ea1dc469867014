import assert from 'node:assert/strict';
import { test } from 'node:test';
import { store } from '../../src/internal/atomics.js';
import {
  registerThread,
  slotOf,
  T_STATE,
  THREAD_CAP,
  THREAD_FINISHED,
  threadName,
  threadState,
  worldWords,
} from '../../src/internal/shm/world.js';
import { gc } from '../support/gc.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

test('thread slots: tids with the same home slot do not collide, and finished slots are reused', () => {
  const a = 500_000;
  const b = a + THREAD_CAP; // same home slot as a
  registerThread(a, 'long-lived', false);
  registerThread(b, 'newcomer', false);
  try {
    assert.notEqual(slotOf(a), slotOf(b));
    assert.equal(threadName(a), 'long-lived');
    assert.equal(threadName(b), 'newcomer');
    store(worldWords(), slotOf(b) + T_STATE, THREAD_FINISHED);
    const bSlot = slotOf(b);
    const c = b + THREAD_CAP;
    registerThread(c, 'reuser', false);
    assert.equal(slotOf(c), bSlot);
    // The finished thread is gone from the table; asking for it reads as finished.
    assert.equal(threadState(b), THREAD_FINISHED);
    store(worldWords(), slotOf(c) + T_STATE, THREAD_FINISHED);
  } finally {
    store(worldWords(), slotOf(a) + T_STATE, THREAD_FINISHED);
  }
});

test('a garbage-collected lock that never left its thread gives its cell back; a shared one does not', async () => {
  const { Lock } = await import('../../src/threading/index.js');
  const { kShared } = await import('../../src/internal/serialize.js');
  const collect = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  };
  let local: InstanceType<typeof Lock> | null = new Lock();
  const localName = local.name;
  local = null;
  await collect();
  const names = new Set(Array.from({ length: 4 }, () => new Lock().name));
  assert.ok(names.has(localName), `${localName} was not reused: ${[...names].join(', ')}`);

  let shared: InstanceType<typeof Lock> | null = new Lock();
  const sharedName = shared.name;
  // What sending it to another thread does: its state is taken.
  (shared as unknown as Record<symbol, () => unknown>)[kShared]?.();
  shared = null;
  await collect();
  const later = new Set(Array.from({ length: 4 }, () => new Lock().name));
  assert.ok(!later.has(sharedName), `${sharedName} was reused after it was shared`);
});
