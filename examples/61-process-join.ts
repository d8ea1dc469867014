/**
 * Lesson 61: join. Three processes sleep 1, 2 and 3 seconds at the same time; joining all three
 * takes about 3 seconds, not 6 — they run in parallel.
 */
import { Process, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const nap = task(import.meta, (ms: number) => new Promise((r) => setTimeout(r, ms)));

const lesson = defineLesson({
  title: 'join(): three processes sleeping 1, 2 and 3 s take about 3 s together',
  shows: 'Processes run at the same time; join() waits for each to end.',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const unit = quick ? 100 : 1000;
    const ps = [1, 2, 3].map(
      (k) => new Process({ target: nap, args: [k * unit], name: `sleeper-${k}` }),
    );
    const t0 = performance.now();
    for (const p of ps) p.start();
    for (const p of ps) {
      await p.join();
      log(`  joined ${p.name} after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    }
    log(
      `All three took ${((performance.now() - t0) / 1000).toFixed(2)} s (sum of sleeps: ${(6 * unit) / 1000} s; the rest is process start-up)`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
