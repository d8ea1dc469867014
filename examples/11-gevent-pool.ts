/**
 * Lesson 11: a gevent Pool — many jobs, never more than `size` of them at once.
 */
import { Pool, sleep } from 'weft/gevent';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'A Pool of 2 greenlets runs 6 downloads, two at a time',
  shows:
    'Pool(size).map runs one greenlet per item but never more than size at once: a new one ' +
    'starts only when one finishes. Six 1-second downloads with a pool of 2 take about 3 s, and ' +
    'the results come back in the order of the items.',
  module: 'gevent',
  async main({ quick, log }) {
    const second = quick ? 50 : 1000;
    const pool = new Pool(2);
    let running = 0;
    let most = 0;
    const started = performance.now();
    const at = () => ((performance.now() - started) / second).toFixed(1);
    const pages = ['a', 'b', 'c', 'd', 'e', 'f'];
    log(`Downloading ${pages.length} pages with a Pool of ${pool.size}; each takes 1 s.`);
    // The times below are in the lesson's seconds: say so when a second is not one.
    if (quick) log(`(Quick mode: a second of this lesson lasts ${second} ms.)`);
    const sizes = await pool.map(async (page: string) => {
      running++;
      most = Math.max(most, running);
      log(`  t=${at()} s  start ${page}   (${running} running)`);
      await sleep(second);
      running--;
      return `${page}:${page.charCodeAt(0) * 10} bytes`;
    }, pages);
    log(`Results, in the order of the pages: ${sizes.join(', ')}`);
    log(`At most ${most} downloads ran at once; all took ${at()} s (1 s each, 2 at a time: ~3 s).`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
