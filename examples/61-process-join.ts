/**
 * Lesson 61: join. Three processes sleep 1, 2 and 3 seconds at the same time; joining all three
 * takes about 3 seconds, not 6 — they run in parallel.
 *
 * Starting a process takes a while (a new Node, its modules loaded), longer than the quick
 * mode's sleeps: the children and the parent meet at a Barrier, and the clock starts when all
 * three are up, so that it measures the sleeps and not the start-up.
 */
import { Barrier, Process, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const nap = task(import.meta, async (ms: number, up: Barrier) => {
  await up.wait(); // every sleeper is running: they all start sleeping now
  await new Promise((r) => setTimeout(r, ms));
});

const lesson = defineLesson({
  title: 'join(): three processes sleeping 1, 2 and 3 s take about 3 s together',
  shows:
    'Processes run at the same time; join() waits for each to end. The clock starts once all ' +
    'three are up (process start-up is not counted).',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const unit = quick ? 200 : 1000;
    const up = new Barrier(4);
    const ps = [1, 2, 3].map(
      (k) => new Process({ target: nap, args: [k * unit, up], name: `sleeper-${k}` }),
    );
    const started = performance.now();
    for (const p of ps) p.start();
    await up.wait();
    const t0 = performance.now();
    log(`All three started (in ${((t0 - started) / 1000).toFixed(2)} s); now they sleep.`);
    const since = () => (performance.now() - t0) / 1000;
    for (const [i, p] of ps.entries()) {
      await p.join();
      log(
        `  joined ${p.name} after ${since().toFixed(2)} s (it slept ${((i + 1) * unit) / 1000} s)`,
      );
    }
    const total = since();
    const sum = (6 * unit) / 1000;
    const longest = (3 * unit) / 1000;
    if (total < sum) {
      log(`All three took ${total.toFixed(2)} s, less than the sum of the sleeps (${sum} s):`);
      log(
        `they slept at the same time, so the whole lasts about the longest sleep (${longest} s).`,
      );
    } else {
      log(`All three took ${total.toFixed(2)} s, not less than the sum of the sleeps (${sum} s):`);
      log('this machine was too busy to show the overlap.');
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
