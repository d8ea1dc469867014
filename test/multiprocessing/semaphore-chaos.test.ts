/**
 * A chaos test: several processes and threads take and give back a Semaphore and a
 * BoundedSemaphore with random untimed, timed, try, aborted and blocking acquires; permits are
 * conserved (the value ends where it began, never more holders than permits) and no waiter hangs.
 * Then producers and consumers of a Semaphore(0) with untimed acquires: a lost wake-up hangs one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BoundedSemaphore,
  Event,
  Process,
  Queue,
  RawArray,
  type RawSharedArray,
  Semaphore,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { consume, produce, semChaos } from './fixtures/semaphore-chaos-targets.js';

const PATIENCE = 90_000;
// A failing run names its seed (the suite's title): WEFT_CHAOS_SEED replays it, WEFT_CHAOS_N
// sets the rounds per loop.
const SEED = Number(process.env.WEFT_CHAOS_SEED ?? Date.now() % 100000);
const N = Number(process.env.WEFT_CHAOS_N ?? 120);

/**
 * Waits for the `n` reports of the runs on `out`, or throws an error saying what hung (the reports so far, the
 * semaphore's value and word). All of it within PATIENCE, then a short while to end the runs, so
 * that a hang is told before the runner's file timeout (300 s) cancels the file without a word.
 */
async function reportsOf(
  out: Queue<string>,
  n: number,
  sem: Semaphore,
  runs: Array<Process | Thread>,
  cells?: RawSharedArray<'i'>,
): Promise<void> {
  const reports: string[] = [];
  const deadline = Date.now() + PATIENCE;
  try {
    for (let i = 0; i < n; i++) {
      reports.push(await out.get({ timeout: Math.max(1, deadline - Date.now()) }));
    }
  } catch (e) {
    const held = cells === undefined ? '' : `, inside ${await cells.get(0)}`;
    const alive = runs.filter((r) => r.isAlive()).map((r) => r.name);
    const hung = new Error(
      `hung: ${reports.length} of ${n} reported (${reports.join('; ')}); value ${sem.getValue()}, word ${slabWord(sem)}${held}; still running: ${alive.join(', ')}`,
      { cause: e },
    );
    // Permits enough for every waiter to go on, so that the runs end and the file with them
    // (a Thread cannot be killed); a process that still does not end is killed.
    for (let i = 0; i < 8; i++) {
      try {
        sem.release();
      } catch {}
    }
    for (const r of runs) {
      await r.join({ timeout: 10_000 });
      if (r.isAlive() && r instanceof Process) r.kill();
    }
    throw hung;
  }
  for (const r of runs) await r.join({ timeout: PATIENCE });
}

describe(`semaphore chaos (seed ${SEED})`, () => {
  for (const S of [Semaphore, BoundedSemaphore]) {
    for (const k of [1, 2]) {
      test(`${S.name}(${k}): processes, threads and tasks with random acquires keep the permits`, async () => {
        const sem = new S(k);
        const cells = RawArray('i', 2);
        const go = new Event();
        const out = new Queue<string>();
        const ps = [0, 1, 2].map(
          (j) =>
            new Process({
              target: semChaos,
              args: [sem, k, cells, SEED + j, N, 2, false, go, out],
            }),
        );
        const ts = [3, 4].map(
          (j) =>
            new Thread({
              target: semChaos,
              args: [sem, k, cells, SEED + j, N, 0, true, go, out],
            }),
        );
        for (const p of ps) p.start();
        for (const t of ts) t.start();
        go.set();
        await reportsOf(out, ps.length + ts.length, sem, [...ps, ...ts], cells);
        assert.deepEqual(
          ps.map((p) => p.exitcode),
          [0, 0, 0],
        );
        assert.deepEqual(await cells.toArray(), [0, 0], 'none inside, never more than k at once');
        assert.equal(sem.getValue(), k, 'permits conserved');
        if (slabExpected) assert.equal(slabWord(sem), k, 'no WAITERS left');
      });
    }
  }

  test('producers and consumers of a Semaphore(0): every untimed consumer gets its permits', async () => {
    const sem = new Semaphore(0);
    const go = new Event();
    const out = new Queue<string>();
    const produced = 2 * N * 2;
    const ps = [
      new Process({ target: produce, args: [sem, 2 * N, SEED + 10, go, out] }),
      new Process({ target: produce, args: [sem, 2 * N, SEED + 11, go, out] }),
      new Process({ target: consume, args: [sem, N, SEED + 12, go, out] }),
      new Process({ target: consume, args: [sem, N, SEED + 13, go, out] }),
    ];
    const t = new Thread({ target: consume, args: [sem, N, SEED + 14, go, out] });
    const th = new Thread({ target: consume, args: [sem, produced - 3 * N, SEED + 15, go, out] });
    for (const p of ps) p.start();
    t.start();
    th.start();
    go.set();
    await reportsOf(out, 6, sem, [...ps, t, th]);
    assert.equal(sem.getValue(), 0);
    if (slabExpected) assert.equal(slabWord(sem), 0, 'no WAITERS left');
  });
  test('Semaphore(3): a child killed mid-run loses at most the permits it held; nobody hangs', async () => {
    const k = 3;
    const sem = new Semaphore(k);
    const cells = RawArray('i', 2);
    const go = new Event();
    const out = new Queue<string>();
    const victim = new Process({
      target: semChaos,
      // Two tasks: the victim holds at most 2 of the 3 permits when it dies, so the others,
      // whose acquires are partly untimed, always have one left (dying with all 3, it would
      // leave them waiting for ever — rightly, as Python's would: nobody gives those back).
      args: [sem, k, cells, SEED + 40, 100_000, 2, false, go, out],
    });
    const ps = [0, 1].map(
      (j) =>
        new Process({
          target: semChaos,
          args: [sem, k, cells, SEED + 41 + j, N, 2, false, go, out],
        }),
    );
    const t = new Thread({
      target: semChaos,
      args: [sem, k, cells, SEED + 43, N, 0, true, go, out],
    });
    victim.start();
    for (const p of ps) p.start();
    t.start();
    go.set();
    await new Promise((r) => setTimeout(r, 1500 + (SEED % 1000)));
    victim.kill();
    await victim.join({ timeout: PATIENCE });
    await reportsOf(out, 3, sem, [...ps, t]);
    assert.equal(victim.exitcode, -9);
    assert.equal(await cells.get(1), 0, 'more holders than permits at once');
    // The victim's holds counted when it died. A task of it may also have died between its
    // acquire and its count, or between its count's end and its release: such a permit is lost
    // too, uncounted. So between `lost` and two permits (one a task) are gone, never more.
    const lost = await cells.get(0);
    assert.ok(lost >= 0 && lost <= 2, `the victim died holding ${lost} (it has two tasks)`);
    const value = sem.getValue();
    assert.ok(
      value >= k - 2 && value <= k - lost,
      `permits: ${value}, expected ${k} less between the ${lost} the victim was seen holding and 2`,
    );
    if (slabExpected) assert.equal(slabWord(sem), value, 'no WAITERS left');
  });
});
