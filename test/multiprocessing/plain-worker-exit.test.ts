/**
 * A worker thread started with a plain `new Worker` (not a weft Thread) that takes and gives back
 * a multiprocessing Lock, then ends: its thread exits on its own, as a weft Thread's does. In
 * the first cases the worker's Lock is its process's first use of multiprocessing: the worker
 * claims the broker in a world of its own and asks the main thread to start it
 * (src/internal/worker/spawn.ts), which the main thread listened for only after a weft spawn of
 * its own, so the worker's calls waited for a broker nobody started, and its thread stayed alive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../src/internal/serialize.js';
import { Lock, Process, Queue } from '../../src/multiprocessing/index.js';
import { runPlainWorker } from '../support/plain-worker.js';
import { runRoot } from '../support/root.js';
import { plainWorkerWithoutBroker } from './fixtures/plain-worker-child.js';

/** Generous: it only turns a thread that never exits into a failure. */
const PATIENCE = 30_000;

/** Runs the fixture in a plain worker; what it said, and its exit code or 'still running'. */
async function runWorker(lock: Lock | null, how: 'async' | 'sync'): Promise<[unknown[], unknown]> {
  const { said, code } = await runPlainWorker(
    new URL('./fixtures/plain-worker-lock.ts', import.meta.url).href,
    { lock: lock === null ? null : encode(lock, 'message'), how },
    PATIENCE,
  );
  return [said, code];
}

for (const how of ['async', 'sync'] as const)
  test(`a plain worker whose Lock is its process's first use of multiprocessing takes it (${how}) and exits`, () => {
    // A root of its own: the first use must be the worker's.
    const r = runRoot("await import('./test/multiprocessing/fixtures/plain-worker-main.ts');", {
      env: { PLAIN_WORKER_HOW: how },
      timeout: 4 * PATIENCE,
    });
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.deepEqual(JSON.parse(line ?? 'null'), { said: ['released'], code: 0, mine: true });
  });

for (const how of ['async', 'sync'] as const)
  test(`a plain worker given a Lock takes it (${how}) and exits`, async () => {
    assert.deepEqual(await runWorker(new Lock(), how), [['released'], 0]);
  });

test("a plain worker of a child process, started without the child's WEFT_BROKER, gets no broker of its own", async () => {
  // The child uses its root's broker: a second one, started for the worker, would hand the
  // worker locks and queues that no other process sees.
  const out = new Queue<unknown>();
  const p = new Process({ target: plainWorkerWithoutBroker, args: [out] });
  p.start();
  const report = (await out.get({ timeout: 60_000 })) as { got: unknown; sockets: string[] };
  await p.join({ timeout: 60_000 });
  assert.deepEqual(report, { got: 'no answer', sockets: [] });
  assert.equal(p.exitcode, 0);
});
