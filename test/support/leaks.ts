/**
 * Fails a test that leaves a timer, task, worker, child process or socket behind.
 *
 * Call `checkLeaks()` once at the top of a test file. Before each test it takes a census of
 * Node's active resources (`process.getActiveResourcesInfo()`) and of weft's live handles
 * (tasks, threads, children: everything registered in the live-handle registry); after the test
 * has settled (a few turns of the event loop, so that closing handles may finish closing) it
 * fails the test if any kind has more than before, naming what was left.
 */
import { afterEach, beforeEach } from 'node:test';
import { liveHandles } from '../../src/internal/live-handles.js';

/** Resource kinds that Node's own machinery may open and close on its schedule. */
const IGNORED = new Set(['TTYWrap', 'FSReqCallback', 'FSReqPromise', 'StatWatcher', 'Immediate']);

function census(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (IGNORED.has(kind)) continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  for (const [kind, n] of liveHandles()) counts.set(`weft:${kind}`, n);
  return counts;
}

async function settle(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

function excess(before: Map<string, number>, after: Map<string, number>): string[] {
  const left: string[] = [];
  for (const [kind, n] of after) {
    const extra = n - (before.get(kind) ?? 0);
    if (extra > 0) left.push(`${extra} × ${kind}`);
  }
  return left;
}

export interface LeakCheckOptions {
  /** Extra event-loop turns to wait for handles that close asynchronously (default 5). */
  settleTurns?: number;
  /** How long to keep re-checking before failing (ms, default 1000): closing is asynchronous. */
  graceMs?: number;
}

export function checkLeaks(options: LeakCheckOptions = {}): void {
  const turns = options.settleTurns ?? 5;
  const grace = options.graceMs ?? 1000;
  let before = new Map<string, number>();
  beforeEach(async () => {
    await settle(turns);
    before = census();
  });
  afterEach(async () => {
    const deadline = Date.now() + grace;
    let left: string[];
    for (;;) {
      await settle(turns);
      left = excess(before, census());
      if (left.length === 0) return;
      if (Date.now() >= deadline) break;
      await new Promise<void>((r) => setTimeout(r, 10));
    }
    throw new Error(`test left resources behind: ${left.join(', ')}`);
  });
}
